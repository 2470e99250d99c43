"""Server configuration: precedence, errors that name the key, and the shipped example."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from server.ranking.policy import RankingPolicy
from server.runtime.config import ServerConfig, config_from_env, load_server_config

ROOT = Path(__file__).resolve().parents[3]


def test_example_config_matches_the_defaults() -> None:
    from_file = load_server_config(ROOT / "tailor.example.toml", environ={})
    defaults = ServerConfig(artifacts=Path("var/demo/artifacts"))
    assert from_file == defaults
    documented = (ROOT / "tailor.example.toml").read_text()
    for f in dataclasses.fields(ServerConfig):
        if f.name not in ("limits", "ranking", "experiment"):
            assert f"{f.name} =" in documented, f"tailor.example.toml does not document {f.name}"
    for f in dataclasses.fields(RankingPolicy):
        assert f"\n{f.name} =" in documented, f"tailor.example.toml does not document ranking.{f.name}"


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text('[server]\nartifacts = "/a"\nport = 1000\nthreads = 3\nworkers = 2\n')
    config = load_server_config(file, environ={"TAILOR_PORT": "2000", "TAILOR_THREADS": "5"},
                                flags={"port": 3000, "threads": None})
    assert (config.artifacts, config.port, config.threads, config.workers) == (Path("/a"), 3000, 5, 2)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ('[server]\nartifacts = "/a"\nprot = 1\n', {}, "unknown key server.prot"),
        ('[server]\nartifacts = "/a"\nport = "many"\n', {}, "server.port"),
        ('[server]\nartifacts = "/a"\n', {"TAILOR_THREADS": "lots"}, "TAILOR_THREADS"),
        ('[server]\nartifacts = "/a"\nthreads = 0\n', {}, "ServerConfig.threads"),
        ("[server]\n", {}, "artifacts: required"),
        ("[server\n", {}, "cannot read config"),
        ('[server]\nartifacts = "/a"\n[ranking]\nsearch_weigth = 1\n', {},
         "unknown key ranking.search_weigth (did you mean search_weight?)"),
        ('[server]\nartifacts = "/a"\n', {"TAILOR_RANKING_SEARCH_WEIGTH": "1"},
         "TAILOR_RANKING_SEARCH_WEIGTH: unknown environment variable (did you mean TAILOR_RANKING_SEARCH_WEIGHT?)"),
        ('[server]\nartifacts = "/a"\n', {"TAILOR_RANKING_": "1"}, "TAILOR_RANKING_: unknown environment variable"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, environ: dict[str, str], message: str) -> None:
    file = tmp_path / "t.toml"
    file.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_server_config(file, environ=environ)


@pytest.mark.parametrize(("word", "value"), [("true", True), ("Yes", True), ("1", True), ("false", False),
                                             ("no", False), ("0", False), ("FALSE", False), ("YES", True)])
def test_booleans_take_the_words_the_build_config_takes(word: str, value: bool) -> None:
    config = load_server_config(None, environ={"TAILOR_ARTIFACTS": "/a", "TAILOR_LIVE": word})
    assert config.live is value


def test_other_tools_variables_and_the_builders_are_not_the_servers() -> None:
    environ = {"TAILOR_ARTIFACTS": "/a", "TAILOR_TARGET": "h:1", "TAILOR_BUILD_DIM": "8",
               "TAILOR_RANKING_SEARCH_WEIGHT": "0.25"}
    config = load_server_config(None, environ=environ)
    assert config.ranking.search_weight == 0.25


def test_config_from_env_refuses_a_misspelled_ranking_variable() -> None:
    with pytest.raises(ValueError, match="did you mean TAILOR_RANKING_EXPLORE_SHARE"):
        config_from_env(ServerConfig(artifacts=Path("/a")), {"TAILOR_RANKING_EXPLORE_SHAR": "0"})


def test_a_word_that_is_no_boolean_names_the_variable() -> None:
    with pytest.raises(ValueError, match="TAILOR_LIVE"):
        load_server_config(None, environ={"TAILOR_ARTIFACTS": "/a", "TAILOR_LIVE": "maybe"})

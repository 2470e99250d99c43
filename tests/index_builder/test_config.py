"""Build configuration: the shipped example, precedence defaults < [build] table < TAILOR_BUILD_* < flags, errors
naming the key or variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index_builder import BuildConfig
from index_builder import build_command as cli
from index_builder.config import FILE_KEYS, load_build_config, parse_event_weights
from server.runtime.config import load_server_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tailor.example.toml"


def test_example_config_matches_the_defaults() -> None:
    assert load_build_config(EXAMPLE, environ={}) == BuildConfig(data_dir=Path("var/demo/data"),
                                                     out_root=Path("var/demo/artifacts"))
    build_table = EXAMPLE.read_text().split("[build]", 1)[1]
    for key in FILE_KEYS:
        assert re.search(rf"^(# )?{key} =", build_table, re.MULTILINE), f"[build] does not document {key}"
    load_server_config(EXAMPLE, environ={})  # the server reads the same file and ignores [build]


def test_precedence_defaults_then_file_then_environment_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text('[server]\nartifacts = "/a"\n[build]\ndata_dir = "/d"\nout_root = "/o"\ndim = 16\n'
                    'iterations = 3\nevent_weights = { view = 2, cart = 3, purchase = 5 }\n'
                    'reference_time = 2026-05-02T00:00:00Z\ntimezone = "Europe/Rome"\n')
    environ = {"TAILOR_BUILD_DIM": "24", "TAILOR_BUILD_ITERATIONS": "4", "TAILOR_BUILD_OUT_ROOT": "/env",
               "TAILOR_RANKING_SEARCH_WEIGHT": "1", "TAILOR_PORT": "1"}  # the server's variables are not the builder's
    config = load_build_config(file, {"iterations": "5", "out_root": "/flag", "seed": None,
                                      "default_consent": "true"}, environ=environ)
    assert (config.data_dir, config.out_root, config.dim, config.iterations, config.seed) == (
        Path("/d"), Path("/flag"), 24, 5, 7)
    assert config.event_weights == {"view": 2.0, "cart": 3.0, "purchase": 5.0}
    assert config.reference_time == datetime(2026, 5, 2, tzinfo=UTC)
    assert (config.timezone, config.default_consent) == ("Europe/Rome", True)


@pytest.mark.parametrize(("text", "flags", "message"), [
    ("[build]\ndimm = 3\n", {}, "unknown key build.dimm"),
    ('[build]\ndim = "many"\n', {}, "build.dim"),
    ("[build]\ndim = 1.5\n", {}, "build.dim: not an integer"),
    ("[build]\ndim = 1\n", {}, "BuildConfig.dim"),
    ('[build]\ntimezone = "Mars/Olympus"\n', {}, "BuildConfig.timezone"),
    ("[build]\nreference_time = 2026-05-02T00:00:00\n", {}, "build.reference_time: .* has no zone"),
    ('[build]\nvalue_scale = "square"\n', {}, "BuildConfig.value_scale"),
    ("[build]\ncomplement_min_support = 0\n", {}, "BuildConfig.complement_min_support"),
    ("[build]\ncomplement_neighbors = -1\n", {}, "BuildConfig.complement_neighbors"),
    ("[build]\n", {"event_weights": "view=1,cart"}, "--event-weights: expected TYPE=WEIGHT"),
    ("[build]\n", {"event_weights": "view=1"}, "BuildConfig.event_weights"),
    ("[build]\n", {"default_consent": "maybe"}, "--default-consent: not a boolean"),
    ("[build]\n", {"out_root": None}, "out_root: required"),
    ("[build\n", {}, "cannot read config"),
])
def test_bad_build_config_names_the_key(tmp_path: Path, text: str, flags: dict[str, object], message: str) -> None:
    file = tmp_path / "t.toml"
    file.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_build_config(file, {"data_dir": "/d", "out_root": "/o", **flags}, environ={})


@pytest.mark.parametrize(("environ", "message"), [
    ({"TAILOR_BUILD_DIMM": "3"}, "TAILOR_BUILD_DIMM: unknown environment variable (did you mean TAILOR_BUILD_DIM?)"),
    ({"TAILOR_BUILD_ITERATION": "3"}, "did you mean TAILOR_BUILD_ITERATIONS"),
    ({"TAILOR_BUILD_DIM": "1.5"}, "TAILOR_BUILD_DIM: not an integer"),
    ({"TAILOR_BUILD_FOLD_LIVE": "maybe"}, "TAILOR_BUILD_FOLD_LIVE: not a boolean"),
    ({"TAILOR_BUILD_SHOW_PROGRESS": "no"}, "TAILOR_BUILD_SHOW_PROGRESS: unknown environment variable"),
])
def test_bad_build_environment_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_build_config(None, {"data_dir": "/d", "out_root": "/o"}, environ=environ)


@pytest.mark.parametrize(("word", "value"), [("true", True), ("TRUE", True), ("Yes", True), ("1", True),
                                             ("false", False), ("No", False), ("0", False), (" yes ", True)])
def test_build_booleans_take_the_one_vocabulary(word: str, value: bool) -> None:
    config = load_build_config(None, {"data_dir": "/d", "out_root": "/o"},
                               environ={"TAILOR_BUILD_DEFAULT_CONSENT": word})
    assert config.default_consent is value


def test_a_misspelled_file_key_names_the_nearest(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text("[build]\npopular_lsit = 10\n")
    with pytest.raises(ValueError, match=re.escape("unknown key build.popular_lsit (did you mean popular_list?)")):
        load_build_config(file, {"data_dir": "/d", "out_root": "/o"}, environ={})


def test_event_weights_flag() -> None:
    assert parse_event_weights("view=1, cart=4,purchase=10") == {"view": 1.0, "cart": 4.0, "purchase": 10.0}


def test_cli_build_reads_the_file_and_prints_every_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.csv").write_text("item_id,category\ni1,shoes\ni2,hats\ni3,shoes\n")
    (data / "users.csv").write_text("user_id,consent\nu1,true\n")
    (data / "events.csv").write_text("ts,user_id,item_id,type\n1777680000,u1,i1,view\n1777680060,u2,i2,cart\n"
                                     "1777680120,u1,i9,view\n1777680180,,i3,view\n")
    file = tmp_path / "t.toml"
    file.write_text(f'[build]\ndata_dir = "{data}"\ndim = 40\niterations = 2\n')
    code = cli.main(["build", "--config", str(file), "--out", str(tmp_path / "out"), "--dim", "4", "--quiet",
                     "--default-consent", "true", "--event-weights", "view=1,cart=2,purchase=3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("events:  3 kept, 1 dropped (item not in items), 0 without consent (not trained); "
            "3 sessions derived") in out
    assert "users:   2 (1 only in events, consent true, 1 events)" in out
    assert cli.main(["build", "--out", str(tmp_path / "out")]) == 2
    assert "data_dir: required (--data, TAILOR_BUILD_DATA_DIR or build.data_dir" in capsys.readouterr().err

"""One vocabulary of flags: every `tailor` subcommand's parser, as the real entry point builds it, is walked.

Checked on every leaf command (`rules check`, `rules preview`, `experiments report`, ...): every option has
help text, no usage line shows an internal dest name as a metavar, one concept has one flag name (the
table of forbidden synonyms below), the shared flags are everywhere they belong, and the renamed flags
still work as hidden aliases.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from clients.flags import DeprecatedAlias
from clients.tailor import COMMANDS, command_parser

# flag -> the names that must never be used for the same concept
SYNONYMS: dict[str, tuple[str, ...]] = {
    "--artifacts": ("--root", "--artifact", "--artifact-root", "--artifacts-dir", "--out-root", "--store"),
    "--rules": ("--rules-file", "--rule-file", "--rulebook"),
    "--token-file": ("--write-token-file", "--token", "--write-token", "--auth-file"),
    "--json": ("--as-json", "--json-output", "--output-json", "--format"),
    "--json-out": ("--json-file", "--out-json", "--json-path"),
    "--target": ("--server", "--address", "--addr", "--endpoint", "--host-port"),
    "--timeout": ("--deadline", "--timeout-s", "--timeout-seconds"),
    "--request-id": ("--rid", "--request", "--req-id"),
    "--user": ("--user-id", "--uid", "--shopper"),
    "--session": ("--interactions", "--history"),
    "--anchor": ("--anchor-item", "--item"),
    "--n": ("--count", "--limit", "--top", "--top-n", "-n"),
    "--quiet": ("--silent", "--no-progress"),
    "--verbose": ("--debug", "--log-level"),
    "--data": ("--input", "--in", "--data-dir"),
}
RPC_COMMANDS = ("recommend", "rerank", "profile", "track", "forget", "rules preview")
REQUEST_FLAGS = {"--user", "--session", "--page", "--anchor", "--channel", "--query", "--time", "--category",
                 "--brand", "--min-price", "--max-price", "--in-stock", "--request-id", "--target", "--timeout"}
# `--out` names a directory of input files written (demo-data, import); the artifact root is --artifacts.
OUT_ALLOWED = {"demo-data", "import movielens", "import transactions"}


def _leaves(name: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield name, parser
    for action in subparsers:
        for sub_name, sub in action.choices.items():
            yield from _leaves(f"{name} {sub_name}", sub)


LEAVES = dict(leaf for command in COMMANDS for leaf in _leaves(command, command_parser(command)))


def _options(parser: argparse.ArgumentParser, hidden: bool = False) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)
            and (hidden or not isinstance(a, DeprecatedAlias))]


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for a in _options(parser) for flag in a.option_strings}


def test_every_command_is_walked() -> None:
    assert {"rules check", "rules preview", "experiments report", "import movielens", "import transactions",
            "build", "serve", "bench", "evaluate", "recommend"} <= set(LEAVES)


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_has_help(name: str) -> None:
    parser = LEAVES[name]
    for action in parser._actions:
        if isinstance(action, DeprecatedAlias) or (not action.option_strings and action.dest == "command"):
            continue  # a renamed flag's old name, and the command word itself: hidden on purpose
        what = action.option_strings or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"tailor {name}: {what}"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_no_metavar_leaks_an_internal_name(name: str) -> None:
    """A value-taking flag shows its own name (or a chosen metavar, or its choices), never another dest."""
    for action in _options(LEAVES[name]):
        if action.nargs == 0 or action.metavar is not None or action.choices is not None:
            continue
        long = max(action.option_strings, key=len)
        assert action.dest == long.lstrip("-").replace("-", "_"), \
            f"tailor {name} {long}: usage would show {action.dest.upper()}; set a metavar"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_one_flag_per_concept(name: str) -> None:
    flags = _flags(LEAVES[name])
    for canonical, synonyms in SYNONYMS.items():
        assert not flags & set(synonyms), f"tailor {name}: {sorted(flags & set(synonyms))} -> {canonical}"
    if name not in OUT_ALLOWED:
        assert "--out" not in flags, f"tailor {name}: the artifact root is --artifacts"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_json_prints_to_stdout_and_a_file_is_json_out(name: str) -> None:
    for action in _options(LEAVES[name]):
        if "--json" in action.option_strings:
            assert action.nargs == 0, f"tailor {name} --json takes no file: that is --json-out FILE"
        if "--json-out" in action.option_strings:
            assert action.metavar == "FILE"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_verbose_and_quiet_on_every_command(name: str) -> None:
    assert {"-v", "--verbose", "-q", "--quiet"} <= _flags(LEAVES[name]), f"tailor {name}"


@pytest.mark.parametrize("name", RPC_COMMANDS)
def test_every_rpc_command_has_target_timeout_and_request_id(name: str) -> None:
    assert {"--target", "--timeout", "--request-id"} <= _flags(LEAVES[name]), f"tailor {name}"


def test_recommend_rerank_and_rules_preview_take_the_same_request_flags() -> None:
    for name in ("recommend", "rerank", "rules preview"):
        lacking = REQUEST_FLAGS - _flags(LEAVES[name])
        assert not lacking, f"tailor {name}: lacks {sorted(lacking)}"


def test_artifacts_rules_and_token_file_are_one_flag_everywhere() -> None:
    for name, parser in LEAVES.items():
        for action in _options(parser):
            if action.dest in ("artifacts", "out_root"):
                assert "--artifacts" in action.option_strings, f"tailor {name}: {action.option_strings}"
            if "--token-file" in action.option_strings:
                assert action.metavar == "FILE"
    assert "--rules" in _flags(LEAVES["rules check"]) and "--token-file" in _flags(LEAVES["serve"])


def test_renamed_flags_still_work_as_hidden_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    build = LEAVES["build"].parse_args(["--data", "d", "--out", "var/x"])
    assert str(build.artifacts) == "var/x"
    serve = LEAVES["serve"].parse_args(["--write-token-file", "t"])
    assert str(serve.token_file) == "t"
    err = capsys.readouterr().err
    assert "--out is deprecated; use --artifacts" in err and "--write-token-file is deprecated" in err
    assert "--out" not in LEAVES["build"].format_help() and "--write-token-file" not in LEAVES["serve"].format_help()
    check = LEAVES["rules check"]
    assert str(check.parse_args(["rules.toml"]).file) == str(check.parse_args(["--rules", "rules.toml"]).rules)


def test_channel_and_page_choices_are_the_protos_values() -> None:
    from protos import decision_pb2 as pb

    for name in ("recommend", "rerank", "rules preview"):
        choices = {a.dest: a.choices for a in _options(LEAVES[name]) if a.dest in ("channel", "page")}
        assert list(choices["channel"] or ()) == [v.name.removeprefix("CHANNEL_").lower()
                                                  for v in pb.Channel.DESCRIPTOR.values if v.number]
        assert list(choices["page"] or ()) == [v.name.removeprefix("PAGE_").lower()
                                               for v in pb.Page.DESCRIPTOR.values if v.number]

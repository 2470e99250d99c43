"""`tailor bench` flags land in the BenchArgs fields of their names."""

from __future__ import annotations

from pathlib import Path

from loadtests.bench import parse_args


def test_flags_reach_their_own_fields() -> None:
    plain = parse_args([])
    assert (plain.json, plain.config, plain.rules, plain.generate_rules) == (False, None, None, 0)
    given = parse_args(["--json", "--config", "c.toml", "--rules", "r.toml", "--generate-rules", "5"])
    assert (given.json, given.config, given.rules, given.generate_rules) == (True, Path("c.toml"), Path("r.toml"), 5)

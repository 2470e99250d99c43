"""The forest cost benchmark runs, checks both scorers agree, and prints both side by side."""

from __future__ import annotations

import re

import pytest

from loadtests import forest_cost


def test_forest_cost_prints_both_scorers_for_each_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert forest_cost.main(["--trees", "5", "--leaves", "7", "--features", "6", "--candidates", "3", "40",
                             "--calls", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("forest: 5 trees")
    for size in ("3", "40"):
        block = out.split(f"{size} candidates:")[1]
        assert re.search(r"array form \(numpy\)\s+p50\s+\d+ us", block)
        assert re.search(r"lightgbm predict\s+p50\s+\d+ us", block)

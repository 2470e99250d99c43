"""`python -m loadtests.index_cost`: the builder's index choice, timed, and Recommend on it against exact search."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.index_cost import main


def test_it_weighs_the_candidates_and_times_recommend_against_exact_search(
        own_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--artifacts", str(own_root), "--calls", "20", "--rounds", "1", "--queries", "40"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.splitlines() if line.startswith(("Flat", "IVF"))]
    assert [row[0] for row in table][:1] == ["Flat"] and len(table) >= 2  # exact search, then IVF candidates
    assert table[0][1:4:2] == ["0", "1.0000"]  # exact: no probes, full recall
    assert sum(line.endswith("<- kept") for line in out.splitlines()) == 1
    assert "index Flat nprobe 0" in out  # this small catalog was built with exact search
    assert "Recommend: median exact search" in out and "median paired difference" in out
    assert "answers' items shared with exact search's: 1.000" in out  # both search exactly here


def test_a_root_without_a_version_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--artifacts", str(tmp_path)])
    assert exit_.value.code == 2 and "--artifacts:" in capsys.readouterr().err

"""`python -m loadtests.overlay_cost`: the live overlay's own cost, and what ranking on live interactions adds."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.overlay_cost import main


def test_it_times_the_overlay_against_the_same_session_and_against_none(own_root: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--artifacts", str(own_root), "--events", "2000", "--calls", "30", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "live store of 2000 events" in out
    assert "live interactions sent in the session:" in out and "live interactions none:" in out
    assert out.count("median paired difference") == 2

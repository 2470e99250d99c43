"""`python -m loadtests.policy_cost`: a ranking setting's cost per call, paired against a baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.policy_cost import main
from tests.conftest import Built


def test_it_times_both_rpcs_against_the_baseline(own_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--artifacts", str(own_root), "--baseline", "successor_weight=0", "--calls", "20",
                 "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "baseline successor_weight=0" in out
    assert out.count("median paired difference") == 2 and "Recommend:" in out and "Rerank:" in out


@pytest.mark.parametrize("setting, message", [("successor_weight", "expected KEY=VALUE"),
                                              ("no_such_knob=1", "'no_such_knob' is not a [ranking] key"),
                                              ("successor_weight=-1", "successor_weight")])
def test_a_bad_baseline_is_refused_by_name(built: Built, setting: str, message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--artifacts", str(built.root), "--baseline", setting])
    assert exit_.value.code == 2 and message in capsys.readouterr().err

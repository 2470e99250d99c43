"""An imported order-line export goes through import -> build -> evaluate (epoch-second times, no session_id)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from index_builder import BuildConfig, BuildError, build_artifacts
from index_builder.inputs.importers.import_command import main as import_main
from loadtests.quality.evaluate.evaluate_command import main as evaluate_main
from loadtests.quality.evaluate.splits import read_events, split_events


def _export(path: Path, lines: int = 300) -> Path:
    """Order lines of 30 customers over 40 items, epoch-second timestamps, no order id."""
    rng = np.random.default_rng(7)
    start = 1_520_876_403
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "sku", "qty", "ordered_at"])
        for n in range(lines):
            customer = n % 30
            day = n // 30  # each customer's lines are a day apart: one derived session each
            w.writerow([f"c{customer}", f"i{rng.integers(40)}", "1", str(start + day * 86_400 + customer * 60)])
    return path


def _import(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "data"
    rc = import_main(["import", "transactions", str(_export(tmp_path / "export.csv")),
                      "--map", "user=customer,item=sku,timestamp=ordered_at,quantity=qty", "--out", str(out), *extra])
    assert rc == 0
    return out


def test_time_split_reads_epoch_seconds_as_the_builder_does(tmp_path: Path) -> None:
    events = read_events(_import(tmp_path))
    split = split_events(events, "time")
    assert len(split.truth) == 30 and split.test_events > 0


def test_last_basket_derives_sessions_without_session_id(tmp_path: Path) -> None:
    events = read_events(_import(tmp_path))
    assert "session_id" not in events.column_names
    split = split_events(events, "last-basket")
    assert len(split.truth) == 30  # every customer has 10 day-apart sessions: the last one is test
    assert split.test_events == 30


def test_last_basket_keeps_given_session_ids(tmp_path: Path) -> None:
    events = pa.table({"ts": ["1520876403", "1520876404", "1520876405"], "user_id": ["u", "u", "u"],
                       "item_id": ["a", "b", "c"], "type": ["purchase"] * 3, "session_id": ["s1", "s2", "s2"]})
    assert split_events(events, "last-basket").truth == {"u": {"b", "c"}}


def test_import_writes_users_with_the_consent_asked_for(tmp_path: Path) -> None:
    out = _import(tmp_path, "--consent", "yes")
    rows = list(csv.DictReader((out / "users.csv").read_text().splitlines()))
    assert len(rows) == 30 and {r["consent"] for r in rows} == {"true"}
    manifest = build_artifacts(BuildConfig(data_dir=out, out_root=tmp_path / "art", dim=4, iterations=2,
                                           show_progress=False))
    assert manifest.counts.profiles == 30


def test_build_without_consent_says_how_to_give_it(tmp_path: Path) -> None:
    out = _import(tmp_path)
    with pytest.raises(BuildError, match="no usable interactions") as info:
        build_artifacts(BuildConfig(data_dir=out, out_root=tmp_path / "art", dim=4, iterations=2,
                                    show_progress=False))
    assert "--default-consent true" in str(info.value) and "consent column" in str(info.value)


@pytest.mark.parametrize("split", ["time", "last-basket"])
def test_evaluate_runs_on_an_import_with_default_consent(tmp_path: Path, split: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = _import(tmp_path)
    assert evaluate_main(["evaluate", "--data", str(out), "--split", split, "--quiet", "--default-consent",
                          "true"]) == 0, capsys.readouterr().err
    assert f"split={split}" in capsys.readouterr().out

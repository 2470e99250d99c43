"""Where the learned ranker cuts a shopper's log, and that nothing after the cut reaches a feature."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from index_builder import BuildConfig, build_artifacts
from index_builder.ranker import cut, lists
from index_builder.ranker.lists import grades
from protos.ranker.candidates import ItemModel, Pool, pool
from protos.ranker.features import History
from tests.index_builder.ranker.stores import START_S, write_store


def test_time_cut_takes_each_users_last_quarter() -> None:
    user = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    ts = np.array([4, 1, 3, 2, 10, 20, 30, 40, 50, 60, 70, 80])
    late = cut.label_rows("time", user, np.zeros(12, dtype=np.int64), ts, np.zeros(12, dtype=bool), 0)
    assert late.tolist() == [True, False, False, False] + [False] * 6 + [True, True]


def test_last_basket_cut_is_the_last_purchase_session_and_after() -> None:
    user = np.array([0, 0, 0, 0, 0, 1, 1])
    session = np.array([0, 0, 1, 1, 2, 3, 3])
    ts = np.array([1, 2, 3, 4, 5, 1, 2])
    bought = np.array([True, False, True, False, False, True, True])
    late = cut.label_rows("last-basket", user, session, ts, bought, 0)
    # User 0: session 1 is their last with a purchase, session 2 comes after; user 1 has one session only.
    assert late.tolist() == [False, False, True, True, True, False, False]
    assert cut.resolve("auto", bought) == "last-basket" and cut.resolve("auto", ~np.ones(3, bool)) == "time"


def test_grades_follow_the_event_weights() -> None:
    assert grades({"view": 1.0, "cart": 4.0, "purchase": 10.0}).tolist() == [1, 2, 3]
    assert grades({"view": 0.0, "cart": 4.0, "purchase": 4.0}).tolist() == [0, 1, 1]


def test_a_planted_future_event_never_reaches_the_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shopper's last basket holds one item nobody touched before (a planted future event). If any
    after-cut event leaked into the item models or the histories, that item would have users or an own count
    in the training rows; it must look never touched."""
    data = write_store(tmp_path / "data", rebuy=True, users=120)
    with (data / "events.csv").open("a", newline="") as f:
        w = csv.writer(f)
        for u in range(120):  # after each shopper's last basket (8 weeks), the never-seen item i239... bought
            w.writerow([START_S + 70 * 86_400 + u, f"u{u:03d}", f"s{u}-future", "i239", "purchase"])
    rows = (data / "events.csv").read_text().splitlines()
    kept = [rows[0]] + [r for r in rows[1:] if not (",i239," in r and "future" not in r)]
    (data / "events.csv").write_text("\n".join(kept) + "\n")
    seen: list[np.ndarray] = []

    def watching(model: ItemModel, history: History, now_ms: int, session: object = None) -> Pool:
        assert int(model.facts.users[239]) == 0, "the item models saw an after-cut event"
        assert 239 not in history.rows.tolist(), "a history holds an after-cut event"
        found = pool(model, history, now_ms)
        seen.append(found.rows)
        return found

    monkeypatch.setattr(lists, "pool", watching)
    manifest = build_artifacts(BuildConfig(data_dir=data, out_root=tmp_path / "art", dim=8, iterations=2,
                                           show_progress=False, ranker_cut="time"))
    assert seen and manifest.ranker.trained

"""Successors: what shoppers touch soon after an item, from their own sequences (index_builder/models/sequences.py)."""

from __future__ import annotations

import numpy as np
import pytest

from index_builder.models.sequences import successors
from protos import artifact
from tests.conftest import Built


def _successors(sequence: list[int], item: list[int], ts: list[int], n_items: int, *, window: int = 2,
                popularity_exponent: float = 0.0, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return successors(np.array(sequence), np.array(item), np.array(ts), n_items, window=window, decay=0.5,
                      popularity_exponent=popularity_exponent, k=k)


def test_successors_count_later_items_within_the_window_with_decay() -> None:
    # One sequence 0 -> 1 -> 2 -> 3 (given out of order: time decides); window 2, decay 0.5.
    rows, weights = _successors([7, 7, 7, 7], [2, 0, 3, 1], [30, 10, 40, 20], 4)
    # Item 0: 1 one step later (1), 2 two steps later (0.5); each item's successors sum to 1.
    assert rows[0].tolist() == [1, 2, -1] and np.allclose(weights[0], [2 / 3, 1 / 3, 0])
    assert rows[2].tolist() == [3, -1, -1] and np.allclose(weights[2], [1, 0, 0])
    assert rows[3].tolist() == [-1, -1, -1] and not weights[3].any()  # nothing follows the last item


def test_sequences_do_not_run_into_each_other_and_repeats_are_not_successors() -> None:
    rows, _ = _successors([1, 1, 1, 2, 2], [0, 0, 1, 2, 3], [1, 2, 3, 1, 2], 4)
    assert rows[0].tolist() == [1, -1, -1]  # 0 -> 0 is a repeat; 0 -> 2 would cross into sequence 2
    assert rows[1].tolist() == [-1, -1, -1]
    assert rows[2].tolist() == [3, -1, -1]


def test_ties_in_time_keep_the_given_order() -> None:
    rows, _ = _successors([1, 1], [3, 0], [5, 5], 4)
    assert rows[3].tolist() == [0, -1, -1] and rows[0].tolist() == [-1, -1, -1]


def test_the_popularity_correction_lifts_a_rare_successor_over_a_bestseller() -> None:
    # After 0, item 1 follows twice (in two sequences) and item 2 once; 1 is also everywhere else.
    seq = [1, 1, 2, 2, 3, 3, 4, 5, 6]
    item = [0, 1, 0, 1, 0, 2, 1, 1, 1]
    ts = [1, 2, 1, 2, 1, 2, 1, 1, 1]
    plain, _ = _successors(seq, item, ts, 3, popularity_exponent=0.0)
    corrected, _ = _successors(seq, item, ts, 3, popularity_exponent=1.0)
    assert plain[0].tolist()[:2] == [1, 2]
    assert corrected[0].tolist()[:2] == [2, 1]


@pytest.mark.parametrize("k, window", [(0, 5), (3, 0)])
def test_off_gives_empty_arrays_of_the_catalog(k: int, window: int) -> None:
    rows, weights = _successors([1, 1], [0, 1], [1, 2], 5, k=k, window=window)
    assert rows.shape == weights.shape == (5, k) and (rows == -1).all()


def test_the_built_artifact_holds_successors_in_the_catalog(built: Built) -> None:
    version = built.root / "current"
    rows = np.load(version / artifact.ITEM_ARRAYS["successors"].file)
    weights = np.load(version / artifact.ITEM_ARRAYS["successor_weights"].file)
    assert rows.shape == weights.shape and rows.shape[0] == built.manifest.counts.items
    assert (rows >= 0).any() and rows.max() < rows.shape[0]
    assert ((weights > 0) == (rows >= 0)).all()
    assert built.manifest.params.successor_window == 100

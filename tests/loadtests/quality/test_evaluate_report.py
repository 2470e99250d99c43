"""Rerank candidate sampling and scoring, activity buckets, and the HTML page, on small hand-made inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from loadtests.quality.evaluate import ModelResult, Report
from loadtests.quality.evaluate.accuracy import Scores
from loadtests.quality.evaluate.buckets import BucketScores, activity_bucket, bucket_scores
from loadtests.quality.evaluate.html_report import render_html, write_html
from loadtests.quality.evaluate.rerank import (
    MAX_POSITIVES,
    NEGATIVES_PER_POSITIVE,
    CandidateSets,
    RerankReport,
    RerankRow,
    sample_candidates,
    score_rerank,
)

N_ITEMS = 200


def _seen(rows: list[list[int]]) -> sp.csr_matrix:
    users = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    items = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
    return sp.csr_matrix((np.ones(len(items), dtype=np.float32), (users, items)), shape=(len(rows), N_ITEMS))


# u0: a few of each; u1: more held-out items than MAX_POSITIVES; u2: nothing held out; u3: has touched all
# but 3 items, so fewer negatives than asked exist (the exact fallback draws them).
SEEN = [[0, 1, 2], [3, 4], [5], [i for i in range(N_ITEMS) if i not in (57, 100, 150, 199)]]
POSITIVES = [np.array([10, 11]), np.arange(20, 20 + MAX_POSITIVES + 5), np.array([], dtype=np.int64), np.array([57])]
POPULARITY = np.arange(N_ITEMS, 0, -1)


def _sets(seed: int = 7) -> CandidateSets:
    return sample_candidates(["u0", "u1", "u2", "u3"], POSITIVES, _seen(SEEN), POPULARITY, seed)


def _of(sets: CandidateSets, user: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = sets.users.index(user)
    rows = slice(sets.offsets[u], sets.offsets[u + 1])
    return sets.items[rows], sets.scores[rows], sets.positive[rows]


def test_candidates_hold_every_positive_and_only_untouched_negatives() -> None:
    sets = _sets()
    assert sets.users == ["u0", "u1", "u3"]  # no held-out item, no candidates
    for u, user in enumerate(["u0", "u1", "u2", "u3"]):
        if user not in sets.users:
            continue
        items, scores, positive = _of(sets, user)
        touched = set(SEEN[u]) | set(POSITIVES[u].tolist())
        assert set(items[positive].tolist()) <= set(POSITIVES[u].tolist())
        assert not set(items[~positive].tolist()) & touched
        assert len(set(items.tolist())) == len(items)  # distinct
        assert np.all(np.diff(scores) <= 0)  # upstream order, best first
    items, _, positive = _of(sets, "u0")
    assert sorted(items[positive].tolist()) == [10, 11] and (~positive).sum() == 2 * NEGATIVES_PER_POSITIVE


def test_candidates_cap_positives_and_run_out_of_negatives_gracefully() -> None:
    sets = _sets()
    _, _, positive = _of(sets, "u1")
    assert positive.sum() == MAX_POSITIVES and (~positive).sum() == NEGATIVES_PER_POSITIVE * MAX_POSITIVES
    items, _, positive = _of(sets, "u3")
    assert sorted(items[~positive].tolist()) == [100, 150, 199]  # all the catalog has left, fewer than 4


def test_candidates_are_deterministic_per_seed() -> None:
    a, b, c = _sets(7), _sets(7), _sets(8)
    for x, y in [(a.items, b.items), (a.scores, b.scores), (a.positive, b.positive), (a.offsets, b.offsets),
                 (a.prior, b.prior)]:
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.scores, c.scores)


def test_rerank_is_scored_before_and_after() -> None:
    ids = [f"i{n}" for n in range(4)]
    sets = CandidateSets(["u0"], np.array([0, 4]), np.array([0, 1, 2, 3]), np.array([4.0, 3.0, 2.0, 1.0]),
                         np.array([False, False, False, True]), np.array([0.9, 1.0, 0.0, 0.5]))
    report = score_rerank(sets, ids, [["i3", "i0", "i1", "i2"]], 2, np.array([0.001, 0.003]))
    upstream, tailor, reference = report.rows
    assert (upstream.ndcg, upstream.recall) == (0.0, 0.0)
    assert (tailor.ndcg, tailor.recall) == (1.0, 1.0)
    assert reference.recall == 0.0 and score_rerank(sets, ids, [["i0"]], 3, np.zeros(1)).rows[2].recall == 1.0
    assert (report.users, report.candidates, report.positives) == (1, 4, 1)


def test_activity_buckets() -> None:
    lengths = np.array([0, 1, 20, 21, 50, 51, 150, 151, 5000])
    assert activity_bucket(lengths).tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(ValueError, match="history_lengths"):
        activity_bucket(np.array([3, -1]))


def test_bucket_scores_average_per_model_and_leave_out_empty_buckets() -> None:
    scores = bucket_scores(np.array([5, 10, 200]), {"A": np.array([0.2, 0.4, 1.0]), "B": np.zeros(3)})
    assert [(b.label, b.users) for b in scores] == [("1-20", 2), ("151+", 1)]
    assert scores[0].ndcg == {"A": pytest.approx(0.3), "B": 0.0} and scores[1].ndcg["A"] == 1.0


def _report(*, with_extras: bool = True) -> Report:
    def s(x: float) -> Scores:
        return Scores(map=x / 3, ndcg=x, precision=x / 2, recall=x / 2, hit_rate=x, coverage=0.1, novelty=2.0)

    results = [ModelResult("Tailor", s(0.5), 1.0, 0.6, 1.9), ModelResult("popularity", s(0.25), 0.01),
               ModelResult("EASE <lambda>", s(0.49), 0.5)]
    buckets = [BucketScores("1-20", 3, {"Tailor": 0.3, "popularity": 0.1, "EASE <lambda>": 0.3}),
               BucketScores("151+", 1, {"Tailor": 0.8, "popularity": 0.5, "EASE <lambda>": 0.7})]
    rerank = RerankReport(4, 40, 8, [RerankRow("upstream (popularity + noise)", 0.48, 0.35),
                                     RerankRow("Tailor Rerank", 0.69, 0.48),
                                     RerankRow("reference: popularity, no noise", 0.70, 0.49)], 0.9, 3.6)
    ranker = {"trained": True, "serves": True, "verdict": "serves: validation nDCG@10 0.30 beats popularity 0.14",
              "cut": "random", "lists_train": 750, "lists_validation": 190, "rows": 150000, "trees": 41, "seconds": 2.0,
              "validation_ndcg": {"learned": 0.3, "popularity": 0.14}, "gains": {"own_count": 0.6, "ii_rank": 0.4}}
    return Report("/data/shop", "random", 10, 42, 4, 100, 300, 100, results, 2.5,
                  buckets if with_extras else [], rerank if with_extras else None, ranker if with_extras else {})


def test_html_page_is_self_contained_with_charts_and_model_names(tmp_path: Path) -> None:
    page = write_html(_report(), tmp_path / "eval.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 4  # metrics by model, activity buckets, Rerank, the learned ranker's gains
    # nothing loaded from elsewhere (the SVGs' url(#clip) references point inside the page)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\((?!#)|@import|<script|<link|<img""", page)
    for name in ("Tailor", "popularity", "EASE &lt;lambda&gt;", "Tailor Rerank", "151+", "nDCG@10", "own_count",
                 "What drives the learned ranker"):
        assert name in page
    assert "EASE <lambda>" not in page  # escaped everywhere, also inside the SVG text


def test_html_page_without_buckets_or_rerank() -> None:
    page = render_html(_report(with_extras=False))
    assert page.count("<svg") == 1 and "Rerank</h2>" not in page and "Learned ranker" not in page

"""Ranking stages and pipelines as pure functions over an in-memory snapshot."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from protos import artifact
from protos import decision_pb2 as pb
from protos.ranker import generators
from server.api.queries import Filter, Query
from server.ranking import reasons, stages
from server.ranking.pipelines import recommend, rerank
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.signals import Signals, code_rows, gather_signals, session_vector
from server.runtime.snapshot import Snapshot, memory_snapshot

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
POLICY = RankingPolicy()
# Category a points along x, category b along y; a3 is out of stock.
IDS = ["a1", "a2", "a3", "b1", "b2", "b3"]


def _unit(x: float, y: float) -> list[float]:
    n = float(np.hypot(x, y))
    return [x / n, y / n]


@pytest.fixture
def snap() -> Snapshot:
    vectors = np.array([_unit(1, 0), _unit(0.9, 0.1), _unit(0.95, 0.05), _unit(0, 1), _unit(0.1, 0.9),
                        _unit(0.2, 0.8)], dtype=np.float32)
    a_fan = artifact.Profile(True, np.array(_unit(1, 0.05), dtype=np.float32), np.zeros(0, np.int32),
                             np.array([0], dtype=np.int32), np.array([0], dtype=np.int64), np.zeros(0, np.int32))
    refuser = artifact.Profile(False, np.array(_unit(1, 0), dtype=np.float32), np.zeros(0, np.int32),
                               np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32))
    return memory_snapshot(vectors, IDS, ["a", "a", "a", "b", "b", "b"], ["x", "y", "x", "x", "y", "y"],
                           [10, 20, 30, 40, 50, 60], [True, True, False, True, True, True],
                           popular=[4, 3, 0, 1, 5], profiles={"fan": a_fan, "refuser": refuser})


def _query(user: str = "", session: tuple[tuple[str, int], ...] = (), anchor: str = "",
           candidates: tuple[str, ...] = ()) -> Query:
    return Query(user_id=user, session_ids=tuple(i for i, _ in session),
                 session_types=np.array([t for _, t in session], dtype=np.int8), anchor_item_id=anchor, n=10,
                 filters=NO_FILTER, candidate_ids=candidates, candidate_scores=np.arange(len(candidates))[::-1] * 1.0)


def _ids(snap: Snapshot, rows: np.ndarray) -> list[str]:
    return [snap.catalog.item_id(r) for r in rows.tolist()]


def test_member_matches_isin_on_both_paths() -> None:
    rng = np.random.default_rng(0)
    for n_values, n_of in ((50, 0), (50, 7), (300, 200), (5000, 40)):
        values = rng.integers(0, 500, n_values)
        of = rng.integers(0, 500, n_of)
        assert (stages.member(values, of) == np.isin(values, of)).all()


def test_filter_mask_holds_every_set_filter(snap: Snapshot) -> None:
    rows = np.arange(6)
    cases = {
        Filter(frozenset({"b"}), frozenset(), 0.0, 0.0, False): ["b1", "b2", "b3"],
        Filter(frozenset({"a", "nope"}), frozenset({"y"}), 0.0, 0.0, False): ["a2"],
        Filter(frozenset(), frozenset(), 20.0, 40.0, False): ["a2", "a3", "b1"],
        Filter(frozenset(), frozenset(), 0.0, 0.0, True): ["a1", "a2", "b1", "b2", "b3"],
        Filter(frozenset({"unknown"}), frozenset(), 0.0, 0.0, False): [],
    }
    for f, expected in cases.items():
        assert _ids(snap, rows[stages.filter_mask(snap.catalog, rows, f)]) == expected


def test_eligible_drops_unknown_excluded_and_out_of_stock(snap: Snapshot) -> None:
    rows = np.array([-1, 0, 1, 2, 3])
    assert stages.eligible(snap.catalog, rows, np.array([1]), NO_FILTER).tolist() == [False, True, False, False, True]


def test_top_n_keeps_ties_in_input_order() -> None:
    c = stages.from_request(np.arange(5), np.array([1.0, 3.0, 3.0, 2.0, 5.0]))
    c = stages.Candidates(c.rows, c.scores, c.reasons, np.array([True, True, True, True, False]), c.positions)
    top = stages.top_n(c, 3)
    assert top.rows.tolist() == [1, 2, 3] and top.positions is not None and top.positions.tolist() == [1, 2, 3]


def test_rerank_reasons_are_masks(snap: Snapshot) -> None:
    request = stages.from_request(np.array([0, 3, -1]), np.array([3.0, 2.0, 1.0]))
    user = reasons.bit(reasons.USER_AFFINITY)
    cosine = stages.affinity(snap.catalog.vectors, request.rows, np.array(_unit(1, 0), dtype=np.float32))
    c = stages.blend_affinity(request, cosine, user, POLICY)
    codes = [reasons.codes_of(int(m)) for m in c.reasons]
    assert codes == [(reasons.SEARCH_RELEVANCE, reasons.USER_AFFINITY), (reasons.SEARCH_RELEVANCE,),
                     (reasons.SEARCH_RELEVANCE, reasons.UNKNOWN_ITEM)]
    assert [m.code for m in reasons.messages(int(c.reasons[0]))] == ["search_relevance", "user_affinity"]
    anonymous = stages.blend_affinity(request, None, 0, POLICY)
    assert anonymous.scores.tolist() == [1.0, 0.5, 0.0]  # the search order, min-max scaled


def test_filters_keep_unknown_candidates_only_without_filters(snap: Snapshot) -> None:
    c = stages.from_request(np.array([0, 3, -1]), np.array([3.0, 2.0, 1.0]))
    assert stages.keep_filtered(snap.catalog, c, NO_FILTER).keep.tolist() == [True, True, True]
    only_b = Filter(frozenset({"b"}), frozenset(), 0.0, 0.0, False)
    assert stages.keep_filtered(snap.catalog, c, only_b).keep.tolist() == [False, True, False]


def test_session_vector_weighs_types_and_recency() -> None:
    vectors = np.array([_unit(1, 0), _unit(0, 1)], dtype=np.float32)
    weights = np.array([0, 1, 4, 10], dtype=np.float32)
    bought_then_viewed = session_vector(vectors, np.array([0, 1]), np.array([3, 1]), weights, 0.85)
    assert bought_then_viewed is not None and bought_then_viewed[0] > bought_then_viewed[1]
    viewed_both = session_vector(vectors, np.array([0, 1]), np.array([1, 1]), weights, 0.85)
    assert viewed_both is not None and viewed_both[1] > viewed_both[0]  # the later view counts more
    assert session_vector(vectors, np.array([-1]), np.array([1]), weights, 0.85) is None


def test_recommend_for_a_known_shopper_skips_bought_and_out_of_stock(snap: Snapshot) -> None:
    signals = gather_signals(snap, POLICY, _query(user="fan"))
    uncapped = RankingPolicy(max_brand_share=1.0)  # a2, b3, b2 are all brand y: the cap would take 2 of 3
    ranked = recommend(snap, uncapped, RequestArrays(signals, 3, NO_FILTER))
    assert _ids(snap, ranked.rows) == ["a2", "b3", "b2"]
    assert set(ranked.reasons.tolist()) == {reasons.bit(reasons.USER_AFFINITY)}
    assert (np.diff(ranked.scores) <= 0).all()


def test_recommend_tops_up_from_popularity_below_every_similar_item(snap: Snapshot) -> None:
    signals = gather_signals(snap, POLICY, _query(user="fan"))
    ranked = recommend(snap, POLICY, RequestArrays(signals, 10, Filter(frozenset({"a"}), frozenset(), 0.0, 0.0, False)))
    assert _ids(snap, ranked.rows) == ["a2"]  # a1 bought, a3 out of stock: nothing to top up with
    anonymous = recommend(snap, POLICY, RequestArrays(gather_signals(snap, POLICY, _query()), 4, NO_FILTER))
    assert _ids(snap, anonymous.rows) == ["b2", "b1", "a1", "a2"]
    assert set(anonymous.reasons.tolist()) == {reasons.bit(reasons.POPULAR)}
    assert (np.diff(anonymous.scores) < 0).all()


def test_no_consent_is_anonymous_even_with_a_session(snap: Snapshot) -> None:
    signals = gather_signals(snap, POLICY, _query(user="refuser", session=(("b1", pb.INTERACTION_TYPE_CART),)))
    assert signals.vector is None and signals.sources == 0


def test_anchor_blends_and_is_excluded(snap: Snapshot) -> None:
    signals = gather_signals(snap, POLICY, _query(session=(("a1", pb.INTERACTION_TYPE_VIEW),), anchor="b1"))
    assert signals.sources == reasons.bit(reasons.ANCHOR_SIMILAR, reasons.SESSION_SIMILAR)
    ranked = recommend(snap, POLICY, RequestArrays(signals, 2, NO_FILTER))
    assert _ids(snap, ranked.rows) == ["b3", "b2"]  # (0.25, 0.75) normalised is closest to b3


def test_rerank_blends_search_and_affinity_and_keeps_unknown_items(snap: Snapshot) -> None:
    query = _query(user="fan", candidates=("b1", "zz", "a2"))
    signals = gather_signals(snap, POLICY, query)
    assert signals.candidate_rows.tolist() == [3, -1, 1]
    personal = RankingPolicy(search_weight=0.2)
    ranked = rerank(snap, personal, _rerank_of(signals, query, 3))
    assert ranked.positions is not None
    # a2 matches the shopper; zz (unknown) gets the known candidates' mean affinity.
    assert [query.candidate_ids[i] for i in ranked.positions.tolist()] == ["a2", "zz", "b1"]
    assert ranked.rows.tolist() == [1, -1, 3]
    search_only = rerank(snap, RankingPolicy(search_weight=1.0), _rerank_of(signals, query, 3))
    assert search_only.positions is not None and search_only.positions.tolist() == [0, 1, 2]


def test_find_rows_never_matches_a_longer_id() -> None:
    ids = np.array([b"b", b"abc", b"ab"])
    ids_sorted, rows_by_id = artifact.sorted_ids(ids)
    found = artifact.find_rows(ids_sorted, rows_by_id, ("ab", "abc", "abcd", "b", "a", "zzz", "abc" + "x" * 100))
    assert found.tolist() == [2, 1, -1, 0, -1, -1, -1]
    assert artifact.find_rows(ids_sorted, rows_by_id, ()).tolist() == []


def test_signals_exclude_is_sorted_unique_rows(snap: Snapshot) -> None:
    signals = gather_signals(snap, POLICY, _query(user="fan", session=(("a1", 1), ("b1", 1), ("nope", 1))))
    assert signals.exclude.tolist() == [0, 3]
    assert isinstance(signals, Signals)


def _with_neighbors(snap: Snapshot) -> Snapshot:
    """The fixture's catalog with a hand-written item-item model: a1 -> a2 (0.5), b1 (-0.2); b1 -> a2 (0.9),
    b3 (0.1). By vector b1's nearest is b2; by the model it is a2."""
    neighbors = np.array([[1, 3], [0, 2], [0, 1], [1, 5], [3, 5], [3, 4]], dtype=np.int32)
    weights = np.array([[0.5, -0.2], [0.1, 0.1], [0.0, 0.0], [0.9, 0.1], [0.3, 0.3], [0.2, 0.2]], dtype=np.float32)
    c = snap.catalog
    return memory_snapshot(c.vectors, IDS, ["a", "a", "a", "b", "b", "b"], ["x", "y", "x", "x", "y", "y"],
                           c.price.tolist(), c.in_stock.tolist(), popular=c.popular_rows.tolist(),
                           neighbors=(neighbors, weights))


def test_item_item_sums_neighbour_weights_over_the_seeds(snap: Snapshot) -> None:
    model = _with_neighbors(snap)
    seeds, weights = np.array([0, 3]), np.array([1.0, 2.0], dtype=np.float32)
    c = stages.item_item(model.catalog, seeds, weights, 7, np.array([0, 3]), NO_FILTER, 5, RankingPolicy())
    # a2: 0.5 + 2 * 0.9 = 2.3; b3: 2 * 0.1 = 0.2; b1 gets -0.2 but is a seed (excluded) anyway.
    assert _ids(model, c.rows) == ["a2", "b3"]
    assert np.allclose(c.scores, [2.3, 0.2]) and set(c.reasons.tolist()) == {7}


def test_recommend_uses_item_item_for_a_history_and_the_index_on_product_pages(snap: Snapshot) -> None:
    model = _with_neighbors(snap)
    history = gather_signals(model, POLICY, _query(session=(("b1", pb.INTERACTION_TYPE_VIEW),)))
    assert _ids(model, recommend(model, POLICY, RequestArrays(history, 1, NO_FILTER)).rows) == ["a2"]
    product = gather_signals(model, POLICY, _query(anchor="b1"))
    # nearest by vector
    assert _ids(model, recommend(model, POLICY, RequestArrays(product, 1, NO_FILTER)).rows) == ["b2"]
    off = RankingPolicy(item_item=False)
    assert _ids(model, recommend(model, off, RequestArrays(history, 1, NO_FILTER)).rows) == ["b2"]


def test_a_known_shoppers_history_is_excluded_unless_the_policy_says_otherwise(snap: Snapshot) -> None:
    fan = snap.profiles.read("fan")
    assert fan is not None
    seen = artifact.Profile(True, fan.vector, np.array([1], dtype=np.int32), fan.purchased, fan.purchased_at,
                            np.array([1], dtype=np.int32))
    model = memory_snapshot(snap.catalog.vectors, IDS, ["a"] * 6, ["x"] * 6, [1.0] * 6, [True] * 6,
                            profiles={"fan": seen})
    assert 1 in gather_signals(model, POLICY, _query(user="fan")).exclude.tolist()
    keep = RankingPolicy(exclude_seen_below=0.0)
    assert 1 not in gather_signals(model, keep, _query(user="fan")).exclude.tolist()
    revisiting = dataclasses.replace(model, revisit_share=0.5)  # a store whose shoppers come back to items
    assert 1 not in gather_signals(revisiting, POLICY, _query(user="fan")).exclude.tolist()


def test_history_seeds_decay_with_age_down_to_the_floor(snap: Snapshot) -> None:
    fan = snap.profiles.read("fan")
    assert fan is not None
    history = artifact.Profile(True, fan.vector, np.array([3, 4, 5], dtype=np.int32), fan.purchased, fan.purchased_at,
                               np.ones(3, dtype=np.int32))
    model = memory_snapshot(snap.catalog.vectors, IDS, ["a"] * 6, ["x"] * 6, [1.0] * 6, [True] * 6,
                            profiles={"fan": history},
                            neighbors=(np.zeros((6, 1), np.int32), np.zeros((6, 1), np.float32)))
    policy = RankingPolicy(history_recency=0.5, history_floor=0.2)
    signals = gather_signals(model, policy, _query(user="fan"))
    assert signals.seeds.tolist() == [3, 4, 5]
    assert np.allclose(signals.seed_weights, [0.2 + 0.8 * 0.25, 0.2 + 0.8 * 0.5, 1.0])
    flat = gather_signals(model, RankingPolicy(history_recency=1.0, history_floor=1.0), _query(user="fan"))
    assert flat.seed_weights.tolist() == [1.0, 1.0, 1.0]
    no_model = dataclasses.replace(model, catalog=dataclasses.replace(
        model.catalog, neighbors=np.zeros((6, 0), np.int32), neighbor_weights=np.zeros((6, 0), np.float32)))
    assert len(gather_signals(no_model, policy, _query(user="fan")).seeds) == 0  # nothing to score them with


def _rerank_of(signals: Signals, query: Query, n: int) -> RequestArrays:
    return RequestArrays(signals, n, NO_FILTER, search_scores=query.candidate_scores)


def test_rerank_affinity_comes_from_the_item_item_model_when_there_is_one(snap: Snapshot) -> None:
    model = _with_neighbors(snap)
    query = _query(session=(("b1", pb.INTERACTION_TYPE_VIEW),), candidates=("b2", "a2", "zz"))
    signals = gather_signals(model, POLICY, query)
    affinity = stages.item_item_affinity(model.catalog, signals.seeds, signals.seed_weights, signals.candidate_rows,
                                          RankingPolicy())
    assert np.allclose(affinity, [0.0, 1.0, 0.5])  # b1's neighbours: a2 (0.9), b3; b2 none; zz the mean
    ranked = rerank(model, RankingPolicy(search_weight=0.2), _rerank_of(signals, query, 3))
    # a2 moves up past b2; zz, unknown, keeps its search position
    assert ranked.positions is not None and [query.candidate_ids[i] for i in ranked.positions] == ["a2", "b2", "zz"]
    by_vector = rerank(model, RankingPolicy(search_weight=0.2, rerank_item_item=False), _rerank_of(signals, query, 3))
    assert by_vector.positions is not None and by_vector.positions.tolist()[0] == 0  # b2 is b1's nearest vector


def _with_successors(snap: Snapshot) -> Snapshot:
    """The item-item fixture plus successors: after b1 comes b3 (0.8), after a1 comes b2 (0.5)."""
    model = _with_neighbors(snap)
    rows = np.full((6, 1), -1, dtype=np.int32)
    weights = np.zeros((6, 1), dtype=np.float32)
    rows[3, 0], weights[3, 0] = 5, 0.8
    rows[0, 0], weights[0, 0] = 4, 0.5
    catalog = dataclasses.replace(model.catalog, successors=rows, successor_weights=weights)
    return dataclasses.replace(model, catalog=catalog)


def test_successors_of_the_newest_items_join_the_item_item_scores(snap: Snapshot) -> None:
    model = _with_successors(snap)
    seeds, weights = np.array([0, 3]), np.array([1.0, 2.0], dtype=np.float32)  # a1, then b1 (newest)
    plain = stages.item_item_scores(model.catalog, seeds, weights, RankingPolicy(successor_weight=0.0))
    assert np.allclose(plain, [0, 0.5 + 2 * 0.9, 0, -0.2, 0, 2 * 0.1])
    policy = RankingPolicy(successor_weight=1.0, successor_recency=0.5)
    scores = stages.item_item_scores(model.catalog, seeds, weights, policy)
    # Successors: b3 0.8 (newest), b2 0.5 x 0.5; scaled to a best of 1, times 1 x the best plain score (2.3).
    expected = plain.copy()
    expected[5] += 2.3 * 0.8 / 0.8
    expected[4] += 2.3 * 0.25 / 0.8
    assert np.allclose(scores, expected)
    c = stages.item_item(model.catalog, seeds, weights, 7, np.array([0, 3]), NO_FILTER, 2, policy)
    assert _ids(model, c.rows) == ["b3", "a2"]


def test_only_the_newest_successor_items_count(snap: Snapshot) -> None:
    model = _with_successors(snap)
    seeds = np.array([3, 0])  # b1, then a1 (newest)
    following = stages.successors(model.catalog, seeds, RankingPolicy(successor_items=1))
    assert following.nonzero()[0].tolist() == [4]  # a1's successor b2 only; b1 is older than the newest one


def test_member_agrees_with_isin_on_every_path() -> None:
    rng = np.random.default_rng(3)
    for size, of_size, span in ((5, 3, 10), (1500, 300, 2000), (3000, 40, 10_000_000), (400, 400, 5)):
        values = rng.integers(-1, span, size)
        of = rng.integers(0, span, of_size)
        assert np.array_equal(stages.member(values, of), np.isin(values, of))
    assert np.array_equal(stages.member(np.array(["a", "b"]), np.array(["b"] * 20_000)), [False, True])


def test_live_item_codes_become_rows_per_catalog(snap: Snapshot) -> None:
    names = ["b1", "nope"]
    assert code_rows(snap.catalog, names).tolist() == [3, -1]
    names.append("a2")  # the live store learned another code: the next call extends the array
    assert code_rows(snap.catalog, names).tolist() == [3, -1, 1]
    other = _with_neighbors(snap)  # another version's catalog has its own array
    assert code_rows(other.catalog, names[:1]).tolist() == [3]


def test_stages_that_add_candidates_keep_every_field(snap: Snapshot) -> None:
    """Candidates.appended is the one way to add entries: positions, anchors and rule marks of the present
    ones survive the popular top-up (and so every adding stage), the new entries get -1; top_n follows."""
    mask = np.full(2, reasons.bit(reasons.USER_AFFINITY), dtype=reasons.MASK_DTYPE)
    c = stages.Candidates(np.array([0, 1]), np.array([2.0, 1.0]), mask, np.ones(2, dtype=bool),
                          positions=np.array([7, 8]), ordered=True, anchors=np.array([3, -1]), rules=np.array([-1, 2]))
    topped = stages.top_up_popular(snap.catalog, c, np.zeros(0, dtype=np.int64), NO_FILTER, 4)
    assert topped.rows.tolist() == [0, 1, 4, 3] and topped.ordered
    assert topped.positions is not None and topped.positions.tolist() == [7, 8, -1, -1]
    assert topped.anchors is not None and topped.anchors.tolist() == [3, -1, -1, -1]
    assert topped.rules is not None and topped.rules.tolist() == [-1, 2, -1, -1]
    replaced = c.appended(np.array([1]), np.array([5.0]), mask[:1], replaces=True)
    assert replaced.keep.tolist() == [True, False, True] and not replaced.ordered
    best = stages.top_n(replaced, 2)
    assert best.rows.tolist() == [1, 0] and best.rules is not None and best.rules.tolist() == [-1, -1]
    assert best.anchors is not None and best.anchors.tolist() == [-1, 3]


def test_the_server_scores_with_the_shared_generators(snap: Snapshot) -> None:
    """The server's item-item and restock stages are protos.ranker.generators over the catalog's arrays: the
    builder trains on the very scores the server serves."""
    model = _with_successors(snap)
    c = model.catalog
    seeds, weights = np.array([0, 3]), np.array([1.0, 2.0], dtype=np.float32)
    policy = RankingPolicy(successor_weight=1.0, successor_recency=0.5)
    shared = generators.item_item_scores(c.neighbors, c.neighbor_weights, seeds, weights, c.n_items,
                                         successors=c.successors, successor_weights=c.successor_weights,
                                         successor_weight=1.0, successor_items=policy.successor_items,
                                         successor_recency=0.5)
    assert np.array_equal(stages.item_item_scores(c, seeds, weights, policy), shared)
    assert shared[5] > 0  # the successor b3 joined the scores

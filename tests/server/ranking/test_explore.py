"""Exploration: the share of explore slots, turning it off, determinism per request_id, categories outside
the shopper's usual ones (unit tests on a memory snapshot, then the real server through the client)."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import numpy as np
import pytest

from clients import TailorClient
from clients.client import RETRY_OPTIONS, ScoredItem
from protos import artifact, decision_pb2_grpc
from protos import decision_pb2 as pb
from server import ServerConfig, start_server
from server.api.queries import Filter
from server.ranking import explore, reasons
from server.ranking.pipelines import recommend
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.scoring import Shopper
from server.ranking.signals import Signals
from server.ranking.stages import Candidates
from server.runtime.snapshot import Snapshot, memory_snapshot
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
_CATEGORIES = ["c0", "c1", "c2", "c3", "c4"]


@pytest.fixture
def snap() -> Snapshot:
    """20 items, 4 per category c0..c4, each its own brand; the popular order is the row order."""
    n = 20
    vectors = np.eye(n, 4, dtype=np.float32) + 0.01
    ids = [f"i{r:02d}" for r in range(n)]
    return memory_snapshot(vectors, ids, [_CATEGORIES[r // 4] for r in range(n)], [f"b{r}" for r in range(n)],
                           [10.0] * n, [True] * n)


def _shopper(categories: list[int]) -> Shopper:
    return Shopper(np.array(categories, dtype=np.int32), np.ones(len(categories), dtype=np.float32),
                   np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32), -1.0, 0, 0, 0)


def _signals(shopper: Shopper | None = None) -> Signals:
    return Signals(None, 0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), shopper=shopper)


def test_slots_round_stochastically_to_the_exact_expected_share() -> None:
    rng = np.random.default_rng(1)
    assert {explore.slots(10, 0.1, rng) for _ in range(50)} == {1}
    five = [explore.slots(5, 0.1, rng) for _ in range(4000)]
    assert set(five) == {0, 1} and np.mean(five) == pytest.approx(0.5, abs=0.04)
    assert explore.slots(3, 1.0, rng) == 3


def test_the_generator_follows_the_request_id() -> None:
    policy = RankingPolicy()

    def draws(request_id: str) -> np.ndarray:
        rng = explore.generator(policy, request_id)  # the thread's own: used before the next one is asked for
        assert rng is not None
        return rng.random(4)

    first, second = draws("req-1"), draws("req-2")
    assert not np.array_equal(first, second)
    assert np.array_equal(first, draws("req-1"))  # asked again after another request: the same draws
    other_thread: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: other_thread.append(draws("req-1")))
    worker.start()
    worker.join()
    assert np.array_equal(first, other_thread[0])  # the same draws on every thread (worker, process)
    assert explore.generator(policy, "") is not None  # fresh randomness
    assert explore.generator(policy, "req-1", wanted=False) is None
    assert explore.generator(RankingPolicy(explore_share=0.0), "req-1") is None


def test_explore_items_take_the_last_slot_from_outside_the_usual_categories(snap: Snapshot) -> None:
    policy = RankingPolicy(max_brand_share=1.0)
    shopper = _shopper([0, 1])
    plain = recommend(snap, policy, RequestArrays(_signals(shopper), 10, NO_FILTER))
    seen: Counter[int] = Counter()
    for i in range(60):
        ranked = recommend(snap, policy,
                           RequestArrays(_signals(shopper), 10, NO_FILTER, rng=explore.generator(policy, f"r{i}")))
        explored = (ranked.reasons & reasons.bit(reasons.EXPLORE)) != 0
        assert explored.tolist() == [False] * 9 + [True]
        assert ranked.rows[:9].tolist() == plain.rows[:9].tolist()  # the personal items keep their order
        category = int(snap.catalog.category[ranked.rows[9]])
        assert category not in (0, 1) and category not in snap.catalog.category[ranked.rows[:9]]
        assert ranked.scores[9] == ranked.scores[8]  # placed, not scored: the score of the item above
        seen[category] += 1
    assert len(seen) >= 2  # Thompson draws vary between requests


def test_no_category_left_keeps_the_slot_personal(snap: Snapshot) -> None:
    policy = RankingPolicy(max_brand_share=1.0)
    everything = _shopper([0, 1, 2, 3, 4])
    plain = recommend(snap, policy, RequestArrays(_signals(everything), 10, NO_FILTER))
    ranked = recommend(snap, policy,
                       RequestArrays(_signals(everything), 10, NO_FILTER, rng=explore.generator(policy, "x")))
    assert ranked.rows.tolist() == plain.rows.tolist()
    only_c0 = Filter(frozenset({"c0"}), frozenset(), 0.0, 0.0, False)  # a filter holds for explore items too
    filtered = recommend(snap, policy, RequestArrays(_signals(), 10, only_c0, rng=explore.generator(policy, "y")))
    assert {int(snap.catalog.category[r]) for r in filtered.rows} == {0}


def test_the_draw_follows_the_priors(snap: Snapshot) -> None:
    """c4's prior is far stronger: tempered to 100 pseudo-trials it still wins almost every draw."""
    priors = np.array([[1, 1], [1, 1], [2, 900], [2, 900], [800, 200]], dtype=np.float32)
    snap = dataclasses.replace(snap, catalog=dataclasses.replace(snap.catalog, category_priors=priors))
    catalog = snap.catalog
    policy = RankingPolicy(max_brand_share=1.0)
    picked: Counter[int] = Counter()
    for i in range(100):
        ranked = recommend(snap, policy, RequestArrays(_signals(_shopper([0, 1])), 10, NO_FILTER,
                                                       rng=explore.generator(policy, f"p{i}")))
        picked[int(catalog.category[ranked.rows[-1]])] += 1
    assert picked[4] >= 90


def _ranked(n: int, rule_at: tuple[int, ...] = ()) -> Candidates:
    masks = np.full(n, reasons.bit(reasons.USER_AFFINITY), dtype=reasons.MASK_DTYPE)
    masks[list(rule_at)] = reasons.bit(reasons.RULE)
    return Candidates(np.arange(100, 100 + n), np.linspace(2.0, 1.0, n), masks, np.ones(n, dtype=bool),
                      ordered=True, anchors=np.arange(n))


def test_placement_is_even_and_keeps_what_a_rule_placed() -> None:
    placed = explore._placed(_ranked(20), np.array([1, 2]), 20)
    assert np.flatnonzero(placed.reasons == reasons.bit(reasons.EXPLORE)).tolist() == [9, 19]
    assert placed.rows.tolist() == [*range(100, 109), 1, *range(109, 118), 2]  # the last two personal ones drop
    assert placed.anchors is not None and placed.anchors[[9, 19]].tolist() == [-1, -1]
    assert placed.scores[9] == placed.scores[8] and placed.keep.all()
    pinned = explore._placed(_ranked(10, rule_at=(9,)), np.array([7]), 10)  # a pin on the 10th place stays
    assert pinned.rows.tolist() == [*range(100, 108), 7, 109]
    short = explore._placed(_ranked(3), np.array([7, 8]), 10)  # fewer candidates than n: nothing drops
    assert short.rows.tolist() == [100, 7, 101, 102, 8]  # places floor(j x 5 / 2): the 2nd and 5th
    everything = explore._placed(_ranked(0), np.array([7, 8]), 2)
    assert everything.rows.tolist() == [7, 8] and everything.scores.tolist() == [0.0, 0.0]


# --- through the real server ------------------------------------------------------------------------------------------


def _users(built: Built, count: int) -> list[str]:
    return sorted(u for u, bought in built.store.purchased.items() if bought and built.store.consent.get(u, True))[
        :count]


def _explored(items: Sequence[ScoredItem]) -> list[ScoredItem]:
    return [i for i in items if any(r.code == "explore" for r in i.reasons)]


def test_the_share_of_explore_items_matches_the_policy(client: TailorClient, built: Built) -> None:
    users = _users(built, 200)
    total = explored = 0
    for i, user in enumerate(users):
        answer = client.recommend(5, user_id=user, request_id=f"share-{i}")  # n x 0.1 = 0.5: rounded per call
        total += len(answer.items)
        explored += len(_explored(answer.items))
    assert total == 5 * len(users)
    assert explored / total == pytest.approx(0.1, abs=0.03)


def test_the_same_request_id_gives_the_same_answer_and_different_ones_vary(client: TailorClient) -> None:
    def ids(request_id: str) -> list[str]:
        return [i.item_id for i in client.recommend(10, user_id=LOYAL_USER, request_id=request_id).items]

    assert ids("same") == ids("same") == ids("same")
    assert len({tuple(ids(f"vary-{i}")) for i in range(20)}) > 1


def test_explore_items_come_from_outside_the_shoppers_top_categories(client: TailorClient, built: Built) -> None:
    for i, user in enumerate(_users(built, 40)):
        top = {a.name for a in client.get_profile(user).top_categories}
        answer = client.recommend(10, user_id=user, request_id=f"outside-{i}", with_details=True)
        for item in _explored(answer.items):
            assert item.category not in top
            assert item.reasons[0].text == f"Something different: {item.category}"
        others = {item.category for item in answer.items if item not in _explored(answer.items)}
        assert not {item.category for item in _explored(answer.items)} & others
    loyal = client.recommend(10, user_id=LOYAL_USER, request_id="loyal", with_details=True)
    assert [item.category for item in _explored(loyal.items)] and built.loyal_category not in {
        item.category for item in _explored(loyal.items)}


def test_no_exploration_in_the_request_turns_it_off(client: TailorClient, built: Built) -> None:
    for i, user in enumerate(_users(built, 30)):
        answer = client.recommend(10, user_id=user, request_id=f"off-{i}", no_exploration=True)
        assert len(answer.items) == 10 and not _explored(answer.items)


@pytest.fixture
def unexplored(own_root: Path) -> Iterator[TailorClient]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, ranking=RankingPolicy(explore_share=0.0)))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=5.0) as c:
            yield c
    finally:
        server.stop(grace=None)


def test_explore_share_zero_in_the_config_turns_it_off(unexplored: TailorClient, built: Built) -> None:
    for i, user in enumerate(_users(built, 30)):
        answer = unexplored.recommend(10, user_id=user, request_id=f"zero-{i}")
        assert len(answer.items) == 10 and not _explored(answer.items)
    assert not _explored(unexplored.recommend(10, request_id="anonymous").items)


def test_the_artifact_carries_the_category_priors(built: Built) -> None:
    version = (built.root / "current").resolve()
    priors = np.load(version / artifact.ITEM_ARRAYS["category_priors"].file)
    assert priors.shape == (len(built.manifest.categories), 2) and (priors >= 1).all()


def _asked(target: str, request_id: str) -> tuple[tuple[str, ...], int]:
    """One Recommend over a fresh connection: the item ids and the worker that answered."""
    with grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]) as channel:
        reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(
            pb.RecommendRequest(user_id=LOYAL_USER, n=10, request_id=request_id), timeout=10)
    return tuple(i.item_id for i in reply.items), int(dict(call.trailing_metadata() or ())["x-tailor-worker"])


def test_a_request_id_draws_the_same_slots_on_every_worker_and_process(client: TailorClient, built: Built) -> None:
    """Seeded from a digest, not Python's per-process salted hash(): another `tailor serve` process, each of its
    workers, and this process's server all give one answer."""
    here = tuple(i.item_id for i in client.recommend(10, user_id=LOYAL_USER, request_id="everywhere").items)
    server = ServeProcess(built.root, "--workers", "2")
    try:
        answers: dict[int, tuple[str, ...]] = {}

        def both_workers() -> bool:
            items, worker = _asked(server.target, "everywhere")
            answers[worker] = items
            return len(answers) == 2

        wait_until(both_workers, 120.0, lambda: f"answers only from workers {sorted(answers)}")
    finally:
        assert server.stop() == 0
    assert set(answers.values()) == {here}


def _ten(rule_at: int | None = None) -> Candidates:
    masks = np.full(10, reasons.bit(reasons.USER_AFFINITY), dtype=reasons.MASK_DTYPE)
    if rule_at is not None:
        masks[rule_at] |= reasons.bit(reasons.RULE)
    return Candidates(np.arange(10, dtype=np.int64), np.linspace(1.0, 0.1, 10), masks, np.ones(10, dtype=bool),
                      anchors=np.arange(10, dtype=np.int64), ordered=True)


def test_one_explore_item_takes_the_last_place_with_the_score_above_it() -> None:
    """The common case (one slot, no rule-placed items) and the general placement agree on where it goes."""
    placed = explore._placed(_ten(), np.array([99]), 10)
    assert placed.rows.tolist() == [*range(9), 99]
    assert placed.scores[9] == placed.scores[8] and placed.reasons[9] == reasons.bit(reasons.EXPLORE)
    assert placed.anchors is not None and placed.anchors.tolist() == [*range(9), -1]
    pinned_last = explore._placed(_ten(rule_at=9), np.array([99]), 10)  # a rule's item keeps the 10th place
    assert pinned_last.rows.tolist() == [*range(8), 99, 9]


def test_explore_items_respect_the_merchandising_cap_rules(client: TailorClient, built: Built) -> None:
    """A rule `cap = 1` per brand (every brand): no answer holds two items of one brand, explore slots
    included — an explore item's brand limit is the smaller of the policy's and the rule's; under `cap = 1`
    per category no explore item shares its category with another item."""
    for per in ("brand", "category"):
        rule = f'[[rule]]\nname = "one-each"\ncap = 1\nper = "{per}"\n'
        of = built.store.brand if per == "brand" else built.store.category
        explored = 0
        for user in sorted(built.store.purchased)[:200]:
            items = client.preview_rules(rule, 10, user_id=user, request_id=f"cap{user}").with_rules
            groups = Counter(of[i.item_id] for i in items if of[i.item_id] not in ("unbranded", ""))
            slots = [of[i.item_id] for i in items if "explore" in {r.code for r in i.reasons}]
            explored += len(slots)
            assert all(groups[g] == 1 for g in slots if g not in ("unbranded", "")), (per, user, groups)
            if per == "brand":
                assert max(groups.values(), default=0) <= 1, (user, groups)
        assert explored >= 100, explored  # the slots were there to hold the rule

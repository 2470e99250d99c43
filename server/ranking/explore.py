"""Exploration: a share of Recommend's slots shows a strong item from a category outside the shopper's usual
ones (reason explore, "Something different: <category>"), to learn what else they like and to delight.

How many: n x RankingPolicy.explore_share slots (default 0.1: 1 in 10, on every page), rounded
stochastically — the integer part always, one more with probability equal to the fraction — so the
expected share is exactly explore_share whatever n (n = 5: one slot in half of the answers). 0 = off;
a request turns it off with `no_exploration`; Rerank never explores (its candidates are a search's).

Which categories: a Thompson sample. The builder learns per category a Beta(alpha, beta) of "a shopper
converts in it" (index_builder/models/exploration.py); the server tempers it to at most
RankingPolicy.explore_evidence pseudo-trials (alpha - 1 and beta - 1 scaled down together: a long log
must not make the draw a fixed ranking), draws one sample per category, leaves out the usual ones — the
profile's top categories, the categories of the request's session and anchor, and those already in the
answer — and takes the best-drawn categories in turn. From each, a strong item: one of its
RankingPolicy.explore_items most popular eligible items (in stock, passing the filters, not excluded, not
already in the answer, not of a brand that already fills its diversity cap in the answer, nor of a brand
or category whose merchandising cap rule the answer already fills), drawn
uniformly, so the slots do not show every shopper the same bestseller. A category with none is skipped;
with no category left, the slot stays personal.

Where: the slots are spread evenly, each at the end of its share of the list — slot j (1-based) of m
at position floor(j x n / m): n = 10, m = 1: the 10th place; m = 2 of 20: the 10th and 20th. The personal
items keep their order and the last m of them drop out; an item a merchandiser's rule placed (reason
rule, e.g. a pin) keeps its place, and the explore slots are spread over the other places. An explore
item carries the score of the item above it (it is placed, not scored).

Deterministic for a request_id: the generator's state is a BLAKE2b hash of it (never Python's salted
`hash`); an empty request_id draws fresh randomness. Every step is a fixed number of array operations.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from server.api.queries import Filter
from server.ranking import diversity, reasons, stages
from server.ranking.policy import RankingPolicy
from server.ranking.scoring import Shopper
from server.ranking.stages import Candidates

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog

__all__ = ["generator", "slots", "explore"]

_PERSON = b"tailor-explore"
# Categories looked at per slot: a drawn category may have no eligible item (filters, stock, exclusions).
_SPARE = 4
# Items looked at per drawn category, most popular first: explore_items and room for the ineligible ones.
_DEPTH = 16
_EXPLORE = reasons.bit(reasons.EXPLORE)
_RULE = reasons.bit(reasons.RULE)


def generator(policy: RankingPolicy, request_id: str, wanted: bool = True) -> np.random.Generator | None:
    """The request's random generator, or None when it does not explore (explore_share 0 or not `wanted`):
    seeded from the request_id's BLAKE2b digest, fresh when the request_id is empty."""
    if not wanted or policy.explore_share <= 0:
        return None
    if not request_id:
        return _fresh()
    return _seeded(hashlib.blake2b(request_id.encode("utf-8"), digest_size=32, person=_PERSON).digest())


_LOCAL = threading.local()


def _seeded(digest: bytes) -> np.random.Generator:
    """This thread's reusable generator with its PCG64 state set from a 32-byte digest: the same digest, the
    same draws. Setting the state skips the seed hashing a new generator does (~2 µs instead of ~9). The
    generator is the thread's: valid until its next request asks for one."""
    pair: tuple[np.random.PCG64, np.random.Generator] | None = getattr(_LOCAL, "seeded", None)
    if pair is None:
        bits = np.random.PCG64()
        pair = _LOCAL.seeded = (bits, np.random.Generator(bits))
    bits, rng = pair
    bits.state = {"bit_generator": "PCG64", "has_uint32": 0, "uinteger": 0,
                  "state": {"state": int.from_bytes(digest[:16], "little"),
                            "inc": int.from_bytes(digest[16:], "little") | 1}}
    return rng


def _fresh() -> np.random.Generator:
    """A generator for a call without a request_id: this thread's own, seeded from the OS once (seeding one
    per call costs ~25 µs of entropy gathering; the draws need no more than to differ between calls)."""
    rng: np.random.Generator | None = getattr(_LOCAL, "rng", None)
    if rng is None:
        rng = _LOCAL.rng = np.random.default_rng()
    return rng


def slots(n: int, share: float, rng: np.random.Generator) -> int:
    """How many of n slots explore: n x share rounded stochastically (the expectation is n x share)."""
    expected = n * share
    whole = int(expected)
    return min(n, whole + int(rng.random() < expected - whole))


def _usual(catalog: Catalog, shopper: Shopper | None, context_rows: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """Category codes the shopper already knows: profile top categories, the context's, the answer's."""
    rows = np.concatenate([context_rows[context_rows >= 0], answer[answer >= 0]])
    mine = catalog.category[rows]
    return np.concatenate([shopper.categories, mine]) if shopper is not None else mine


# (priors, evidence) -> the tempered Beta parameters: the priors of a loaded version never change, so they are
# tempered once per version, not per request. A weak reference to the priors tells versions apart (an id alone
# could be reused by a later version's array) without keeping an old version's array alive.
_TEMPERED: dict[tuple[int, float], tuple[weakref.ref[np.ndarray], np.ndarray, np.ndarray]] = {}


def _tempered(priors: np.ndarray, evidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Beta (alpha, beta) per category with alpha - 1 and beta - 1 scaled down together to at most `evidence`."""
    cached = _TEMPERED.get((id(priors), evidence))
    if cached is not None and cached[0]() is priors:
        return cached[1], cached[2]
    successes, failures = priors[:, 0] - 1.0, priors[:, 1] - 1.0
    scale = np.minimum(1.0, evidence / np.maximum(successes + failures, 1e-12))
    alpha, beta = 1.0 + successes * scale, 1.0 + failures * scale
    if len(_TEMPERED) >= 8:  # old versions' entries; a dict per process, filled again on the next requests
        _TEMPERED.clear()
    _TEMPERED[(id(priors), evidence)] = (weakref.ref(priors), alpha, beta)
    return alpha, beta


def _sampled(priors: np.ndarray, evidence: float, usual: np.ndarray, rng: np.random.Generator,
             wanted: int) -> np.ndarray:
    """Up to `wanted` category codes outside `usual`, best Thompson draw first."""
    draws = rng.beta(*_tempered(priors, evidence))
    draws[usual] = -1.0
    best = np.argsort(-draws, kind="stable")[:wanted]
    return best[draws[best] >= 0]


def _picked(catalog: Catalog, categories: np.ndarray, exclude: np.ndarray, f: Filter, answer: np.ndarray,
            n: int, policy: RankingPolicy, rule_caps: tuple[tuple[np.ndarray, np.ndarray], ...], m: int,
            rng: np.random.Generator) -> np.ndarray:
    """For the first m categories that have one, an item drawn uniformly among the first explore_items eligible
    ones of its popular list (not in `answer`, not past a cap the answer fills: diversity.over_caps)."""
    among = policy.explore_items
    lists = catalog.category_popular_rows[categories, :max(_DEPTH, among)]
    if not lists.size:
        return np.zeros(0, dtype=np.int64)
    flat = lists.ravel().astype(np.int64)
    ok = stages.eligible(catalog, flat, exclude, f) & ~stages.member(flat, answer)
    ok &= ~diversity.over_caps(catalog, flat, answer, n, policy, rule_caps)
    ok = ok.reshape(lists.shape)
    ok &= np.cumsum(ok, axis=1) <= among
    has = ok.any(axis=1)
    drawn = np.where(ok, rng.random(ok.shape), -1.0).argmax(axis=1)
    return lists[np.arange(len(categories)), drawn][has][:m].astype(np.int64)


def explore(catalog: Catalog, c: Candidates, shopper: Shopper | None, context_rows: np.ndarray,
            exclude: np.ndarray, f: Filter, n: int, policy: RankingPolicy, rng: np.random.Generator,
            rule_caps: tuple[tuple[np.ndarray, np.ndarray], ...] = ()) -> Candidates:
    """The final top n (`c`, best first) with explore items in their slots (module docstring); `rule_caps`:
    the brand and category cap rules in force (ActiveRules.caps), which an explore item respects as it
    does the policy's brand cap."""
    m = slots(n, policy.explore_share, rng)
    if m == 0 or not len(catalog.category_priors):
        return c
    usual = _usual(catalog, shopper, context_rows, c.rows)
    categories = _sampled(catalog.category_priors, policy.explore_evidence, usual, rng, _SPARE * m)
    rows = _picked(catalog, categories, exclude, f, c.rows, n, policy, rule_caps, m, rng)
    if not len(rows):
        return c
    return _placed(c, rows, n)


def _placed(c: Candidates, rows: np.ndarray, n: int) -> Candidates:
    """`rows` placed evenly in a list of min(n, len(c) + len(rows)): items a merchandiser's rule placed (reason
    rule) keep their places, the explore items take evenly spaced places among the others, and the other
    personal items fill the rest in order. Every per-candidate array of `c` follows (an explore item: its row,
    the score of the item above it, reason explore, kept, -1 in any other array)."""
    found = len(rows)
    total = min(n, len(c.rows) + found)
    fixed = np.flatnonzero(c.reasons & _RULE)
    if found == 1 and not len(fixed) and len(c.rows) >= total > 1:
        return _last(c, rows, total)
    free = np.ones(total, dtype=bool)
    free[fixed] = False
    places = np.flatnonzero(free)
    found = min(found, len(places))
    if not found:
        return c
    at = places[np.arange(1, found + 1) * len(places) // found - 1]  # evenly among the free places
    explored = np.zeros(total, dtype=bool)
    explored[at] = True
    movable = np.flatnonzero((c.reasons & _RULE) == 0)[:total - len(fixed) - found]
    personal = len(c.rows)
    take = np.empty(total, dtype=np.int64)  # index into [c's candidates..., the explore items...]
    take[fixed] = fixed
    take[explored] = personal + np.arange(found)
    take[free & ~explored] = movable
    above = np.maximum.accumulate(np.where(explored, -1, np.arange(total)))  # nearest personal place above
    source = take[np.maximum(above, 0)][explored] if personal else np.zeros(0, dtype=np.int64)
    scores = c.scores[np.where(above[explored] >= 0, source, 0)] if personal else np.zeros(found)
    return _assembled(c, rows[:found], scores, take)


def _last(c: Candidates, rows: np.ndarray, total: int) -> Candidates:
    """`_placed` for its common case, one explore item and no rule-placed items: the item takes the last of
    the `total` places (where the even spacing puts it) with the score of the item above."""
    keep = total - 1
    return _assembled(c, rows[:1], c.scores[keep - 1:keep], np.append(np.arange(keep), len(c.rows)))


def _assembled(c: Candidates, rows: np.ndarray, scores: np.ndarray, take: np.ndarray) -> Candidates:
    """`c` with the explore items appended (their row and score, reason explore, kept, -1 in every other
    per-candidate array), then taken in the order `take` (indices into [c's candidates..., the explore items...])."""
    return c.appended(rows, scores, np.full(len(rows), _EXPLORE, dtype=c.reasons.dtype)).taken(take)

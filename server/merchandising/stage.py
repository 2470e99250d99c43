"""The ranking stage of the merchandising rules in force (compiler.py compiles them; docs/rules.md).

`restrict` puts the active set's `allowed` mask (its exclude / include_only rules) into the request's
Filter, so retrieval, buy-again, complements and the popular top-up all respect it; `pool` says how many
candidates Recommend tops up to when a cap may demote some; `apply` multiplies the candidates' scores by
the boost / bury factors, names the rule behind each moved item, demotes what a cap exceeds
(server/ranking/caps.py), takes the top n and places the pins. Every step gathers from the active set's
catalog-wide arrays: a fixed number of array operations per call whatever the number of rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from server.api.queries import Filter
from server.merchandising.compiler import ActiveRules
from server.ranking import reasons, stages
from server.ranking.caps import cap_groups
from server.ranking.stages import Candidates

if TYPE_CHECKING:
    from server.runtime.snapshot import Snapshot

__all__ = ["restrict", "pool", "apply"]

_RULE_BIT = reasons.bit(reasons.RULE)


def restrict(f: Filter, active: ActiveRules) -> Filter:
    """The request's filter with the active exclude / include_only rules' catalog mask."""
    if active.allowed is None:
        return f
    return Filter(f.categories, f.brands, f.min_price, f.max_price, f.in_stock_only, active.allowed)


def pool(active: ActiveRules, n: int, fetched: int) -> int:
    """How many candidates Recommend tops up to: 2n when a cap may demote some below the top n and
    retrieval asked for fewer (a visitor without a profile), else n."""
    return 2 * n if active.caps and fetched < 2 * n else n


def apply(c: Candidates, active: ActiveRules, n: int, exclude: np.ndarray, f: Filter, *,
          add_pins: bool = True) -> Candidates:
    """Boost / bury, include_only's reason, caps, top n, pins (module docstring). `add_pins`: a pinned item
    not among the candidates joins them (Recommend; Rerank only moves its own candidates). Gathers from the
    active set's catalog-wide arrays: a fixed number of array operations whatever the number of rules."""
    if active.ruleset is None or active.empty or not len(c.rows):
        return c
    every = bool(c.rows.min() >= 0)
    known = c.rows >= 0 if not every else None
    rows = c.rows if known is None else np.where(known, c.rows, 0)
    if active.rule_of is not None and active.rule_bits is not None:
        rule_of, bits, scores = active.rule_of[rows], active.rule_bits[rows], c.scores
        if active.factor is not None:
            factor = active.factor[rows] if known is None else np.where(known, active.factor[rows], 1.0)
            scores = np.where(scores > 0, scores * factor, scores / factor).astype(c.scores.dtype, copy=False)
        if known is not None:
            rule_of, bits = np.where(known, rule_of, -1).astype(np.int32), np.where(known, bits, 0).astype(bits.dtype)
        c = c.with_(scores=scores, reasons=c.reasons | bits, rules=rule_of, ordered=c.ordered and active.factor is None)
    best = _best(c, n) if active.caps else rows
    for groups, limits in active.caps:
        codes = groups[rows] if known is None else np.where(known, groups[rows], -1)
        if _binds(codes[best], limits[rows[best]]):
            c = cap_groups(c, codes, limits[rows], n)
            best = _best(c, n)
    if active.pins is not None:  # pinned candidates stay in the top n whatever their score: they move to their slot
        lifted = stages.member(c.rows, active.pins[0][active.pins[1] <= n]) & c.keep
        if lifted.any():
            c = c.with_(scores=np.where(lifted, np.inf, c.scores))
    c = stages.top_n(c, n)
    if active.pins is None:
        return c
    return _pinned(active.ruleset.snapshot, c, active.pins, n, exclude, f, add_pins)


def _best(c: Candidates, n: int) -> np.ndarray:
    """The indices of the n best kept candidates, in any order."""
    kept = np.flatnonzero(c.keep)
    return kept if len(kept) <= n else kept[np.argpartition(-c.scores[kept], n - 1)[:n]]


def _binds(codes: np.ndarray, limits: np.ndarray) -> bool:
    """Whether a cap can change the top n: some group has more than its limit among the n best candidates
    (`codes` and `limits` of those; what lies below them cannot move up by a cap)."""
    capped = codes >= 0
    if not capped.any():
        return False
    codes = codes[capped]
    return bool((np.bincount(codes)[codes] > limits[capped]).any())


def _pinned(snapshot: Snapshot, c: Candidates, pins: tuple[np.ndarray, np.ndarray, np.ndarray], n: int,
            exclude: np.ndarray, f: Filter, add_pins: bool) -> Candidates:
    """The top-n `c` with each placeable pin at its slot; pins beyond a shorter answer take its last places."""
    rows, slots, rules = pins  # in stock and allowed by the rules (ActiveRules)
    usable = slots <= n
    if add_pins:
        usable &= ~stages.member(rows, exclude)
        if not f.empty:
            usable &= stages.filter_mask(snapshot.catalog, rows, f)
    else:
        usable &= stages.member(rows, c.rows)
    if not usable.any():
        return c
    rows, slots, rules = rows[usable], slots[usable], rules[usable]
    others = np.flatnonzero(~stages.member(c.rows, rows))[: n - len(rows)]
    total = len(others) + len(rows)
    inside = slots <= total
    places = np.zeros(len(rows), dtype=np.int64)
    places[inside] = slots[inside] - 1  # distinct: one pin per slot
    taken = np.zeros(total, dtype=bool)
    taken[places[inside]] = True
    places[~inside] = np.flatnonzero(~taken)[len(others):]
    return _composed(c, others, places, rows, rules)


def _composed(c: Candidates, others: np.ndarray, places: np.ndarray, pin_rows: np.ndarray,
              pin_rules: np.ndarray) -> Candidates:
    """Others in their order at the free places, each pin at its place; a pin scores just above the next item.
    A pin not among the candidates joins them (Candidates.appended: every per-candidate array follows)."""
    total = len(others) + len(places)
    is_pin = np.zeros(total, dtype=bool)
    is_pin[places] = True
    same = pin_rows[:, None] == c.rows[None, :]
    source = np.where(same.any(axis=1), same.argmax(axis=1), -1)  # a pin already among the candidates
    new = source < 0
    c = c if c.rules is not None else c.with_(rules=np.full(len(c.rows), -1, dtype=np.int64))
    c = c.appended(pin_rows[new], np.zeros(int(new.sum()), dtype=c.scores.dtype),
                   np.zeros(int(new.sum()), dtype=c.reasons.dtype))
    source[new] = len(c.rows) - int(new.sum()) + np.arange(int(new.sum()))
    at = np.zeros(total, dtype=np.int64)  # per place: the index into c it comes from
    at[~is_pin] = others
    at[places] = source
    c = c.taken(at)
    masks, rule_of = c.reasons.copy(), c.rules.copy() if c.rules is not None else np.full(total, -1, dtype=np.int64)
    masks[places] |= _RULE_BIT
    rule_of[places] = pin_rules
    scores = c.scores.astype(np.float64)
    after = np.maximum.accumulate(np.where(is_pin, -np.inf, scores)[::-1])[::-1]  # the next other's score
    before = np.minimum.accumulate(np.where(is_pin, np.inf, scores))  # the previous other's score
    has_after, has_before = np.isfinite(after), np.isfinite(before)
    between = np.where(has_after & has_before, (np.where(has_after, after, 0) + np.where(has_before, before, 0)) / 2,
                       np.where(has_after, after + 1.0, np.where(has_before, before - 1.0, 0.0)))
    scores = np.where(is_pin, between, scores)
    return c.with_(scores=scores.astype(c.scores.dtype), reasons=masks, rules=rule_of, ordered=True)

"""Complements: what goes with the cart (cart page) or with the product on the page (product page).

The builder keeps each item's strongest "bought together" and "viewed together" partners
(index_builder/models/complements.py; weights in (0, 1]). A request's `Basket` is where complements come
from: the cart's items on a cart page (Context.page == PAGE_CART: the session's CART interactions,
or all its items when none is typed CART), else the product page's anchor item. A candidate's
complement score is the sum over the basket of its bought-together weights plus
`cart_viewed_weight` times its viewed-together weights (cart page only: on a product page, items
viewed together with the anchor are mostly its substitutes, which the similar items already are).

Placement is by slots: the best eligible complements take the first round(share x n) places
(`cart_complement_share`, default all of them; `complement_share` on a product page), ordered by
complement score, above the pipeline's other candidates, which fill the rest. Slots rather than a
score blend, because complement weights (cosines of session sets) and retrieval scores (item-item
sums, inner products) are not on one scale.

Each complement names the basket item it goes with best ("Often bought with {anchor}"): the
argmax over the basket of its per-source contribution, one dense [candidates, sources] table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from protos import decision_pb2 as pb
from server.api.queries import Filter, Query
from server.ranking import reasons
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates, eligible

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog

__all__ = ["Basket", "NO_BASKET", "basket_of", "complement_scores", "add_complements", "name_anchors"]

_MASK = reasons.MASK_DTYPE


@dataclass(frozen=True, slots=True)
class Basket:
    """The catalog rows complements come from (distinct), and whether they are a cart (else a product page)."""

    rows: np.ndarray
    cart: bool = False


NO_BASKET = Basket(np.zeros(0, dtype=np.int64))


def basket_of(catalog: Catalog, query: Query) -> Basket:
    """A cart page's cart (its CART interactions, else all its session items) or the product page's anchor."""
    if query.page == pb.PAGE_CART and query.session_ids:
        rows = catalog.rows_of(query.session_ids)
        carted = (query.session_types == pb.INTERACTION_TYPE_CART) & (rows >= 0)
        rows = rows[carted] if carted.any() else rows[rows >= 0]
        return Basket(np.unique(rows), cart=True)
    if query.anchor_item_id:
        rows = catalog.rows_of((query.anchor_item_id,))
        return Basket(rows[rows >= 0])
    return NO_BASKET


@dataclass(frozen=True, slots=True)
class _Scored:
    rows: np.ndarray  # distinct candidate rows
    scores: np.ndarray  # summed complement weight
    bought: np.ndarray  # bool: some bought-together weight
    anchors: np.ndarray  # the basket row contributing most


def complement_scores(catalog: Catalog, sources: np.ndarray, viewed_weight: float) -> _Scored:
    """Every partner of the `sources` rows: its summed weight (bought together + viewed_weight x viewed
    together), whether any of it is bought together, and the source contributing most."""
    bought, viewed = catalog.bought_together[sources], catalog.viewed_together[sources]
    n_sources, k = bought.shape
    rows = np.concatenate([bought.ravel(), viewed.ravel()]).astype(np.int64)
    weights = np.concatenate([catalog.bought_together_weights[sources].ravel(),
                              viewed_weight * catalog.viewed_together_weights[sources].ravel()]).astype(np.float64)
    source = np.concatenate([np.repeat(np.arange(n_sources), k), np.repeat(np.arange(n_sources), viewed.shape[1])])
    is_bought = np.arange(len(rows)) < bought.size
    used = (rows >= 0) & (weights > 0)
    rows, weights, source, is_bought = rows[used], weights[used], source[used], is_bought[used]
    unique, inverse = np.unique(rows, return_inverse=True)
    table = np.bincount(inverse * n_sources + source, weights=weights, minlength=len(unique) * n_sources)
    table = table.reshape(len(unique), n_sources)
    return _Scored(unique, table.sum(axis=1), np.bincount(inverse, weights=is_bought, minlength=len(unique)) > 0,
                   sources[table.argmax(axis=1)] if len(unique) else np.zeros(0, dtype=np.int64))


def _viewed_weight(basket: Basket, policy: RankingPolicy) -> float:
    return policy.cart_viewed_weight if basket.cart else 0.0


def add_complements(catalog: Catalog, c: Candidates, basket: Basket, exclude: np.ndarray, f: Filter, n: int,
                    policy: RankingPolicy) -> Candidates:
    """Put the basket's best eligible complements in the first slots (module docstring), reason
    bought_together (or viewed_together where only viewing links them); a candidate already present
    moves up with them."""
    share = policy.cart_complement_share if basket.cart else policy.complement_share
    slots = max(1, round(share * n)) if share > 0 else 0
    if not slots or not len(basket.rows) or catalog.bought_together.shape[1] + catalog.viewed_together.shape[1] == 0:
        return c
    scored = complement_scores(catalog, basket.rows, _viewed_weight(basket, policy))
    fit = eligible(catalog, scored.rows, exclude, f)
    order = np.flatnonzero(fit)[np.argsort(-scored.scores[fit], kind="stable")][:slots]  # best first
    if not len(order):
        return c
    rows, weights = scored.rows[order], scored.scores[order]
    base = float(c.scores[c.keep].max()) if c.keep.any() else 0.0
    scores = base + 1.0 + weights / float(weights[0])
    masks = np.where(scored.bought[order], reasons.bit(reasons.BOUGHT_TOGETHER),
                     reasons.bit(reasons.VIEWED_TOGETHER)).astype(_MASK)
    return c.appended(rows, scores.astype(c.scores.dtype), masks, replaces=True)


def name_anchors(catalog: Catalog, c: Candidates, basket: Basket, policy: RankingPolicy) -> Candidates:
    """The returned complements' anchors: for each, the basket row it goes with best (-1 elsewhere)."""
    anchored = (c.reasons & reasons.ANCHORED) != 0
    if not anchored.any() or not len(basket.rows):
        return c
    scored = complement_scores(catalog, basket.rows, _viewed_weight(basket, policy))
    if not len(scored.rows):
        return c
    at = np.minimum(np.searchsorted(scored.rows, c.rows), len(scored.rows) - 1)
    anchors = np.where(anchored & (scored.rows[at] == c.rows), scored.anchors[at], -1).astype(np.int64)
    return c.with_(anchors=anchors)

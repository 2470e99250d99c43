"""Response encoding: `Ranked` arrays -> ScoredItem messages.

The one per-item loop of a request is here, because each item is a protobuf message;
reasons are shared Reason lists, one per distinct mask (server/ranking/reasons.py). The display
fields (title, category, price), asked for with `with_details`, are taken from the catalog
arrays for all items at once. An item without a brand is never "A brand you buy often: unbranded":
builds since that stopped counting as a brand give it no brand_affinity, and an older artifact's
reason is dropped here, with one mask over the ranked rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from protos import decision_pb2 as pb
from server.ranking import reasons
from server.ranking.pipelines import Ranked
from server.runtime.snapshot import Catalog, Names

__all__ = ["fill_items"]

_RULE = reasons.bit(reasons.RULE)
_BRAND = reasons.bit(reasons.BRAND_AFFINITY)


def _details(catalog: Catalog, rows: np.ndarray) -> tuple[list[bytes], list[str], list[float]]:
    """Title (UTF-8 bytes), category name and price per row; empty and 0 where the row is -1 (unknown)."""
    known = rows >= 0
    everyone = bool(known.all())
    at = rows if everyone else np.where(known, rows, 0)
    titles, categories, prices = catalog.titles[at], catalog.category_names[catalog.category[at]], catalog.price[at]
    if not everyone:
        titles, categories = np.where(known, titles, b""), np.where(known, categories, "")
        prices = np.where(known, prices, np.float32(0))
    return titles.tolist(), categories.tolist(), prices.tolist()


def fill_items(items: object, catalog: Catalog, ranked: Ranked, candidate_ids: Sequence[str] = (),
               names: Names | None = None, *, details: bool = False,
               rules: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Append one ScoredItem per ranked entry to the repeated field `items`, with its display fields
    when `details`, and return their ids in order; Rerank answers with the caller's own ids (unknown
    candidates have no catalog row).
    Reasons that name the item's brand or category (reasons.NAMED) take the names from `names`; those that
    name the item a complement goes with (reasons.ANCHORED), its title or id; a rule reason, the rule
    (`rules`: (name, reason text) per rule index of `ranked.rules`)."""
    add = items.add  # type: ignore[attr-defined]
    if ranked.positions is not None:
        ids = [candidate_ids[i] for i in ranked.positions.tolist()]
    else:
        ids = [catalog.item_id(row) for row in ranked.rows.tolist()]
    scores, masks = ranked.scores.tolist(), _without_unbranded(catalog, ranked).tolist()
    found = _reasons(catalog, ranked.rows, masks, names, ranked.anchors, ranked.rules if rules else None, rules)
    if not details:
        for item_id, score, why in zip(ids, scores, found, strict=True):
            add(item_id=item_id, score=score, reasons=why)
        return ids
    titles, categories, prices = _details(catalog, ranked.rows)
    # A string field takes UTF-8 bytes as they are: the titles need no decoding here.
    for item_id, score, why, title, category, price in zip(ids, scores, found, titles, categories, prices,
                                                           strict=True):
        add(item_id=item_id, score=score, reasons=why, title=title, category=category, price=price)
    return ids


def _without_unbranded(catalog: Catalog, ranked: Ranked) -> np.ndarray:
    """The ranked reason masks, brand_affinity taken off items without a brand (artifact.NO_BRAND)."""
    masks = ranked.reasons
    if not len(catalog.no_brand) or not (masks & _BRAND).any():
        return masks
    known = ranked.rows >= 0
    unbranded = known & np.isin(catalog.brand[np.where(known, ranked.rows, 0)], catalog.no_brand)
    return np.where(unbranded & (masks & _BRAND > 0), masks ^ _BRAND, masks)


def _reasons(catalog: Catalog, rows: np.ndarray, masks: list[int], names: Names | None,
             ranked_anchors: np.ndarray | None = None, ranked_rules: np.ndarray | None = None,
             labels: Sequence[tuple[str, str]] = ()) -> list[list[pb.Reason]]:
    """The Reason list of each item: shared per mask, or per (mask, category, brand, anchor, rule) where a
    reason names them."""
    named = names is not None and any(mask & reasons.NAMED for mask in masks)
    ruled = ranked_rules is not None and bool((ranked_rules >= 0).any())
    if not named and not ruled:
        return [reasons.messages(mask) for mask in masks]
    if not named and ranked_rules is not None:
        return [reasons.messages(mask, "", "", "", *labels[rule]) if rule >= 0 and mask & _RULE else
                reasons.messages(mask) for mask, rule in zip(masks, ranked_rules.tolist(), strict=True)]
    out: list[list[pb.Reason]] = []
    anchors = ranked_anchors.tolist() if ranked_anchors is not None else [-1] * len(masks)
    rule_of = ranked_rules.tolist() if ranked_rules is not None else [-1] * len(masks)
    for mask, row, anchor, rule in zip(masks, rows.tolist(), anchors, rule_of, strict=True):
        label = labels[rule] if rule >= 0 and mask & _RULE else ("", "")
        if names is not None and mask & reasons.NAMED and row >= 0:
            out.append(reasons.messages(mask, Names.of(names.categories, int(catalog.category[row])),
                                        Names.of(names.brands, int(catalog.brand[row])),
                                        _anchor_name(catalog, anchor) if mask & reasons.ANCHORED else "", *label))
        else:
            out.append(reasons.messages(mask, "", "", "", *label))
    return out


def _anchor_name(catalog: Catalog, row: int) -> str:
    """How a complement's reason names the item it goes with: its title, else its id."""
    if row < 0:
        return ""
    title = bytes(catalog.titles[row]).decode("utf-8", errors="replace") if len(catalog.titles) else ""
    return title or catalog.item_id(row)



"""Response encoding: `Ranked` arrays -> ScoredItem messages.

The one per-item loop of a request is here, because each item is a protobuf message;
reasons are shared Reason lists, one per distinct mask (server/reasons.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from server import reasons
from server.ranking import Ranked
from server.snapshot import Catalog, Names

__all__ = ["fill_items"]


def fill_items(items: object, catalog: Catalog, ranked: Ranked, candidate_ids: Sequence[str] = (),
               names: Names | None = None) -> None:
    """Append one ScoredItem per ranked entry to the repeated field `items`; Rerank answers with the
    caller's own ids (unknown candidates have no catalog row). Reasons that name the item's brand or
    category (reasons.NAMED) take the names from `names`."""
    add = items.add  # type: ignore[attr-defined]
    if ranked.positions is not None:
        ids = [candidate_ids[i] for i in ranked.positions.tolist()]
    else:
        ids = [catalog.item_id(row) for row in ranked.rows.tolist()]
    masks = ranked.reasons.tolist()
    for i, (item_id, score, mask) in enumerate(zip(ids, ranked.scores.tolist(), masks, strict=True)):
        if mask & reasons.NAMED and names is not None:
            row = int(ranked.rows[i])
            found = reasons.messages(mask, _name(names.categories, int(catalog.category[row])),
                                     _name(names.brands, int(catalog.brand[row])))
        else:
            found = reasons.messages(mask)
        add(item_id=item_id, score=score, reasons=found)


def _name(names: tuple[str, ...], code: int) -> str:
    return names[code] if 0 <= code < len(names) else ""

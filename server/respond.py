"""Response encoding: `Ranked` arrays -> ScoredItem messages.

The one per-item loop of a request is here, because each item is a protobuf message;
reasons are shared Reason lists, one per distinct mask (server/reasons.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from server import reasons
from server.ranking import Ranked
from server.snapshot import Catalog

__all__ = ["fill_items"]


def fill_items(items: object, catalog: Catalog, ranked: Ranked, candidate_ids: Sequence[str] = ()) -> None:
    """Append one ScoredItem per ranked entry to the repeated field `items`; Rerank answers with the
    caller's own ids (unknown candidates have no catalog row)."""
    add = items.add  # type: ignore[attr-defined]
    if ranked.positions is not None:
        ids = [candidate_ids[i] for i in ranked.positions.tolist()]
    else:
        ids = [catalog.item_id(row) for row in ranked.rows.tolist()]
    for item_id, score, mask in zip(ids, ranked.scores.tolist(), ranked.reasons.tolist(), strict=True):
        add(item_id=item_id, score=score, reasons=reasons.messages(mask))

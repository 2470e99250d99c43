"""LiveStore.trending after months without events: the items still come back heaviest first (the shared
decay's underflow shift, protos/decay.py), not tied at weight 0 and ordered by id."""

from __future__ import annotations

from pathlib import Path

from protos.live import LiveEvent
from server.live.store import LiveStore

_THEN = 1_700_000_000_000
_YEAR_LATER = _THEN + 365 * 86_400_000


def _event(event_id: str, item: str, kind: int) -> LiveEvent:
    return LiveEvent(event_id, _THEN, "", "s", item, kind, 1.0, 0.0, 1)


def test_trending_a_year_later_still_ranks_by_weight(tmp_path: Path) -> None:
    store = LiveStore(tmp_path)
    try:
        store.commit([[_event("a", "hot", kind=3), _event("b", "hot", kind=3), _event("c", "zzz", kind=1)]])
        assert store.trending(_THEN, 10)[0] == ["hot", "zzz"]
        assert store.trending(_YEAR_LATER, 10)[0] == ["hot", "zzz"]  # at weight 0 both, "zzz" came first
    finally:
        store.close()

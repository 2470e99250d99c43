"""LiveStore in process: a group commit answers each batch on its own, overlays name items by code and
a reader learns new codes' names, and the compact OVERLAY entries keep the newest OVERLAY_LIMIT."""

from __future__ import annotations

from pathlib import Path

from protos import live
from protos.live import LiveEvent
from server.live.store import LiveStore, Stored

_NOW = 1_700_000_000_000


def _event(event_id: str, item: str, user: str = "", session: str = "s", kind: int = 1, at: int = _NOW) -> LiveEvent:
    return LiveEvent(event_id, at, user, session, item, kind, 1.0, 0.0, 1)


def test_a_group_commit_answers_each_batch_as_if_it_were_alone(tmp_path: Path) -> None:
    store = LiveStore(tmp_path)
    try:
        store.forget("gone")
        first = [_event("a", "i1", "u1"), _event("b", "i2", "u1")]
        retried = [_event("a", "i1", "u1"), _event("c", "i3", "u2")]  # "a" is in the batch before it
        of_forgotten = [_event("d", "i1", "gone"), _event("e", "i1", "", "s-anon")]
        assert store.commit([first, retried, of_forgotten]) == [Stored(2, 0, 0), Stored(1, 1, 0), Stored(1, 0, 1)]
        assert store.event_ids() == {"a", "b", "c", "e"}
        user, _ = store.overlay("u1")
        assert user.item_ids() == ("i1", "i2")
        seq_of = {item: int(seq) for item, seq in zip(user.item_ids(), user.entries["seq"], strict=True)}
        assert store.overlay("u2")[0].item_ids() == ("i3",)
        # Each batch kept its own sequence number: a build that folded the first one hides only it.
        assert store.overlay("u2", after_seq=seq_of["i1"])[0].item_ids() == ("i3",)
        assert store.overlay("u1", after_seq=seq_of["i1"])[0].item_ids() == ()
    finally:
        store.close()


def test_a_reader_learns_the_names_of_item_codes_given_after_its_last_read(tmp_path: Path) -> None:
    """A worker's code -> id cache grows as overlays name new codes (the writer never fills it: another
    process's store, in a multi-worker server, is this one's)."""
    store = LiveStore(tmp_path)
    try:
        store.commit([[_event("a", "item-a", "u1", "s1"), _event("b", "item-b", "u1", "s1")]])
        assert store.overlay("u1", "s1")[0].item_ids() == ("item-a", "item-b")
        store.commit([[_event("c", "item-c", "u1", "s2"), _event("d", "item-a", "", "s2")]])
        user, session = store.overlay("u1", "s2")
        assert user.item_ids() == ("item-a", "item-b", "item-c") and session.item_ids() == ("item-c", "item-a")
    finally:
        store.close()


def test_an_overlay_keeps_its_newest_entries_in_one_small_record(tmp_path: Path) -> None:
    store = LiveStore(tmp_path)
    try:
        for batch in range(5):
            store.commit([[_event(f"e{batch}-{k}", f"i{k % 7}", "u1", at=_NOW + batch * 100 + k) for k in range(60)]])
        user, _ = store.overlay("u1")
        assert len(user) == live.OVERLAY_LIMIT
        assert user.entries["timestamp_ms"][-1] == _NOW + 4 * 100 + 59
        assert live.OVERLAY_LIMIT * live.ENTRY.itemsize <= 4000  # one LMDB overflow page per full record
    finally:
        store.close()


def test_trending_weights_may_wait_in_memory_until_flushed(tmp_path: Path) -> None:
    store = LiveStore(tmp_path, trend_every=3600.0)
    try:
        store.commit([[_event("a", "hot", kind=3), _event("b", "hot"), _event("c", "cold")]])
        assert store.trending(_NOW, 10) == {}  # committed events, weights still in memory
        store.commit([[_event("d", "cold")]])
        store.flush_trends()
        assert store.trending(_NOW, 10)[0] == ["hot", "cold"]  # 5 + 1 against 1 + 1: both commits counted
    finally:
        store.close()


def test_forget_takes_the_user_and_their_sessions_out_of_the_overlay_log(tmp_path: Path) -> None:
    """Nothing of a forgotten user stays in the log a restarted worker replays; another user's entry in
    one of their sessions stays that user's only."""
    store = LiveStore(tmp_path)
    try:
        store.commit([[_event("a", "i1", "gone", "s-gone"), _event("b", "i2", "", "s-gone"),
                       _event("c", "i3", "other", "s-gone"), _event("d", "i4", "other", "s-other")]])
        assert len(store.overlay("gone", "s-gone")[1]) == 3
        store.forget("gone")
        user, session = store.overlay("gone", "s-gone")
        assert user.forgotten and len(session) == 0
        assert store.overlay("other")[0].item_ids() == ("i3", "i4")
    finally:
        store.close()
    env = live.open_live(tmp_path, readonly=True)
    try:
        with env.begin() as txn:
            records = [bytes(v) for _, v in txn.cursor(db=env.open_db(live.DB_LOG, txn=txn)).iternext()]
    finally:
        env.close()
    assert live.log_forget(records[-1]) == (b"gone", [b"s-gone"])  # ids only: every worker drops those overlays
    assert not any(b"gone" in r for r in records[:-1])  # no entry of them or of their session
    restarted = LiveStore(tmp_path)  # a new process replays the log from the start
    try:
        assert len(restarted.overlay("", "s-gone")[1]) == 0
        assert restarted.overlay("other", "s-other")[0].item_ids() == ("i3", "i4")
        assert restarted.overlay("other", "s-other")[1].item_ids() == ("i4",)
    finally:
        restarted.close()


def test_a_version_that_folded_less_than_memory_holds_gets_its_entries_back(tmp_path: Path) -> None:
    """Memory starts at the first version's live_seq; a request served by an older version (one that
    folded less, as in a rollback) replays from that version's sequence."""
    store = LiveStore(tmp_path)
    try:
        store.commit([[_event("a", "i1", "u1")]])
        store.commit([[_event("b", "i2", "u1")]])
        assert store.overlay("u1", after_seq=1)[0].item_ids() == ("i2",)
        assert store.overlay("u1", after_seq=0)[0].item_ids() == ("i1", "i2")
        assert store.overlay("u1", after_seq=2)[0].item_ids() == ()
    finally:
        store.close()


def test_follow_replays_the_log_without_a_request(tmp_path: Path) -> None:
    store = LiveStore(tmp_path)
    try:
        store.commit([[_event("a", "i1", "u1")]])
        store.follow(0)  # what a worker's follower thread does every FOLLOW_SECONDS
        store.commit([[_event("b", "i2", "u1")]])
        store.follow(0)
        assert store.overlay("u1")[0].item_ids() == ("i1", "i2")
    finally:
        store.close()


def test_what_the_current_version_folded_leaves_memory_and_an_older_version_replays_it(tmp_path: Path) -> None:
    store = LiveStore(tmp_path, trim_after=0.0)
    try:
        store.commit([[_event("a", "i1", "u1", "s1")]])
        store.commit([[_event("b", "i2", "u1", "s1")]])
        store.follow(0)
        store.follow(1)  # a version that folded batch 1 is current: its entries leave memory
        assert store.overlay("u1", "s1", after_seq=1)[0].item_ids() == ("i2",)
        assert store.overlay("u1", "s1", after_seq=0)[1].item_ids() == ("i1", "i2")  # a rollback replays
        store.follow(2)
        assert [len(o) for o in store.overlay("u1", "s1", after_seq=2)] == [0, 0]
    finally:
        store.close()

"""Split builder-format events into a train part (a directory `tailor build` reads) and held-out truth.

  random       per user, a seeded 75/25 random split exactly as the reference protocol draws it:
               `np.random.default_rng(seed).random(rows)`, one draw per event row in file order,
               a row is train when its per-user percentile rank of the draw is <= 0.75
  time         per user, the last 25 % of interactions by time (ties in file order) are test
  last-basket  per user with at least two sessions, the last basket is test: when the log has
               purchases, the user's last session with a purchase — its purchased items are the
               truth, and that session and everything the user did after it leave train; without
               purchases (MovieLens: all views), the user's last session and all its items
  session      a seeded SESSION_SHARE of the sessions (`session_id`) with at least 3 events on at least
               2 distinct items, of users and anonymous visitors alike (`default_rng(seed).permutation`
               of those sessions in order of first appearance, the first round(SESSION_SHARE x n)): every
               event of a held-out session leaves train. Its truth is its last item (the item of its last
               event by time, ties in file order); the request is the session's other events, oldest
               first, types kept (every event on the last item is left out, so nothing gives it away;
               the newest MAX_SESSION of them, the API's limit), sent anonymously (no user_id) as of
               the last event. MovieLens sessions are user-days. test_events counts every held-out event.

  cold-items   new products: a seeded COLD_SHARE of the catalog items (`np.random.default_rng(seed)`,
               one draw per item in order of first appearance in the events) lose every interaction,
               anonymous ones too; they stay in items.csv, so the build sees them as cold items with
               content vectors only. Test users are the users who touched a held-out item; their truth
               is those items. run.py then asks Tailor to Rerank all held-out items per user (cold.py),
               so the score measures how well content vectors order new products

Anonymous events (empty user_id) stay in train except in held-out sessions and on cold-items'
held-out items. Truth is user id (session: session id) -> set of test item ids; users without test
events are not evaluated.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from index_builder.config import BuildConfig
from index_builder.inputs.coded import derived_sessions
from index_builder.inputs.tables import find_input, parse_timestamps
from index_builder.ranker import cut

__all__ = ["MAX_SESSION", "SESSION_SHARE", "COLD_SHARE", "SPLITS", "TRAIN_SHARE", "Split", "read_events",
           "split_events", "write_train"]

SPLITS = ("random", "time", "last-basket", "session", "cold-items")
TRAIN_SHARE = 0.75
SESSION_SHARE = 0.15
COLD_SHARE = 0.10
MAX_SESSION = 100  # interactions a request's session may hold (protos/decision.proto)


@dataclass(frozen=True)
class Split:
    """One split of an event log: the train rows and, per evaluated user, the test item ids."""

    kind: str
    train: pa.Table
    truth: dict[str, set[str]]
    test_events: int
    # last-basket: per evaluated user, when their basket began (ms since the epoch): the moment Tailor
    # is asked about (Context.time_ms), so time-dependent steps see what the shopper saw.
    as_of: dict[str, int] = field(default_factory=dict)
    # session: per held-out session id, the request's session [(item_id, type)], oldest first.
    sessions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def read_events(data_dir: Path) -> pa.Table:
    """The events table as written (CSV cells kept as text, so the train file is the same rows unchanged)."""
    path = find_input(data_dir, "events")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False))


def split_events(events: pa.Table, kind: str, seed: int = 42) -> Split:
    """Split `events` per user (session: per session); see the module docstring for the kinds."""
    if kind not in SPLITS:
        raise ValueError(f"split: must be one of {', '.join(SPLITS)}, got {kind!r}")
    if kind == "session":
        return _held_out_sessions(events, seed)
    user, known = _user_codes(events)
    if kind == "random":
        draws = np.random.default_rng(seed).random(events.num_rows)
        test = cut.tail_share(user, draws, TRAIN_SHARE) & known
    elif kind == "time":
        test = cut.tail_share(user, _seconds(events).astype(np.float64), TRAIN_SHARE) & known
    if kind == "cold-items":
        return _cold_items(events, known, seed)
    as_of: dict[str, int] = {}
    if kind == "last-basket":
        test, truth_rows, basket = _last_basket(events, user)
        test, truth_rows, basket = test & known, truth_rows & known, basket & known
        for u, ms in zip(events["user_id"].filter(pa.array(basket)).to_pylist(), _seconds(events)[basket].tolist(),
                         strict=True):
            as_of[u] = min(ms, as_of.get(u, ms))
    rows = np.flatnonzero(truth_rows if kind == "last-basket" else test)
    truth: dict[str, set[str]] = {}
    for u, i in zip(events["user_id"].take(rows).to_pylist(), events["item_id"].take(rows).to_pylist(), strict=True):
        truth.setdefault(u, set()).add(i)
    return Split(kind, events.filter(pa.array(~test)), truth, len(rows), as_of)


def write_train(data_dir: Path, split: Split, out_dir: Path) -> Path:
    """`out_dir` with the train events and the unchanged items and users files; returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("items", "users"):
        source = find_input(data_dir, name)
        shutil.copyfile(source, out_dir / source.name)
    pacsv.write_csv(split.train, out_dir / "events.csv")
    return out_dir


def _user_codes(events: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Per row: a code per user id, and whether the row has a user (anonymous rows are never test)."""
    users = pc.cast(events["user_id"], pa.string())
    codes = pc.dictionary_encode(users).combine_chunks().indices.to_numpy().astype(np.int64)
    known = pc.greater(pc.utf8_length(pc.fill_null(users, "")), 0).to_numpy(zero_copy_only=False)
    return codes, known


def _seconds(events: pa.Table) -> np.ndarray:
    """Per row, ms since the epoch, parsed as the builder parses `ts` (ISO-8601 with a zone, epoch s or ms)."""
    ts = parse_timestamps(Path("events"), events["ts"], "ts", None)
    return pc.cast(ts, pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()


def _session_codes(events: pa.Table, user: np.ndarray, known: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Per row, a session code as the builder assigns it: the session_id where given, else derived per user
    after session_gap_minutes without events (anonymous events: one session each)."""
    ids = pc.fill_null(pc.cast(events["session_id"], pa.string()), "") if "session_id" in events.column_names \
        else pa.chunked_array([pa.repeat(pa.scalar(""), events.num_rows)])
    encoded = pc.dictionary_encode(ids).combine_chunks()
    codes = encoded.indices.to_numpy().astype(np.int64)
    missing = np.flatnonzero(pc.equal(ids, "").to_numpy(zero_copy_only=False))
    if len(missing):
        gap_ms = round(BuildConfig.session_gap_minutes * 60_000)
        owner = np.where(known, user, -1)[missing]
        codes[missing] = len(encoded.dictionary) + derived_sessions(owner, seconds[missing], gap_ms)
    return codes


def _purchases(events: pa.Table) -> np.ndarray:
    if "type" not in events.column_names:
        return np.zeros(events.num_rows, dtype=bool)
    return pc.equal(pc.cast(events["type"], pa.string()), "purchase").to_numpy(zero_copy_only=False)


def _last_basket(events: pa.Table, user: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows out of train, rows whose items are the truth, rows of the basket's session) for each user's
    last basket; see the module docstring."""
    if not len(user):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    seconds = _seconds(events)
    session = _session_codes(events, user, _user_codes(events)[1], seconds)
    return cut.last_basket(user, session, seconds, _purchases(events))


def _held_out_sessions(events: pa.Table, seed: int) -> Split:
    """The session split; see the module docstring."""
    if "session_id" not in events.column_names:
        raise ValueError("split session: the events have no session_id column")
    ids = pc.fill_null(pc.cast(events["session_id"], pa.string()), "")
    session = pc.dictionary_encode(ids).combine_chunks()
    code = session.indices.to_numpy().astype(np.int64)
    item = pc.dictionary_encode(pc.cast(events["item_id"], pa.string())).combine_chunks().indices.to_numpy()
    n_sessions, n_items = len(session.dictionary), int(item.max(initial=0)) + 1
    distinct = np.bincount(np.unique(code * n_items + item) // n_items, minlength=n_sessions)
    named = pc.greater(pc.utf8_length(session.dictionary), 0).to_numpy(zero_copy_only=False)
    eligible = np.flatnonzero(named & (np.bincount(code, minlength=n_sessions) >= 3) & (distinct >= 2))
    chosen = np.random.default_rng(seed).permutation(eligible)[:round(SESSION_SHARE * len(eligible))]
    held = np.zeros(n_sessions, dtype=bool)
    held[chosen] = True
    seconds = _seconds(events)
    order = np.lexsort((np.arange(len(code)), seconds, code))
    order = order[held[code[order]]]
    last = np.full(n_sessions, -1, dtype=np.int64)
    last[code[order]] = order  # later rows overwrite earlier ones: each session's last event wins
    prompt = order[item[order] != item[last[code[order]]]]
    types = events["type"].to_pylist() if "type" in events.column_names else ["view"] * len(code)
    item_ids, names = events["item_id"].to_pylist(), session.dictionary.to_pylist()
    sessions: dict[str, list[tuple[str, str]]] = {names[s]: [] for s in sorted(chosen)}
    for row in prompt.tolist():
        sessions[names[code[row]]].append((item_ids[row], types[row]))
    sessions = {s: events_[-MAX_SESSION:] for s, events_ in sessions.items()}
    truth = {names[s]: {item_ids[last[s]]} for s in sorted(chosen)}
    as_of = {names[s]: int(seconds[last[s]]) for s in sorted(chosen)}
    out = held[code]
    return Split("session", events.filter(pa.array(~out)), truth, int(out.sum()), as_of, sessions)


def _cold_items(events: pa.Table, known: np.ndarray, seed: int) -> Split:
    """Every event of a seeded COLD_SHARE of the items leaves train; users' events on them are the truth."""
    items = pc.dictionary_encode(pc.cast(events["item_id"], pa.string())).combine_chunks()
    held = np.random.default_rng(seed).random(len(items.dictionary)) < COLD_SHARE
    out = held[items.indices.to_numpy().astype(np.int64)] if len(items.dictionary) else np.zeros(0, dtype=bool)
    rows = np.flatnonzero(out & known)
    truth: dict[str, set[str]] = {}
    for u, i in zip(events["user_id"].take(rows).to_pylist(), events["item_id"].take(rows).to_pylist(), strict=True):
        truth.setdefault(u, set()).add(i)
    return Split("cold-items", events.filter(pa.array(~out)), truth, len(rows))

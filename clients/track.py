"""`tailor track FILE`: send a file of events to the Events service in batches, with progress and a summary.

  tailor track FILE [--target HOST:PORT] [--batch 500] [--quiet] [--token-file FILE] [--timeout S]
                    [--request-id ID]

FILE is CSV in the events.csv layout (event_id, ts, user_id, session_id, item_id, type, qty, price,
channel; README "Input files") or JSON lines with the same keys (`.jsonl` / `.ndjson`; `timestamp_ms`
may replace `ts`). An optional `request_id` column (key) names the Recommend/Rerank answer that led to
the event, for `tailor experiments report`. `ts` is ISO-8601 with a zone, or epoch seconds or
milliseconds. A row the client cannot read (no event id, an unparsable time, an unknown type) is
reported with its line and not sent; the server checks the rest event by event. Re-running the same
file is safe: events already stored come back as duplicates. The token file (or
$TAILOR_WRITE_TOKEN_FILE) holds the server's write token when it has one. `--request-id ID` is sent
with batch k as `ID-k` (k from 1), so every call of the run can be told apart in the server's log.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from tqdm import tqdm

from clients.client import TailorClient, read_token_file
from clients.errors import Overloaded, TailorClientError, describe
from clients.flags import add_call_flags, add_output_flags, add_token_file_flag
from protos import decision_pb2 as pb
from protos.enums import CHANNELS, INTERACTION_TYPES

__all__ = ["main", "parser", "read_events"]

# word -> enum value, from the generated code (protos/enums.py)
_TYPES = {word: cast(pb.InteractionType, value) for value, word in enumerate(INTERACTION_TYPES) if value}
_CHANNELS = {word: cast(pb.Channel, value) for value, word in enumerate(CHANNELS) if value}
_EPOCH_MS_FROM = 10**11  # as the builder: integers below this are epoch seconds


def _millis(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        value = int(text)
        return value * 1000 if abs(value) < _EPOCH_MS_FROM else value
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return round(moment.timestamp() * 1000)


def _event(row: dict[str, object]) -> pb.Event:
    def text(key: str) -> str:
        value = row.get(key)
        return "" if value is None else str(value)

    kind = text("type").strip().lower()
    if kind not in _TYPES:
        raise ValueError(f"type: must be one of {', '.join(_TYPES)}, got {kind!r}")
    channel = text("channel").strip().lower()
    return pb.Event(event_id=text("event_id"), timestamp_ms=_millis(text("ts") or text("timestamp_ms")),
                    user_id=text("user_id"), session_id=text("session_id"), item_id=text("item_id"),
                    type=_TYPES[kind], qty=float(text("qty") or 0), price=float(text("price") or 0),
                    channel=_CHANNELS.get(channel, pb.CHANNEL_UNSPECIFIED), request_id=text("request_id"))


def _rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix in (".jsonl", ".ndjson"):
            for line, raw in enumerate(f, 1):
                if raw.strip():
                    yield line, json.loads(raw)
        else:
            for line, row in enumerate(csv.DictReader(f), 2):
                yield line, dict(row)


def read_events(path: Path) -> Iterator[tuple[int, pb.Event | str]]:
    """(line, event) per row, or (line, the reason it cannot be read)."""
    for line, row in _rows(path):
        try:
            yield line, _event(row)
        except (ValueError, TypeError) as exc:
            yield line, str(exc)


def _patiently(client: TailorClient, events: list[pb.Event], request_id: str,
               attempts: int = 8) -> pb.TrackEventsResponse:
    """track(), backing off while the server is busy with other writes (the same event ids: no double count)."""
    for attempt in range(attempts - 1):
        try:
            return client.track(events, request_id=request_id)
        except Overloaded:
            time.sleep(0.5 * 2**attempt)  # a back-off between attempts, not a synchronisation
    return client.track(events, request_id=request_id)


def _send(client: TailorClient, path: Path, batch: int, quiet: bool, request_id: str) -> Counter[str]:
    totals: Counter[str] = Counter()
    pending: list[tuple[int, pb.Event]] = []
    calls = 0

    def flush() -> None:
        nonlocal calls
        calls += 1
        answer = _patiently(client, [e for _, e in pending], f"{request_id}-{calls}" if request_id else "")
        totals.update(accepted=answer.accepted, duplicates=answer.duplicates, not_stored=answer.not_stored)
        for r in answer.rejected:
            totals[f"rejected {r.field}: {r.reason}"] += 1
            print(f"line {pending[r.index][0]}: rejected: {r.field}: {r.reason}", file=sys.stderr)
        pending.clear()

    for line, read in tqdm(read_events(path), desc="events", unit="event", disable=quiet, mininterval=1.0):
        if isinstance(read, str):
            totals[f"unreadable: {read.split(':')[0]}"] += 1
            print(f"line {line}: not sent: {read}", file=sys.stderr)
            continue
        pending.append((line, read))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return totals


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor track", description="Send a file of events to TrackEvents.")
    p.add_argument("command", help=argparse.SUPPRESS)
    p.add_argument("file", type=Path, help="events as CSV (events.csv layout) or JSON lines")
    p.add_argument("--batch", type=int, default=500, help="events per call (at most 1000)")
    add_token_file_flag(p)
    add_call_flags(p, timeout=30.0)
    add_output_flags(p)
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    if not 1 <= args.batch <= 1000:
        print("tailor track: error: --batch must be 1..1000", file=sys.stderr)
        return 2
    try:
        token = read_token_file(args.token_file)
        with TailorClient(args.target, timeout=args.timeout, write_token=token) as client:
            totals = _send(client, args.file, args.batch, args.quiet, args.request_id)
    except TailorClientError as exc:
        print(f"tailor track: error: {describe(exc, args.target)}", file=sys.stderr)
        return 2
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        print(f"tailor track: error: {exc}", file=sys.stderr)
        return 2
    problems = {k: v for k, v in totals.items() if k.startswith(("rejected", "unreadable"))}
    print(f"accepted {totals['accepted']}, duplicates {totals['duplicates']}, not stored (no consent or forgotten) "
          f"{totals['not_stored']}, rejected {sum(problems.values())}")
    for reason, count in sorted(problems.items(), key=lambda kv: -kv[1]):
        print(f"  {count:>8}  {reason}")
    return 1 if problems else 0

"""Impression files: what each answer of an experiment held, for attributing outcomes to variants.

Written by the server (server/experiments/impressions.py: one file per worker process, appended about once a
second, a new file every hour), read by `tailor experiments report` (loadtests/quality/experiments.py).

ROOT/live/impressions/
  <experiment>.<started_ms>.<pid>.imp
    HEADER   MAGIC, then one JSON line: {"experiment": name, "variants": [{"name", "share", "popular"}...],
             "started_ms": ms, "version": 2}; the variants in config order (the report's control is the one
             named `control`, else the first)
    RECORD*  struct <IqBBHH (record length in bytes including this header, time_ms the answer was given,
             request_id length, variant index into the header's variants, item count, unit bucket), the
             request_id's UTF-8 bytes, then the item ids in answer order joined by b"\\n" (ids never hold
             whitespace). Version 1 records have no unit bucket (struct <IqBBH); they read as unit -1.

No user id or any other personal data is written: a record is keyed by the caller's request_id. The
unit bucket is one of UNIT_BUCKETS buckets the assignment's unit (the shopper) hashes to, so that the
report can treat one shopper's lists as the correlated sample they are; a bucket is shared by one
shopper in 4,096, it names nobody. NO_UNIT (0xFFFF): not known. A file cut short (a worker killed
mid-write) ends at its last whole record.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["IMPRESSIONS_DIR", "MAGIC", "NO_UNIT", "SUFFIX", "UNIT_BUCKETS", "Impression", "file_header",
           "file_name", "pack_impression", "read_impressions"]

IMPRESSIONS_DIR = "impressions"  # under ROOT/live
MAGIC = b"TAILOR-IMPRESSIONS\n"
SUFFIX = ".imp"
VERSION = 2
UNIT_BUCKETS = 4096
NO_UNIT = 0xFFFF
_RECORDS = {1: struct.Struct("<IqBBH"), 2: struct.Struct("<IqBBHH")}
_RECORD = _RECORDS[VERSION]


@dataclass(frozen=True, slots=True)
class Impression:
    request_id: str
    variant: int
    time_ms: int
    item_ids: tuple[str, ...]
    unit: int = -1  # the unit bucket, in [0, UNIT_BUCKETS); -1: not known


def file_name(experiment: str, started_ms: int, pid: int) -> str:
    return f"{experiment}.{started_ms}.{pid}{SUFFIX}"


def file_header(experiment: str, variants: Sequence[dict[str, Any]], started_ms: int) -> bytes:
    meta = {"experiment": experiment, "variants": list(variants), "started_ms": started_ms, "version": VERSION}
    return MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n"


def pack_impression(time_ms: int, request_id: str, variant: int, item_ids: Sequence[str],
                    unit: int = NO_UNIT) -> bytes:
    """One RECORD: a few byte joins, no per-item packing. `unit`: the unit bucket, or NO_UNIT."""
    rid = request_id.encode()
    items = "\n".join(item_ids).encode()
    return _RECORD.pack(_RECORD.size + len(rid) + len(items), time_ms, len(rid), variant, len(item_ids),
                        unit) + rid + items


def _header(data: bytes, path: Path) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not an impressions file")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError(f"{path}: header cut short")
    meta = json.loads(data[len(MAGIC):end])
    if not isinstance(meta, dict) or meta.get("version") not in _RECORDS:
        raise ValueError(f"{path}: unknown impressions version")
    return meta, end + 1


def read_impressions(path: Path, header_only: bool = False) -> tuple[dict[str, Any], Iterator[Impression]]:
    """The file's header and its records in write order; raises ValueError for a file that is not one."""
    if header_only:
        with path.open("rb") as f:
            data = f.read(64 * 1024)
    else:
        data = path.read_bytes()
    meta, at = _header(data, path)
    record = _RECORDS[meta["version"]]

    def records() -> Iterator[Impression]:
        offset = at
        while offset + record.size <= len(data):
            size, time_ms, n_rid, variant, count, *bucket = record.unpack_from(data, offset)
            if size < record.size + n_rid or offset + size > len(data):
                return  # cut short: the last whole record was the end
            body = offset + record.size
            rid = data[body:body + n_rid].decode()
            items = data[body + n_rid:offset + size].decode()
            unit = bucket[0] if bucket and bucket[0] < UNIT_BUCKETS else -1
            yield Impression(rid, variant, time_ms, tuple(items.split("\n")) if count else (), unit)
            offset += size

    return meta, records()

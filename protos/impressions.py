"""Impression files: what each answer of an experiment held, for attributing outcomes to variants.

Written by the server (server/impressions.py: one file per worker process, appended about once a
second, a new file every hour), read by `tailor experiments report` (loadtests/experiments.py).

ROOT/live/impressions/
  <experiment>.<started_ms>.<pid>.imp
    HEADER   MAGIC, then one JSON line: {"experiment": name, "variants": [{"name", "share", "popular"}...],
             "started_ms": ms, "version": 1}; the variants in config order (the report's control is the one
             named `control`, else the first)
    RECORD*  struct <IqBBH (record length in bytes including this header, time_ms the answer was given,
             request_id length, variant index into the header's variants, item count), the request_id's
             UTF-8 bytes, then the item ids in answer order joined by b"\\n" (ids never hold whitespace)

No user id or any other personal data is written: a record is keyed by the caller's request_id. A file
cut short (a worker killed mid-write) ends at its last whole record.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["IMPRESSIONS_DIR", "MAGIC", "SUFFIX", "Impression", "file_header", "file_name", "pack_impression",
           "read_impressions"]

IMPRESSIONS_DIR = "impressions"  # under ROOT/live
MAGIC = b"TAILOR-IMPRESSIONS\n"
SUFFIX = ".imp"
VERSION = 1
_RECORD = struct.Struct("<IqBBH")


@dataclass(frozen=True, slots=True)
class Impression:
    request_id: str
    variant: int
    time_ms: int
    item_ids: tuple[str, ...]


def file_name(experiment: str, started_ms: int, pid: int) -> str:
    return f"{experiment}.{started_ms}.{pid}{SUFFIX}"


def file_header(experiment: str, variants: Sequence[dict[str, Any]], started_ms: int) -> bytes:
    meta = {"experiment": experiment, "variants": list(variants), "started_ms": started_ms, "version": VERSION}
    return MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n"


def pack_impression(time_ms: int, request_id: str, variant: int, item_ids: Sequence[str]) -> bytes:
    """One RECORD: a few byte joins, no per-item packing."""
    rid = request_id.encode()
    items = "\n".join(item_ids).encode()
    return _RECORD.pack(_RECORD.size + len(rid) + len(items), time_ms, len(rid), variant, len(item_ids)) + rid + items


def _header(data: bytes, path: Path) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not an impressions file")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError(f"{path}: header cut short")
    meta = json.loads(data[len(MAGIC):end])
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
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

    def records() -> Iterator[Impression]:
        offset = at
        while offset + _RECORD.size <= len(data):
            size, time_ms, n_rid, variant, count = _RECORD.unpack_from(data, offset)
            if size < _RECORD.size + n_rid or offset + size > len(data):
                return  # cut short: the last whole record was the end
            body = offset + _RECORD.size
            rid = data[body:body + n_rid].decode()
            items = data[body + n_rid:offset + size].decode()
            yield Impression(rid, variant, time_ms, tuple(items.split("\n")) if count else ())
            offset += size

    return meta, records()

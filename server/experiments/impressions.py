"""ImpressionLog: each worker's append-only record of what its answers held (protos/impressions.py).

Nothing touches the disk on the request path: `add` packs one record into a buffer under a lock held for
a list append; a background thread writes the buffer to the worker's own file about once a second
(no fsync: a crashed worker loses at most its last second of impressions, which only thins the
experiment's sample), and `close` writes the rest at shutdown. A new file is started every hour so old
ones can be deleted while the server runs. A write that fails (disk full) drops that batch, is logged,
and is counted (tailor_impressions_total{outcome="dropped"}); answers never fail for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from protos import impressions
from protos.live import LIVE_DIR

if TYPE_CHECKING:
    from server.experiments.arms import Experiment

__all__ = ["ImpressionLog"]

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class ImpressionLog:
    def __init__(self, root: Path, experiment: Experiment, metrics: Any, flush_seconds: float = 1.0,
                 rotate_seconds: float = 3600.0) -> None:
        self._dir = root / LIVE_DIR / impressions.IMPRESSIONS_DIR
        self._experiment = experiment
        self._metrics = metrics
        self._flush_seconds = flush_seconds
        self._rotate_seconds = rotate_seconds
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._opened = 0.0
        self._failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="impressions", daemon=True)
        self._thread.start()

    def add(self, request_id: str, variant: int, item_ids: Sequence[str], unit: int = impressions.NO_UNIT) -> None:
        record = impressions.pack_impression(_now_ms(), request_id, variant, item_ids, unit)
        with self._lock:
            self._pending.append(record)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def _open(self) -> IO[bytes]:
        if self._file is not None and time.monotonic() - self._opened < self._rotate_seconds:
            return self._file
        if self._file is not None:
            self._file.close()
        self._dir.mkdir(parents=True, exist_ok=True)
        started = _now_ms()
        while True:  # a new file, never one already written (two opened in one millisecond)
            path = self._dir / impressions.file_name(self._experiment.name, started, os.getpid())
            try:
                self._file = path.open("xb", buffering=0)
                break
            except FileExistsError:
                started += 1
        variants = [{"name": v.name, "share": v.share, "popular": v.popular} for v in self._experiment.variants]
        self._file.write(impressions.file_header(self._experiment.name, variants, started))
        self._opened = time.monotonic()
        log.info("impressions_file_opened experiment=%s file=%s", self._experiment.name, path.name)
        return self._file

    def flush(self) -> int:
        """Write what is buffered; returns how many records were written."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            self._open().write(b"".join(batch))
        except OSError as exc:
            self._metrics.impressions.labels("dropped").inc(len(batch))
            if not self._failing:
                log.error("impressions_write_failed dir=%s records=%d error=%s", self._dir, len(batch), exc)
            self._failing = True
            return 0
        self._failing = False
        self._metrics.impressions.labels("written").inc(len(batch))
        return len(batch)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

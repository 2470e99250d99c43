"""Test support: read a demo store back and add shoppers with known tastes."""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from server.live.writer import PROCESS_NAME
from tests.waiting import WaitTimeout, wait_until

LOYAL_USER = "u_loyal_shopper"
NO_CONSENT_USER = "u_no_consent"
# Restock the same coffee every 20 days: one last bought it two months before the log ends (due),
# one on its last day (just bought), and a third so the builder has repeat buyers enough for a cycle.
RESTOCK_DUE_USER = "u_restock_due"
RESTOCK_FRESH_USER = "u_restock_fresh"
_RESTOCK_DAYS = {RESTOCK_DUE_USER: ("2026-07-01", "2026-07-21", "2026-08-10", "2026-08-30"),
                 RESTOCK_FRESH_USER: ("2026-09-20", "2026-10-10", "2026-10-30", "2026-10-31"),
                 "u_restock_other": ("2026-06-01", "2026-06-21", "2026-07-11")}


@dataclass
class Store:
    """The demo store as plain dicts, for asserting on answers."""

    category: dict[str, str] = field(default_factory=dict)
    title: dict[str, str] = field(default_factory=dict)
    brand: dict[str, str] = field(default_factory=dict)
    price: dict[str, float] = field(default_factory=dict)
    in_stock: dict[str, bool] = field(default_factory=dict)
    purchased: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    touched: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # any event of the user's
    consent: dict[str, bool] = field(default_factory=dict)

    def items_in(self, category: str) -> list[str]:
        return [i for i, c in self.category.items() if c == category]


def read_store(data: Path) -> Store:
    store = Store()
    with (data / "items.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            store.category[row["item_id"]] = row["category"]
            store.title[row["item_id"]] = row["title"]
            store.brand[row["item_id"]] = row["brand"]
            store.price[row["item_id"]] = float(row["price"])
            store.in_stock[row["item_id"]] = row["in_stock"] == "true"
    with (data / "users.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            store.consent[row["user_id"]] = row["consent"] == "true"
    with (data / "events.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["type"] == "purchase" and row["user_id"]:
                store.purchased[row["user_id"]].add(row["item_id"])
            if row["user_id"]:
                store.touched[row["user_id"]].add(row["item_id"])
    return store


def restocked_item(store: Store) -> str:
    """The coffee the restocking shoppers of `add_known_shoppers` rebuy."""
    return next(i for i in store.items_in("coffee") if store.in_stock[i])


def add_known_shoppers(data: Path) -> str:
    """Append a shopper who bought only from one category, one without consent, and two who restock
    one coffee on a 20-day cycle (`RESTOCK_DUE_USER`, `RESTOCK_FRESH_USER`).

    Returns the loyal shopper's category (the catalog's largest, so there is plenty to recommend).
    """
    store = read_store(data)
    category = Counter(store.category.values()).most_common(1)[0][0]
    items = [i for i in store.items_in(category) if store.in_stock[i]][:12]
    with (data / "users.csv").open("a", newline="") as f:
        w = csv.writer(f)
        w.writerow([LOYAL_USER, "2026-01-05T10:00:00Z", "DE", "25-34", "true"])
        w.writerow([NO_CONSENT_USER, "2026-01-05T10:00:00Z", "FR", "35-44", "false"])
        for user in _RESTOCK_DAYS:
            w.writerow([user, "2026-01-05T10:00:00Z", "NL", "45-54", "true"])
    with (data / "events.csv").open("a", newline="") as f:
        w = csv.writer(f)
        for k, item in enumerate(items):
            for j, kind in enumerate(("view", "cart", "purchase") if k % 3 == 0 else ("view", "view")):
                for user in (LOYAL_USER, NO_CONSENT_USER):
                    ts = f"2026-10-{1 + k % 28:02d}T1{j}:00:00Z"
                    w.writerow([f"ex-{user}-{k}-{j}", ts, user, f"sx-{user}-{k}", item, kind, 1,
                                store.price[item], "web"])
        coffee = restocked_item(store)
        for user, days in _RESTOCK_DAYS.items():
            for k, day in enumerate(days):
                for j, kind in enumerate(("view", "cart", "purchase")):
                    w.writerow([f"ex-{user}-{k}-{j}", f"{day}T08:0{j}:00Z", user, f"sx-{user}-{k}", coffee, kind, 1,
                                store.price[coffee], "app"])
    return category


def publish_copy(root: Path, version: str, corrupt: str | None = None, source: str = "current") -> Path:
    """Copy ROOT/<source> to ROOT/<version> (manifest renamed) and switch `current` to it atomically.

    With `corrupt`, that file of the copy gets one byte flipped, so verification must refuse it.
    """
    import os

    from protos import artifact

    target = artifact.copy_version(root, name=version, source=source)
    if corrupt:
        with (target / corrupt).open("r+b") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 0xFF]))
    artifact.switch_current(root, target)
    return target


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # it has just exited
        return ""


class ServeProcess:
    """`tailor serve` in a subprocess on a free port; the port is read from its start-up log.

    A thread reads its stderr as it comes (a full pipe would stall the server) into `log`.
    """

    def __init__(self, root: Path, *flags: str, start_timeout: float = 120) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clients.tailor", "serve", "--artifacts", str(root), "--port", "0", *flags],
            stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read_log, name="serve-log", daemon=True)
        self._reader.start()
        try:
            started = wait_until(lambda: self.logged(r"server_started port=(\d+)") or self.proc.poll() is not None,
                                 start_timeout, lambda: "tailor serve did not start:\n" + "".join(self.log))
        except WaitTimeout:
            self._kill()
            raise
        if not isinstance(started, re.Match):
            self._kill()
            raise RuntimeError(f"tailor serve exited with {self.proc.returncode}:\n" + "".join(self.log))
        self.port = int(started.group(1))

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def _kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=10)

    def logged(self, pattern: str) -> re.Match[str] | None:
        """The first line of the log so far that matches `pattern`."""
        return next((m for line in list(self.log) if (m := re.search(pattern, line))), None)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def child_pids(self) -> set[int]:
        """Every process the supervisor forked: the workers and the live store's writer."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def writer_pid(self) -> int | None:
        return next((pid for pid in self.child_pids() if _comm(pid) == PROCESS_NAME), None)

    def worker_pids(self) -> set[int]:
        return {pid for pid in self.child_pids() if _comm(pid) != PROCESS_NAME}

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)  # the rest of the log, up to the end of the pipe
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


@dataclass(frozen=True)
class Answer:
    """One call of a stream: when it was sent and answered (time.monotonic), and who answered with what."""

    sent: float
    received: float
    version: str
    worker: int = 0


def late_old_answers(answers: list[Answer], new: str) -> list[Answer]:
    """Answers naming another version than `new` from a call sent after its worker had answered with `new`.

    A swap is one pointer assignment and never goes back: once a worker's answer named `new`,
    every call that worker begins afterwards must name it too. Expected: none.
    """
    first_new: dict[int, float] = {}
    for a in answers:
        if a.version == new:
            first_new[a.worker] = min(first_new.get(a.worker, a.received), a.received)
    return [a for a in answers if a.version != new and a.worker in first_new and a.sent > first_new[a.worker]]

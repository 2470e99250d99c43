"""RuleKeeper: the rules file a worker applies, reloaded live (docs/rules.md).

Each worker watches the file itself (`tailor serve --rules FILE`, config `server.merchandising.compiler`): every
poll_seconds it compares the file's size and mtime, and on a change its content hash. A new version
is parsed and checked against the served snapshot (every problem at once); a valid one is compiled
(server/merchandising/compiler.py) and swapped in by one assignment, so a call sees either the old rules or the new,
never a mix. An invalid one is refused (`rules_refused ... problems=N`, metric
tailor_rules_loads{outcome="refused"}) and the old rules stay in force; the same content is not
retried until the file changes again.

Compiled rules belong to one snapshot (item rows): a new artifact version gets the rules compiled
against it, by the watcher soon after the swap or by the first call that meets it. There the
vocabulary check is lenient: a category, brand or item the new catalog lost matches nothing (logged
as `rules_stale`), since refusing would leave the store with no rules at all.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from server.merchandising.compiler import RuleSet, compile_rules, vocabulary_of
from server.merchandising.schema import Problem, RuleFile, check_vocabulary, parse_rules, rules_version
from server.runtime.metrics import Metrics
from server.runtime.versions import Poller, SnapshotHolder

if TYPE_CHECKING:
    from server.runtime.snapshot import Snapshot

__all__ = ["RuleKeeper", "check_rules_text"]

log = logging.getLogger(__name__)


def check_rules_text(text: str, snapshot: Snapshot) -> tuple[RuleFile | None, list[Problem]]:
    """A rules file's text parsed and checked against `snapshot`'s catalog: every problem, or the rules."""
    rule_file, problems = parse_rules(text)
    problems += check_vocabulary(rule_file.rules, vocabulary_of(snapshot))
    return (None, problems) if problems else (rule_file, [])


class RuleKeeper:
    """The rules in force in this worker, compiled per snapshot, and the thread that reloads them."""

    def __init__(self, path: Path | None, holder: SnapshotHolder, metrics: Metrics, poll_seconds: float) -> None:
        self._path = path
        self._holder = holder
        self._metrics = metrics
        self._file: RuleFile | None = None
        self._compiled: dict[int, RuleSet] = {}  # id(snapshot) -> its rules; the set holds the snapshot
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) last read
        self._tried = ""  # content version last tried, valid or not
        self._lock = threading.Lock()
        self._poller = Poller("rules-watcher", poll_seconds, self.check_once)
        if path is not None:
            self.check_once()

    @property
    def version(self) -> str:
        return self._file.version if self._file is not None else ""

    def start(self) -> None:
        if self._path is not None:
            self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    def ruleset(self, snapshot: Snapshot) -> RuleSet | None:
        """The rules in force compiled for `snapshot` (compiled now if this is the first call to meet it)."""
        if self._file is None:
            return None
        found = self._compiled.get(id(snapshot))
        if found is not None and found.version == self._file.version:
            return found
        with self._lock:
            rule_file = self._file
            found = self._compiled.get(id(snapshot))
            if found is None or found.version != rule_file.version:
                found = self._compile(rule_file, snapshot)
        return found

    def _compile(self, rule_file: RuleFile, snapshot: Snapshot) -> RuleSet:
        """Compile for `snapshot` and keep it beside the current snapshot's (the lock is held)."""
        stale = check_vocabulary(rule_file.rules, vocabulary_of(snapshot))
        if stale:
            log.warning("rules_stale version=%s artifact=%s problems=%d first=%s", rule_file.version,
                        snapshot.version, len(stale), stale[0])
        ruleset = compile_rules(rule_file, snapshot)
        current = self._holder.current
        self._compiled = {k: v for k, v in self._compiled.items() if v.snapshot is current}
        self._compiled[id(snapshot)] = ruleset
        return ruleset

    def check_once(self) -> bool:
        """Load the file if it changed and is valid; True if a new version is now in force."""
        changed = self._reload(self._path) if self._path is not None else False
        if self._file is not None:
            self.ruleset(self._holder.current)  # a new artifact version: compile off the request path
        return changed

    def _reload(self, path: Path) -> bool:
        try:
            stat = os.stat(path)
            if (stat.st_ino, stat.st_size, stat.st_mtime_ns) == self._seen:
                return False
            self._seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return self._refuse(f"unreadable:{type(exc).__name__}", [Problem("", "file", str(exc))])
        version = rules_version(text)
        if version == self._tried:
            return False
        self._tried = version
        snapshot = self._holder.current
        rule_file, problems = check_rules_text(text, snapshot)
        if rule_file is None:
            return self._refuse(version, problems)
        with self._lock:
            self._compile(rule_file, snapshot)
            old, self._file = self._file, rule_file
        if old is not None:
            self._metrics.rules_version.labels(old.version).set(0)
        self._metrics.rules_version.labels(version).set(1)
        self._metrics.rules_loads.labels("loaded").inc()
        log.info("rules_loaded version=%s rules=%d artifact=%s", version, len(rule_file.rules), snapshot.version)
        return True

    def _refuse(self, version: str, problems: list[Problem]) -> bool:
        self._metrics.rules_loads.labels("refused").inc()
        log.error("rules_refused version=%s problems=%d in_force=%s first=%s", version, len(problems),
                  self.version or "none", problems[0] if problems else "")
        return False

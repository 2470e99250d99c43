"""The servers `tailor bench` measures, as processes: started, probed until ready, stopped; what they cost.

`ServerProcess` runs a server command (`tailor serve` or the floor) in its own process group and finds its
workers among its children. The rest reads /proc: CPU seconds (utime + stime) and minor faults of a process,
the machine's busy CPU time from /proc/stat, and a worker's private memory (USS) from smaps_rollup.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from loadtests.loadgen import RPCS, Payload
from server.live.writer import PROCESS_NAME

__all__ = ["ServerProcess", "free_port", "machine_busy", "private_mib", "running", "server_command"]

_READY_TIMEOUT = 600.0
_STOP_TIMEOUT = 30.0
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _cpu_and_faults(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[7])


def machine_busy() -> float:
    """CPU seconds all cores spent not idle since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK  # minus idle and iowait


def private_mib(pid: int) -> tuple[float, float]:
    """USS (Private_Clean + Private_Dirty of smaps_rollup) and its Private_Dirty part, MiB.

    Private_Clean holds mapped artifact pages that no other process has touched: page cache,
    shared as soon as a second worker reads them. Private_Dirty is the worker's own heap.
    """
    kib = {"Private_Clean:": 0, "Private_Dirty:": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key = line.split(maxsplit=1)[0] if line else ""
        if key in kib:
            kib[key] = int(line.split()[1])
    return sum(kib.values()) / 1024, kib["Private_Dirty:"] / 1024


class ServerProcess:
    """A server command run in its own process group on 127.0.0.1:<port>; its workers are its children."""

    def __init__(self, name: str, command: list[str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.target = f"127.0.0.1:{port}"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        self.log_path = log_path
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, probe: Payload) -> None:
        """Until a real call succeeds; raises RuntimeError if the process dies or never answers."""
        deadline = time.monotonic() + _READY_TIMEOUT
        with grpc.insecure_channel(self.target) as channel:
            call = channel.unary_unary(f"/tailor.v1.Decision/{RPCS[probe.rpc]}", request_serializer=None,
                                       response_deserializer=None)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
                try:
                    call(probe.data, timeout=1.0)
                    return
                except grpc.RpcError:
                    time.sleep(0.2)
        raise RuntimeError(f"{self.name} not answering after {_READY_TIMEOUT:.0f}s; see {self.log_path}")

    def workers(self) -> list[int]:
        """The processes that serve calls: the supervisor's children but the live store's writer
        (server/live/writer.py), or the process itself when it has none."""
        return [pid for pid in _children(self.process.pid) if _comm(pid) != PROCESS_NAME] or [self.process.pid]

    def usage(self) -> tuple[float, int]:
        """CPU seconds and minor page faults of the server and all its processes (the writer too) so far."""
        counts = [_cpu_and_faults(pid) for pid in {self.process.pid, *_children(self.process.pid)}]
        return sum(c for c, _ in counts), sum(f for _, f in counts)

    def stop(self) -> None:
        """SIGTERM (the supervisor drains its workers), then SIGKILL to the group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@contextmanager
def running(name: str, command: list[str], port: int, log_path: Path, probe: Payload) -> Iterator[ServerProcess]:
    server = ServerProcess(name, command, port, log_path)
    try:
        server.wait_ready(probe)
        yield server
    finally:
        server.stop()


def server_command(kind: str, root: Path, port: int, workers: int, threads: int | None,
                   config: Path | None = None, rules: Path | None = None) -> list[str]:
    """`tailor serve` or the floor, with identical flags; `config` is Tailor's `--config` file and `rules`
    its merchandising rules file."""
    module = {"tailor": ["clients.tailor", "serve"], "floor": ["loadtests.floor"]}[kind]
    command = [sys.executable, "-m", *module, "--artifacts", str(root), "--port", str(port),
               "--workers", str(workers)]
    command += ["--config", str(config)] if config is not None and kind == "tailor" else []
    command += ["--rules", str(rules)] if rules is not None and kind == "tailor" else []
    return command + (["--threads", str(threads)] if threads else [])

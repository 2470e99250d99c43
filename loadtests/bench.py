"""`tailor bench`: Tailor against a floor server, same stack, same load, same time.

  tailor bench [--users N --items N --events N | --artifacts ROOT] [--duration S --workers W]

1. Artifacts: ROOT given, or a demo store of the given size generated and built
   once under CACHE/<users>x<items>x<events>/ and reused after.
2. The floor server (`python -m loadtests.floor`: Tailor's gRPC stack answering
   prebuilt Tailor-sized responses), then Tailor (`tailor serve`), each with W
   workers on 127.0.0.1, each driven by the same generator (loadtests/loadgen.py)
   through the same phases: warm-up, low load (open loop), the offered rate
   (open loop), and the most it can do (closed loop).
3. During Tailor's run, a version swap under load: ROOT/current is copied to a
   new version, `current` is switched atomically, and the calls that fail while
   the workers load it are counted. `current` is switched back and the copy
   removed afterwards.
4. One table: RPS, p50, p95, p99, errors per phase and RPC, Tailor ÷ floor,
   server CPU per call, and each worker's private memory (USS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from loadtests.loadgen import RPCS, LoadGenerator, Payload, PhaseResult, Summary, build_payloads
from loadtests.payloads import load_pool
from protos import artifact

__all__ = ["main", "BenchArgs", "ServerProcess", "ServerRun", "cells", "drive", "free_port", "measure", "parse_args",
           "phase_labels", "prepare_artifacts", "run_bench", "server_command", "private_mib"]

log = logging.getLogger(__name__)
_READY_TIMEOUT = 600.0
_STOP_TIMEOUT = 30.0
_TICK = os.sysconf("SC_CLK_TCK")
_SWAP_SETTLE = 2.0  # seconds of new-version-only answers that end the swap phase
_SWAP_LIMIT = 90.0  # the swap phase never runs longer
_SETTLE = 0.5  # seconds of quiet before each measured phase
_PROFILE_RATE = 200  # py-spy samples per second


@dataclass(frozen=True)
class BenchArgs:
    users: int
    items: int
    events: int
    artifacts: Path | None
    cache: Path
    duration: float
    warmup: float
    workers: int
    threads: int | None
    rate: float
    low_rate: float
    concurrency: int
    connections: int
    timeout: float
    swap: bool
    swap_rate: float | None
    json_out: Path | None
    profile: Path | None = None


def parse_args(argv: Sequence[str]) -> BenchArgs:
    p = argparse.ArgumentParser(prog="tailor bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=5000, help="demo store size (ignored with --artifacts)")
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--artifacts", type=Path, help="use this artifact ROOT (with ROOT/current) instead")
    p.add_argument("--cache", type=Path, default=Path("var/bench"), help="where generated stores are kept")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per measured phase")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes per server")
    p.add_argument("--threads", type=int, help="threads per worker (default: the server's)")
    p.add_argument("--rate", type=float, default=2000.0, help="offered calls/s of the open-loop phase")
    p.add_argument("--low-rate", type=float, default=50.0, help="offered calls/s of the low-load phase")
    p.add_argument("--concurrency", type=int, help="calls in flight in the closed loop (default 8 per worker)")
    p.add_argument("--connections", type=int, default=8, help="TCP connections from the generator")
    p.add_argument("--timeout", type=float, default=2.0, help="deadline of every call, seconds")
    p.add_argument("--no-swap", dest="swap", action="store_false", help="skip the version swap")
    p.add_argument("--swap-rate", type=float,
                   help="offered calls/s during the swap (default: half Tailor's closed-loop RPS, at most --rate)")
    p.add_argument("--json", dest="json_out", type=Path, help="also write the figures as JSON here")
    p.add_argument("--profile", type=Path,
                   help="py-spy one Tailor worker during the closed loop (speedscope file here) and print its top")
    a = p.parse_args(list(argv))
    for name in ("users", "items", "events", "workers", "connections"):
        if getattr(a, name) < 1:
            p.error(f"--{name}: must be >= 1")
    if a.duration <= 0 or a.rate <= 0 or a.low_rate <= 0 or a.timeout <= 0 or a.warmup < 0:
        p.error("--duration, --rate, --low-rate, --timeout must be > 0 and --warmup >= 0")
    return BenchArgs(a.users, a.items, a.events, a.artifacts, a.cache, a.duration, a.warmup, a.workers, a.threads,
                     a.rate, a.low_rate, a.concurrency or 8 * a.workers, a.connections, a.timeout, a.swap,
                     a.swap_rate, a.json_out, a.profile)


def prepare_artifacts(args: BenchArgs) -> Path:
    """ROOT to serve: --artifacts, or CACHE/<u>x<i>x<e>/artifacts, generated and built if missing."""
    if args.artifacts is not None:
        if not (args.artifacts / artifact.CURRENT_LINK).exists():
            raise FileNotFoundError(f"--artifacts: {args.artifacts}/{artifact.CURRENT_LINK} does not exist")
        return args.artifacts
    from index_builder import BuildConfig, build_artifacts
    from index_builder.demo_store import write_demo_store

    base = args.cache / f"{args.users}x{args.items}x{args.events}"
    root = base / "artifacts"
    if (root / artifact.CURRENT_LINK).exists():
        log.info("bench_artifacts_reused root=%s", root)
        return root
    if not (base / "data" / "events.csv").exists():
        log.info("bench_store_generating dir=%s", base / "data")
        write_demo_store(base / "data", users=args.users, items=args.items, events=args.events)
    log.info("bench_artifacts_building root=%s", root)
    build_artifacts(BuildConfig(data_dir=base / "data", out_root=root, show_progress=False))
    return root


# --- server processes ------------------------------------------------------------------------------------------


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


def _cpu_and_faults(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[7])


def _machine_busy() -> float:
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
        """The processes that serve: the supervisor's children, or the process itself when it has none."""
        return _children(self.process.pid) or [self.process.pid]

    def usage(self) -> tuple[float, int]:
        """CPU seconds and minor page faults of the server and its workers so far."""
        counts = [_cpu_and_faults(pid) for pid in {self.process.pid, *self.workers()}]
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


def server_command(kind: str, root: Path, port: int, workers: int, threads: int | None) -> list[str]:
    """`tailor serve` or the floor, with identical flags."""
    module = {"tailor": ["clients.cli", "serve"], "floor": ["loadtests.floor"]}[kind]
    command = [sys.executable, "-m", *module, "--artifacts", str(root), "--port", str(port),
               "--workers", str(workers)]
    return command + (["--threads", str(threads)] if threads else [])


# --- driving one server ----------------------------------------------------------------------------------------


@dataclass
class Measured:
    """A phase's calls plus what it cost: server CPU seconds and CPU used by anything else on the machine."""

    result: PhaseResult
    server_cpu: float
    other_cpu: float
    server_faults: int = 0

    def faults_per_call(self) -> float:
        return self.server_faults / max(1, len(self.result.latency))

    def cores(self) -> str:
        """Cores busy over the phase: generator/server/everything else on the machine."""
        wall = max(self.result.wall, 1e-9)
        return f"{self.result.client_cpu / wall:.2f}/{self.server_cpu / wall:.2f}/{self.other_cpu / wall:.2f}"

    def cpu_us_per_call(self) -> float:
        calls = len(self.result.latency)
        return self.server_cpu / calls * 1e6 if calls else float("nan")


@dataclass
class SwapReport:
    version: str
    phase: PhaseResult
    switched_at: float  # seconds into the phase
    settled_at: float  # last answer from the old version (or first from the new)
    old_after: int = 0  # sampled answers from the old version after it settled (should be 0)
    new_after: int = 0

    def window(self) -> Summary:
        return self.phase.summary(window=(self.switched_at, self.settled_at + 0.5))


@dataclass
class ServerRun:
    name: str
    phases: dict[str, Measured] = field(default_factory=dict)
    uss: list[float] = field(default_factory=list)  # per worker, MiB
    dirty: list[float] = field(default_factory=list)  # the Private_Dirty part of each
    swap: SwapReport | None = None
    profile: list[str] = field(default_factory=list)


def _measured(server: ServerProcess, result: PhaseResult, before: tuple[float, int], busy0: float) -> Measured:
    cpu, faults = server.usage()
    server_cpu = cpu - before[0]
    other = _machine_busy() - busy0 - server_cpu - result.client_cpu
    return Measured(result, server_cpu, max(0.0, other), faults - before[1])


async def drive(server: ServerProcess, payloads: Sequence[Payload], args: BenchArgs,
                swap_to: Path | None = None) -> ServerRun:
    """Warm-up, then low load, offered rate, closed loop; then, with `swap_to`, a swap to that version."""
    run = ServerRun(server.name)
    async with LoadGenerator(server.target, payloads, connections=args.connections, timeout=args.timeout) as gen:
        if args.warmup:
            await gen.closed_loop("warmup", args.concurrency, args.warmup)
        plan = {
            "low": lambda: gen.open_loop("low", args.low_rate, args.duration),
            "open": lambda: gen.open_loop("open", args.rate, args.duration),
            "max": lambda: gen.closed_loop("max", args.concurrency, args.duration),
        }
        for key, start in plan.items():
            await asyncio.sleep(_SETTLE)  # let the server finish what an overloaded phase left queued
            profiler = _profiler(server, args) if key == "max" else None
            before, busy0 = server.usage(), _machine_busy()
            run.phases[key] = _measured(server, await start(), before, busy0)
            log.info("bench_phase server=%s phase=%s calls=%d", server.name, key, len(run.phases[key].result.latency))
            if profiler is not None:
                profiler.wait(timeout=60)
                run.profile = summarize_profile(args.profile, _profile_seconds(args)) if args.profile else []
        memory = [private_mib(pid) for pid in server.workers()]
        run.uss, run.dirty = [u for u, _ in memory], [d for _, d in memory]
        if swap_to is not None:
            rate = args.swap_rate or min(args.rate, run.phases["max"].result.summary().rps / 2)
            run.swap = await _swap_under_load(gen, swap_to, max(rate, 1.0))
    return run


def _profile_seconds(args: BenchArgs) -> int:
    return max(1, int(args.duration) - 1)


def _profiler(server: ServerProcess, args: BenchArgs) -> subprocess.Popen[bytes] | None:
    """py-spy on Tailor's first worker for the closed-loop phase: only samples holding the GIL (Python CPU)."""
    if args.profile is None or server.name != "tailor":
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    seconds = _profile_seconds(args)
    command = [spy, "record", "--pid", str(server.workers()[0]), "--duration", str(seconds), "--rate",
               str(_PROFILE_RATE), "--gil", "--nonblocking", "--format", "speedscope", "-o", str(args.profile)]
    try:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise RuntimeError(f"--profile needs py-spy (pip install py-spy): {exc}") from exc


def summarize_profile(path: Path, seconds: float, top: int = 12) -> list[str]:
    """Where the GIL-holding time went: functions by self time, then Tailor's own functions by total time."""
    data = json.loads(path.read_text(encoding="utf-8"))
    frames = data["shared"]["frames"]
    names = [f"{f['name']} ({Path(f.get('file', '')).name}:{f.get('line', '')})" for f in frames]
    own: Counter[int] = Counter()
    total: Counter[str] = Counter()
    samples = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            samples += weight
            if stack:
                own[stack[-1]] += weight
            for name in {f"{frames[i]['name']} ({Path(frames[i].get('file', '')).name})" for i in stack
                         if "site-packages" not in frames[i].get("file", "") and "/lib/python" not in
                         frames[i].get("file", "")}:
                total[name] += weight
    if not samples:
        return ["profile: no samples"]
    lines = [f"profile of one Tailor worker ({path}): the GIL was held {samples:.1f} s of {seconds:.0f} s",
             "  self % of GIL time, by line:"]
    lines += [f"    {100 * w / samples:5.1f}  {names[i]}" for i, w in own.most_common(top)]
    lines.append("  total % of GIL time, Tailor's functions:")
    lines += [f"    {100 * w / samples:5.1f}  {name}" for name, w in total.most_common(top)]
    return lines


def copy_version(root: Path) -> tuple[Path, Path]:
    """Copy ROOT/current's directory to a new version (manifest "version" rewritten); returns (old, new)."""
    old = (root / artifact.CURRENT_LINK).resolve(strict=True)
    name = f"{old.name.split('-bench')[0]}-bench{time.strftime('%Y%m%dT%H%M%S')}"
    staging = root / f".staging-{name}"
    try:
        shutil.copytree(old, staging)
        manifest = json.loads((staging / artifact.MANIFEST).read_text(encoding="utf-8"))
        manifest["version"] = name
        (staging / artifact.MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for path in staging.iterdir():  # on disk before Tailor is measured: no writeback during its phases
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    new = root / name
    os.rename(staging, new)
    return old, new


def point_current(root: Path, version_dir: Path) -> None:
    """Switch ROOT/current atomically: a temporary symlink renamed over it."""
    link = root / f".{artifact.CURRENT_LINK}.bench-tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(version_dir.name)
    os.replace(link, root / artifact.CURRENT_LINK)


async def _swap_under_load(gen: LoadGenerator, new_dir: Path, rate: float) -> SwapReport:
    """Offered-rate load; after 1 s `current` moves to `new_dir`; ends once only the new version answers."""
    stop = asyncio.Event()
    state = {"switched": math.inf, "last_old": 0.0, "first_new": math.inf}

    def seen(at: float, version: str) -> None:
        if version == new_dir.name:
            state["first_new"] = min(state["first_new"], at)
            if at - max(state["last_old"], state["switched"]) > _SWAP_SETTLE:
                stop.set()
        else:
            state["last_old"] = at

    async def switch() -> None:
        await asyncio.sleep(1.0)
        point_current(new_dir.parent, new_dir)
        state["switched"] = time.perf_counter()
        log.info("bench_swap version=%s", new_dir.name)

    switcher = asyncio.create_task(switch())
    phase = await gen.open_loop("swap", rate, _SWAP_LIMIT, sample_every=10, stop=stop, on_sample=seen)
    await switcher
    start = phase.started
    new_seen = state["first_new"] if math.isfinite(state["first_new"]) else state["switched"]
    settled = max(state["last_old"], new_seen) - start
    report = SwapReport(new_dir.name, phase, state["switched"] - start, settled)
    for at, version in phase.versions:
        if at > report.settled_at:
            report.old_after += version != new_dir.name
            report.new_after += version == new_dir.name
    return report


# --- the report ------------------------------------------------------------------------------------------------

_RPC_ROWS: tuple[tuple[str, int | None], ...] = (("Recommend", 0), ("Rerank", 1), ("all", None))


def _f(value: float, width: int, digits: int = 2) -> str:
    if math.isnan(value):
        return f"{'-':>{width}}"
    return f"{value:>{width}.{digits}f}" if math.isfinite(value) else f"{'inf':>{width}}"


def cells(s: Summary) -> str:
    return f"{_f(s.rps, 7, 0)} {_f(s.p50, 6)} {_f(s.p95, 6)} {_f(s.p99, 7)} {s.errors:>5}"


def phase_labels(args: BenchArgs) -> dict[str, str]:
    return {"low": f"low {args.low_rate:g}/s", "open": f"open {args.rate:g}/s", "max": f"max c={args.concurrency}"}


def format_table(runs: Sequence[ServerRun], args: BenchArgs, heading: str) -> str:
    """Side by side: each server's RPS, p50/p95/p99 (ms), errors; the last ÷ the first; server CPU per call."""
    labels = phase_labels(args)
    block = f"{'RPS':>7} {'p50':>6} {'p95':>6} {'p99':>7} {'err':>5}"
    names = " | ".join(f"{r.name:^{len(block)}}" for r in runs)
    ratio = len(runs) > 1
    ratio_head = f" | {runs[-1].name + ' ÷ ' + runs[0].name:^13}" if ratio else ""
    lines = [heading, f"{'':<14}{'':<10} | {names}{ratio_head} | server CPU µs/call",
             f"{'phase':<14}{'rpc':<10} | {' | '.join([block] * len(runs))}"
             + (f" | {'RPS':>6} {'p99':>6}" if ratio else "") + " | " + " ".join(f"{r.name:>8}" for r in runs)]
    lines.append("-" * len(lines[-1]))
    for key, label in labels.items():
        for rpc_name, rpc in _RPC_ROWS:
            sums = [r.phases[key].result.summary(rpc) for r in runs]
            row = f"{label if rpc == 0 else '':<14}{rpc_name:<10} | " + " | ".join(cells(s) for s in sums)
            if ratio:
                rps = sums[-1].rps / sums[0].rps if sums[0].rps else math.nan
                p99 = sums[-1].p99 / sums[0].p99 if sums[0].p99 else math.nan
                row += f" | {_f(rps, 6)} {_f(p99, 6)}"
            cpu = [r.phases[key].cpu_us_per_call() for r in runs] if rpc is None else []
            row += " | " + " ".join(_f(c, 8, 0) for c in cpu)
            lines.append(row.rstrip(" |"))
    lines.append("latency in ms from each call's scheduled send time (open loop) or its send (closed loop);"
                 " errors include calls unfinished past the deadline (latency inf)")
    for r in runs:
        uss = ", ".join(f"{u:.1f} ({d:.1f} dirty)" for u, d in zip(r.uss, r.dirty, strict=True)) or "-"
        cores = "; ".join(f"{labels[k]} {m.cores()} {m.result.send_lag_p99():.1f} {m.faults_per_call():.0f}"
                          for k, m in r.phases.items())
        size = "/".join(f"{r.phases['max'].result.mean_response_bytes(i):.0f}" for i in range(len(RPCS)))
        lines.append(f"{r.name}: worker USS MiB {uss}; response bytes Recommend/Rerank {size}; "
                     f"cores generator/server/other, send lag p99 ms, server page faults/call: {cores}")
    return "\n".join(lines)


def format_swap(swap: SwapReport) -> str:
    phase, window = swap.phase.summary(), swap.window()
    lines = [
        f"swap under load ({swap.phase.rate:g}/s offered): current -> {swap.version} at "
        f"{swap.switched_at:.1f}s; last answer from the old version {swap.settled_at - swap.switched_at:.2f}s later",
        f"  in the swap window: {window.calls} calls, {window.errors} failed, p50 {window.p50:.2f} ms, "
        f"p99 {window.p99:.2f} ms; whole swap phase: {phase.calls} calls, {phase.errors} failed"
        + (f" ({dict(swap.phase.errors)})" if phase.errors else ""),
        f"  after the swap: {swap.new_after} of {swap.new_after + swap.old_after} sampled answers "
        f"name {swap.version}",
    ]
    return "\n".join(lines)


def target_checks(floor: ServerRun, tailor: ServerRun, args: BenchArgs) -> list[tuple[str, bool, str]]:
    """The issue's targets, each with the measured figure."""
    checks = []
    for rpc_name, rpc in _RPC_ROWS[:2]:
        s = tailor.phases["open"].result.summary(rpc)
        checks.append((f"{rpc_name} p99 <= 5 ms at {args.rate:g}/s offered", s.p99 <= 5.0 and s.errors == 0,
                       f"{s.p99:.2f} ms, {s.errors} errors"))
    for rpc_name, rpc in _RPC_ROWS[:2]:
        s = tailor.phases["low"].result.summary(rpc)
        checks.append((f"{rpc_name} p50 <= 1 ms at {args.low_rate:g}/s", s.p50 <= 1.0, f"{s.p50:.2f} ms"))
    top, base = tailor.phases["max"].result.summary(), floor.phases["max"].result.summary()
    share = top.rps / base.rps if base.rps else 0.0
    checks.append(("Tailor throughput >= 80 % of the floor", share >= 0.8,
                   f"{top.rps:.0f} / {base.rps:.0f} RPS = {share:.0%}"))
    if tailor.swap is not None:
        failed = tailor.swap.phase.summary().errors
        seen = tailor.swap.new_after > 0 and tailor.swap.old_after == 0
        checks.append(("version swap under load: zero failed calls", failed == 0 and seen,
                       f"{failed} failed; new version answering: {'yes' if seen else 'no'}"))
    worst = max(tailor.uss, default=math.nan)
    checks.append(("private memory <= 150 MiB per worker", worst <= 150.0, f"max {worst:.1f} MiB"))
    return checks


def _figures(run: ServerRun) -> dict[str, object]:
    phases = {k: {name: vars(m.result.summary(rpc)) for name, rpc in _RPC_ROWS} | {
        "server_cpu_us_per_call": m.cpu_us_per_call(), "client_cpu_s": m.result.client_cpu,
        "server_cpu_s": m.server_cpu, "other_cpu_s": m.other_cpu, "seconds": m.result.seconds,
        "wall_s": m.result.wall, "send_lag_p99_ms": m.result.send_lag_p99(),
        "server_faults_per_call": m.faults_per_call(),
        "response_bytes": {name: m.result.mean_response_bytes(i) for i, name in enumerate(RPCS)},
        "errors_by_code": dict(m.result.errors)} for k, m in run.phases.items()}
    out: dict[str, object] = {"phases": phases, "uss_mib": run.uss, "private_dirty_mib": run.dirty}
    if run.swap is not None:
        out["swap"] = {"version": run.swap.version, "switched_at": run.swap.switched_at,
                       "settled_after": run.swap.settled_at - run.swap.switched_at,
                       "window": vars(run.swap.window()), "phase": vars(run.swap.phase.summary()),
                       "new_after": run.swap.new_after, "old_after": run.swap.old_after}
    return out


# --- the command -----------------------------------------------------------------------------------------------


def _describe(root: Path) -> str:
    manifest = json.loads(((root / artifact.CURRENT_LINK) / artifact.MANIFEST).read_text(encoding="utf-8"))
    counts = manifest.get("counts", {})
    return (f"version {manifest.get('version')}: {counts.get('items')} items, {counts.get('users')} users, "
            f"{counts.get('events')} events, index {manifest.get('index', {}).get('factory')}")


def measure(kind: str, root: Path, payloads: Sequence[Payload], args: BenchArgs, logs: Path,
            swap_to: Path | None = None, command: list[str] | None = None, port: int | None = None) -> ServerRun:
    """Start one server (`kind` names it; `command` and `port` override how), drive it, stop it."""
    port = port or free_port()
    command = command or server_command(kind, root, port, args.workers, args.threads)
    log_name = "".join(c if c.isalnum() else "-" for c in kind)
    with running(kind, command, port, logs / f"{log_name}.log", payloads[0]) as server:
        log.info("bench_server_ready server=%s pid=%d workers=%s", kind, server.process.pid, server.workers())
        return asyncio.run(drive(server, payloads, args, swap_to))


def run_bench(args: BenchArgs) -> str:
    """The whole benchmark; returns the printed report."""
    root = prepare_artifacts(args)
    payloads = build_payloads(load_pool(root))
    logs = args.cache / "logs"
    floor = measure("floor", root, payloads, args, logs)
    floor.name = "floor"
    old = new = None
    try:
        if args.swap:
            old, new = copy_version(root)
        tailor = measure("tailor", root, payloads, args, logs, swap_to=new)
        tailor.name = "Tailor"
    finally:
        if old is not None and new is not None:
            point_current(root, old)
            shutil.rmtree(new, ignore_errors=True)
    heading = (f"tailor bench: {root} ({_describe(root)}); workers={args.workers}, {args.connections} connections, "
               f"{args.duration:g} s per phase, deadline {args.timeout:g} s")
    parts = [format_table([floor, tailor], args, heading)]
    if tailor.swap is not None:
        parts.append(format_swap(tailor.swap))
    parts.extend(tailor.profile)
    checks = target_checks(floor, tailor, args)
    parts.append("targets:\n" + "\n".join(f"  [{'PASS' if ok else 'MISS'}] {name}: {figure}"
                                          for name, ok, figure in checks))
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({"floor": _figures(floor), "tailor": _figures(tailor),
                                             "targets": checks, "root": str(root)}, indent=1, default=str))
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        report = run_bench(args)
    except (RuntimeError, OSError) as exc:
        print(f"tailor bench: error: {exc}", file=sys.stderr)
        return 2
    print(report)
    return 0

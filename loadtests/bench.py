"""`tailor bench`: Tailor against a floor server, same stack, same load, same time.

  tailor bench [--users N --items N --events N | --artifacts ROOT] [--duration S --workers W]
               [--json | --json-out FILE]

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

The server processes and their /proc figures are in loadtests/procs.py; the printed report in loadtests/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.loadgen import LoadGenerator, Payload, PhaseResult, Summary, build_payloads
from loadtests.payloads import load_pool
from loadtests.procs import ServerProcess, free_port, machine_busy, private_mib, running, server_command
from loadtests.report import cells, figures, format_swap, format_table, phase_labels, summarize_profile, target_checks
from protos import artifact

__all__ = ["main", "BenchArgs", "ServerProcess", "ServerRun", "cells", "drive", "free_port", "measure", "parse_args",
           "phase_labels", "prepare_artifacts", "run_bench", "server_command", "private_mib"]

log = logging.getLogger(__name__)
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
    json: bool = False  # print the figures as JSON on stdout instead of the table
    config: Path | None = None
    rules: Path | None = None
    generate_rules: int = 0


def parser() -> argparse.ArgumentParser:
    from clients.flags import add_output_flags

    p = argparse.ArgumentParser(prog="tailor bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=5000, help="demo store size (ignored with --artifacts)")
    p.add_argument("--items", type=int, default=2000, help="demo store items (ignored with --artifacts)")
    p.add_argument("--events", type=int, default=200_000, help="demo store events (ignored with --artifacts)")
    p.add_argument("--artifacts", type=Path, metavar="ROOT", help="use this artifact ROOT (with ROOT/current) instead")
    p.add_argument("--cache", type=Path, default=Path("var/bench"), metavar="DIR",
                   help="where generated stores are kept")
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
    p.add_argument("--json", action="store_true", help="print the figures as JSON on stdout instead of the table")
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the figures as JSON to FILE")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="Tailor's `tailor serve --config` file (e.g. an [experiments] "
                   "table); every call then carries a request_id")
    p.add_argument("--profile", type=Path, metavar="FILE",
                   help="py-spy one Tailor worker during the closed loop (speedscope file here) and print its top")
    p.add_argument("--rules", type=Path, metavar="FILE",
                   help="serve Tailor with this merchandising rules file (docs/rules.md)")
    p.add_argument("--generate-rules", type=int, default=0, metavar="N",
                   help="serve Tailor with N realistic rules drawn from the catalog (loadtests/bench_rules.py)")
    add_output_flags(p)
    return p


def parse_args(argv: Sequence[str]) -> BenchArgs:
    p = parser()
    a = p.parse_args(list(argv))
    for name in ("users", "items", "events", "workers", "connections"):
        if getattr(a, name) < 1:
            p.error(f"--{name}: must be >= 1")
    if a.duration <= 0 or a.rate <= 0 or a.low_rate <= 0 or a.timeout <= 0 or a.warmup < 0:
        p.error("--duration, --rate, --low-rate, --timeout must be > 0 and --warmup >= 0")
    return BenchArgs(a.users, a.items, a.events, a.artifacts, a.cache, a.duration, a.warmup, a.workers, a.threads,
                     a.rate, a.low_rate, a.concurrency or 8 * a.workers, a.connections, a.timeout, a.swap,
                     a.swap_rate, a.json_out, a.profile, json=a.json, config=a.config, rules=a.rules,
                     generate_rules=a.generate_rules)


def prepare_artifacts(args: BenchArgs) -> Path:
    """ROOT to serve: --artifacts, or CACHE/<u>x<i>x<e>/artifacts, generated and built if missing."""
    if args.artifacts is not None:
        if not (args.artifacts / artifact.CURRENT_LINK).exists():
            raise FileNotFoundError(f"--artifacts: {args.artifacts}/{artifact.CURRENT_LINK} does not exist")
        return args.artifacts
    from index_builder import BuildConfig, build_artifacts
    from index_builder.demo import write_demo_store

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
    other = machine_busy() - busy0 - server_cpu - result.client_cpu
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
            before, busy0 = server.usage(), machine_busy()
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


def _bench_copy(root: Path) -> tuple[Path, Path]:
    """A copy of current's version under a bench-stamped name (on disk before Tailor is measured:
    no writeback during its phases); returns (old, new). `current` is not moved."""
    old = artifact.resolve_current(root)
    name = f"{old.name.split('-bench')[0]}-bench{time.strftime('%Y%m%dT%H%M%S')}"
    return old, artifact.copy_version(root, name=name)


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
        artifact.switch_current(new_dir.parent, new_dir)
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


# --- the command -----------------------------------------------------------------------------------------------


def _describe(root: Path) -> str:
    manifest = artifact.read_manifest(artifact.resolve_current(root))
    counts = manifest.counts
    return (f"version {manifest.version}: {counts.items} items, {counts.users} users, {counts.events} events, "
            f"index {manifest.index.factory}")


def measure(kind: str, root: Path, payloads: Sequence[Payload], args: BenchArgs, logs: Path,
            swap_to: Path | None = None, command: list[str] | None = None, port: int | None = None) -> ServerRun:
    """Start one server (`kind` names it; `command` and `port` override how), drive it, stop it."""
    port = port or free_port()
    command = command or server_command(kind, root, port, args.workers, args.threads, args.config,
                                        _rules_file(root, args))
    log_name = "".join(c if c.isalnum() else "-" for c in kind)
    with running(kind, command, port, logs / f"{log_name}.log", payloads[0]) as server:
        log.info("bench_server_ready server=%s pid=%d workers=%s", kind, server.process.pid, server.workers())
        return asyncio.run(drive(server, payloads, args, swap_to))


def _rules_file(root: Path, args: BenchArgs) -> Path | None:
    """--rules, or --generate-rules N written once under CACHE/rules-N.toml."""
    if args.generate_rules <= 0:
        return args.rules
    from loadtests.bench_rules import bench_rules

    path = args.cache / f"rules-{args.generate_rules}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bench_rules(root, args.generate_rules))
    return path


def run_bench(args: BenchArgs) -> str:
    """The whole benchmark; returns the printed report."""
    root = prepare_artifacts(args)
    payloads = build_payloads(load_pool(root), request_ids=args.config is not None)
    logs = args.cache / "logs"
    floor = measure("floor", root, payloads, args, logs)
    floor.name = "floor"
    old = new = None
    try:
        if args.swap:
            old, new = _bench_copy(root)
        tailor = measure("tailor", root, payloads, args, logs, swap_to=new)
        tailor.name = "Tailor"
    finally:
        if old is not None and new is not None:
            artifact.switch_current(root, old)
            shutil.rmtree(new, ignore_errors=True)
    heading = (f"tailor bench: {root} ({_describe(root)}); workers={args.workers}, {args.connections} connections, "
               f"{args.duration:g} s per phase, deadline {args.timeout:g} s"
               + (f", rules {_rules_file(root, args)}" if args.rules or args.generate_rules else ""))
    parts = [format_table([floor, tailor], args, heading)]
    if tailor.swap is not None:
        parts.append(format_swap(tailor.swap))
    parts.extend(tailor.profile)
    checks = target_checks(floor, tailor, args)
    parts.append("targets:\n" + "\n".join(f"  [{'PASS' if ok else 'MISS'}] {name}: {figure}"
                                          for name, ok, figure in checks))
    as_json = json.dumps({"floor": figures(floor), "tailor": figures(tailor), "targets": checks, "root": str(root)},
                         indent=1, default=str)
    if args.json_out is not None:
        args.json_out.write_text(as_json)
    return as_json if args.json else "\n".join(parts)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        report = run_bench(args)
    except (RuntimeError, OSError) as exc:
        print(f"tailor bench: error: {exc}", file=sys.stderr)
        return 2
    print(report)
    return 0

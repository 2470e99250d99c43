"""What `tailor bench` prints: the side-by-side table, the swap, the profile's top, the targets, the JSON figures."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests.loadgen import RPCS, Summary

if TYPE_CHECKING:
    from loadtests.bench import BenchArgs, ServerRun, SwapReport

__all__ = ["cells", "figures", "format_swap", "format_table", "phase_labels", "summarize_profile", "target_checks"]

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


def figures(run: ServerRun) -> dict[str, object]:
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

"""Serving architectures compared on one machine, with one load generator and one DecisionServicer.

  python -m loadtests.variants compare --artifacts ROOT [--duration S --rate R --concurrency C]
  python -m loadtests.variants aio --artifacts ROOT --port P [--workers N]
  python -m loadtests.variants costs --artifacts ROOT

`costs` times the decision itself, in process and without gRPC, stage by stage.

`compare` measures, one after the other, with the phases of `tailor bench`:
  - threads x1: `tailor serve --workers 1` (sync grpc.server, thread pool)
  - aio x1:     one process, grpc.aio server (below) calling the same DecisionServicer
  - threads x2: `tailor serve --workers 2` (two processes, SO_REUSEPORT)
  - aio x2:     two aio processes on one port (SO_REUSEPORT)
  - 1 thread x2: `tailor serve --workers 2 --threads 1`
and prints one row per variant and phase. docs/serving-architecture.md has the figures.

The aio variant calls DecisionServicer's methods directly on the event loop:
the decision is pure CPU work with no I/O to await, so the loop runs one call
at a time, without the thread pool's hand-offs and GIL contention.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import faiss
import grpc

from loadtests import bench
from loadtests.loadgen import build_payloads
from loadtests.payloads import load_pool
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server.api.service import DecisionServicer
from server.runtime.config import ServerConfig, config_from_env
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import load_snapshot, resolve_current
from server.runtime.versions import ArtifactWatcher, SnapshotHolder

__all__ = ["AioDecision", "serve_aio", "main"]

log = logging.getLogger(__name__)


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _SyncContext:
    """What DecisionServicer uses of a sync ServicerContext, over an aio one (abort is async there)."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self._context = context

    def set_trailing_metadata(self, metadata: Any) -> None:
        self._context.set_trailing_metadata(metadata)

    def time_remaining(self) -> float | None:
        return self._context.time_remaining()

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise _Abort(code, details)

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        raise _Abort(status.code, status.details)


class AioDecision(decision_pb2_grpc.DecisionServicer):
    """The Decision service on grpc.aio: each call runs DecisionServicer's method on the loop."""

    def __init__(self, servicer: DecisionServicer) -> None:
        self._servicer = servicer

    async def _run(self, method: Callable[[Any, Any], Any], request: Any,
                   context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return method(request, _SyncContext(context))
        except _Abort as exc:
            await context.abort(exc.code, exc.details)

    async def Recommend(self, request: pb.RecommendRequest, context: Any) -> pb.RecommendResponse:
        return await self._run(self._servicer.Recommend, request, context)

    async def Rerank(self, request: pb.RerankRequest, context: Any) -> pb.RerankResponse:
        return await self._run(self._servicer.Rerank, request, context)


async def serve_aio(config: ServerConfig, reuse_port: bool) -> None:
    """One aio server process with the artifact watcher, until SIGTERM/SIGINT."""
    faiss.omp_set_num_threads(1)
    metrics = process_metrics()
    holder = SnapshotHolder(load_snapshot(resolve_current(config.artifacts)))
    watcher = ArtifactWatcher(config.artifacts, holder, metrics, config.poll_seconds)
    server = grpc.aio.server(maximum_concurrent_rpcs=config.max_concurrent,
                             options=[("grpc.so_reuseport", int(reuse_port))])
    decision_pb2_grpc.add_DecisionServicer_to_server(AioDecision(DecisionServicer(config, holder, metrics)), server)
    server.add_insecure_port(f"{config.host}:{config.port}")
    await server.start()
    watcher.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("aio_worker_started port=%d pid=%d", config.port, os.getpid())
    await stop.wait()
    await server.stop(config.drain_seconds)
    watcher.stop()


def _aio_worker(config: ServerConfig, reuse_port: bool) -> None:
    asyncio.run(serve_aio(config, reuse_port))


def _run_aio(config: ServerConfig, workers: int) -> int:
    """`workers` processes forked before any gRPC object exists; SIGTERM is passed on to each."""
    if workers == 1:
        _aio_worker(config, False)
        return 0
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_aio_worker, args=(config, True), name=f"aio-worker-{i}")
                 for i in range(workers)]
    for process in processes:
        process.start()

    def forward(*_: object) -> None:
        for process in processes:
            if process.pid and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
    return 0


# name, server, processes, threads per process (None: the server's default, 4)
VARIANTS: tuple[tuple[str, str, int, int | None], ...] = (
    ("threads x1", "tailor", 1, None), ("aio x1", "aio", 1, None), ("threads x2", "tailor", 2, None),
    ("aio x2", "aio", 2, None), ("1 thread x2", "tailor", 2, 1))


def _command(kind: str, root: Path, port: int, workers: int, threads: int | None) -> list[str]:
    if kind == "aio":
        return [sys.executable, "-m", "loadtests.variants", "aio", "--artifacts", str(root), "--port", str(port),
                "--workers", str(workers)]
    return bench.server_command(kind, root, port, workers, threads)


def compare(args: bench.BenchArgs) -> str:
    """Every variant through the same phases; one row per variant and phase (all RPCs)."""
    root = bench.prepare_artifacts(args)
    payloads = build_payloads(load_pool(root))
    runs = []
    for name, kind, workers, threads in VARIANTS:
        port = bench.free_port()
        command = _command(kind, root, port, workers, threads)
        run = bench.measure(name, root, payloads, replace(args, workers=workers), args.cache / "logs",
                            command=command, port=port)
        runs.append(run)
    labels = bench.phase_labels(args)
    head = (f"{'variant':<12}{'phase':<14}{'RPS':>7} {'p50':>6} {'p95':>6} {'p99':>7} {'err':>5}  "
            f"{'Rec p99':>7} {'Rer p99':>7}  {'CPU µs/call':>11} {'flt/call':>8}  {'cores gen/srv/other':>20}  "
            "USS/dirty MiB")
    lines = [f"serving architectures: {root}; {args.duration:g} s per phase, {args.connections} connections",
             head, "-" * len(head)]
    for run in runs:
        for key, label in labels.items():
            m = run.phases[key]
            s, rec, rer = m.result.summary(), m.result.summary(0), m.result.summary(1)
            uss = ", ".join(f"{u:.0f}/{d:.0f}" for u, d in zip(run.uss, run.dirty, strict=True)) if key == "max" else ""
            lines.append(f"{run.name if key == 'low' else '':<12}{label:<14}{bench.cells(s)}  {rec.p99:>7.2f} "
                         f"{rer.p99:>7.2f}  {m.cpu_us_per_call():>11.0f} {m.faults_per_call():>8.0f}  "
                         f"{m.cores():>20}  {uss}")
    return "\n".join(lines)


_REPEATS = 3


def _time_stages(servicer: DecisionServicer, context: Any, snapshot: Any, config: ServerConfig,
                 request: Any) -> tuple[float, float, float, float]:
    """Seconds for parse, signals, rank, and the whole servicer call, of one request."""
    from server.api import queries
    from server.ranking import pipelines as ranking
    from server.ranking.request import RequestArrays
    from server.ranking.signals import gather_signals

    rerank, limits, policy = isinstance(request, pb.RerankRequest), config.limits, config.ranking
    t0 = time.perf_counter()
    query = queries.parse_rerank(request, limits) if rerank else queries.parse_recommend(request, limits)
    t1 = time.perf_counter()
    signals = gather_signals(snapshot, policy, query)
    t2 = time.perf_counter()
    if rerank:
        ranking.rerank(snapshot, policy,
                       RequestArrays(signals, query.n, query.filters, search_scores=query.candidate_scores))
    else:
        ranking.recommend(snapshot, policy, RequestArrays(signals, query.n, query.filters))
    t3 = time.perf_counter()
    (servicer.Rerank if rerank else servicer.Recommend)(request, context)
    return t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3


def decision_costs(root: Path, calls: int = 300, seed: int = 3) -> str:
    """Per request kind, µs per call of each stage of DecisionServicer, in this process, no gRPC.

    parse = request validation, signals = LMDB lookups and the query vector, rank = FAISS / numpy,
    respond = the rest of the servicer call (response messages, metrics).
    """
    from loadtests.floor import OfflineContext

    pool = load_pool(root)
    faiss.omp_set_num_threads(1)
    config = ServerConfig(artifacts=root)
    holder = SnapshotHolder(load_snapshot(resolve_current(root)))
    servicer, rng = DecisionServicer(config, holder, process_metrics()), random.Random(seed)
    context: Any = OfflineContext()
    snapshot = holder.current
    kinds: dict[str, Callable[[random.Random], Any]] = {
        "Recommend user": pool.recommend_for_user, "Recommend session": pool.recommend_for_session,
        "Recommend product": pool.recommend_for_product, "Rerank": pool.rerank}
    lines = [f"decision cost per call, µs ({calls} calls each, {snapshot.catalog.n_items} items)",
             f"{'request':<18}{'parse':>7}{'signals':>8}{'rank':>7}{'respond':>8}{'total':>7}"]
    for name, draw in kinds.items():
        stage = dict.fromkeys(("parse", "signals", "rank", "total"), 0.0)
        for request in [draw(rng) for _ in range(calls)]:
            best = [math.inf] * 4  # the fastest of a few repeats: robust to being preempted
            for _ in range(_REPEATS):
                for k, seconds in enumerate(_time_stages(servicer, context, snapshot, config, request)):
                    best[k] = min(best[k], seconds)
            for key, seconds in zip(stage, best, strict=True):
                stage[key] += seconds * 1e6 / calls
        respond = stage["total"] - stage["parse"] - stage["signals"] - stage["rank"]
        lines.append(f"{name:<18}{stage['parse']:>7.0f}{stage['signals']:>8.0f}{stage['rank']:>7.0f}"
                     f"{respond:>8.0f}{stage['total']:>7.0f}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtests.variants")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("aio", help="serve ROOT/current with a grpc.aio server")
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    sub.add_parser("compare", help="measure every variant; takes `tailor bench` flags", add_help=False)
    p = sub.add_parser("costs", help="time each stage of the decision in process, without gRPC")
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--calls", type=int, default=300)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='{"ts":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}')
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    if argv[:1] == ["compare"]:
        print(compare(bench.parse_args(argv[1:])))
        return 0
    args = _parser().parse_args(argv)
    if args.command == "costs":
        print(decision_costs(args.artifacts, args.calls))
        return 0
    config = replace(config_from_env(ServerConfig(artifacts=args.artifacts)), port=args.port)
    return _run_aio(config, max(1, args.workers))


if __name__ == "__main__":
    sys.exit(main())

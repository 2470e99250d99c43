"""Ingestion benchmark: TrackEvents throughput with durability on, and how soon an acknowledged event
is visible on another worker, against a `tailor serve` of a copy of ROOT/current on loopback.

  python -m loadtests.ingest --artifacts ROOT [--workers 2] [--senders 4] [--batch 100]
                             [--duration 10] [--readers 2] [--probes 50]

Phases, one server:
  1. reads alone: `readers` threads of Recommend/Rerank (the bench's payload pool) for `duration` s
  2. ingestion + reads: the same readers while `senders` threads send batches of `batch` events
     (new event ids, users of the store, views/carts/purchases) back to back
  3. visibility: `probes` times, a view of item X in a fresh session is acknowledged, then Recommend for
     that session id is asked over fresh connections until a worker other than the one that stored it
     answers without X (what the session touched is never offered): ack -> visible there, p50/p99

Prints events/s, batch latency p50/p99, read RPS and p50/p99 with and without ingestion, the
visibility latency, and per phase where the CPU went (cores: the server's processes, this load
generator, anything else on the machine — another program's load shows there). Loopback only;
bounded by --duration and --probes.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
import numpy as np

from clients.client import RETRY_OPTIONS
from loadtests.loadgen import build_payloads
from loadtests.payloads import PayloadPool, load_pool
from loadtests.procs import ServerProcess, free_port, machine_busy, running, server_command
from protos import artifact, decision_pb2_grpc
from protos import decision_pb2 as pb

__all__ = ["main"]

log = logging.getLogger(__name__)

_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
_TYPES = (pb.INTERACTION_TYPE_VIEW,) * 8 + (pb.INTERACTION_TYPE_CART, pb.INTERACTION_TYPE_PURCHASE)
# Batches prepared per second of the ingestion phase, over all senders (a sender that runs out stops).
_MAX_BATCHES_PER_SECOND = 600


def _percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "p50 - p99 -"
    ms = np.array(seconds) * 1e3
    return f"p50 {np.percentile(ms, 50):.2f} ms p99 {np.percentile(ms, 99):.2f} ms"


def _loop(deadline: float, step: Callable[[], None], latencies: list[float]) -> None:
    while time.monotonic() < deadline:
        start = time.perf_counter()
        step()
        latencies.append(time.perf_counter() - start)


def _readers(target: str, pool: PayloadPool, n: int, seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def read(seed: int) -> None:
        rng = random.Random(seed)
        with grpc.insecure_channel(target, options=_FRESH) as channel:
            stub = decision_pb2_grpc.DecisionStub(channel)

            def one() -> None:
                if rng.random() < 0.5:
                    stub.Recommend(pool.recommend_for_user(rng), timeout=5)
                else:
                    stub.Rerank(pool.rerank(rng), timeout=5)
            _loop(deadline, one, latencies)

    _run_threads([functools.partial(read, s) for s in range(n)])
    return len(latencies), latencies


def _batches(seed: int, users: Sequence[str], items: Sequence[str], count: int, batch: int) -> list[bytes]:
    """`count` serialized TrackEvents requests of `batch` new events each, built before the clock runs
    (the sender then costs a send per batch, not a protobuf message per event)."""
    rng, now = random.Random(seed), int(time.time() * 1000)
    return [pb.TrackEventsRequest(events=[
        pb.Event(event_id=f"bench-{seed}-{b}-{k}", timestamp_ms=now, user_id=rng.choice(users),
                 session_id=f"bench-s{rng.randrange(10_000)}", item_id=rng.choice(items), type=rng.choice(_TYPES),
                 qty=1, channel=pb.CHANNEL_WEB) for k in range(batch)]).SerializeToString() for b in range(count)]


def _senders(target: str, batches: list[list[bytes]], seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stored, refused = [0], [0]
    workers: Counter[str] = Counter()  # batches stored per worker: each sender's connection stays on one
    deadline = time.monotonic() + seconds

    def send(own: list[bytes]) -> None:
        queue = iter(own)
        with grpc.insecure_channel(target, options=_FRESH) as channel:
            call = channel.unary_unary("/tailor.v1.Events/TrackEvents", request_serializer=None,
                                       response_deserializer=pb.TrackEventsResponse.FromString)

            def one() -> None:
                try:
                    reply, answer = call.with_call(next(queue), timeout=10)
                except grpc.RpcError:  # still busy after the client's retries: that batch is not stored
                    refused[0] += 1
                    return
                stored[0] += reply.accepted + reply.not_stored
                workers[str(dict(answer.trailing_metadata() or ()).get("x-tailor-worker", "?"))] += 1
            try:
                _loop(deadline, one, latencies)
            except StopIteration:
                return

    _run_threads([functools.partial(send, own) for own in batches])
    if refused[0]:
        log.warning("ingest_refused batches=%d", refused[0])
    log.warning("ingest_batches_per_worker %s", " ".join(f"{w}={n}" for w, n in sorted(workers.items())))
    return stored[0], latencies


def _run_threads(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _visibility(target: str, items: Sequence[str], probes: int) -> list[float]:
    """Seconds from a TrackEvents ack to the first answer from another worker that reflects it."""
    seconds = []
    for k in range(probes):
        item, session = items[k % len(items)], f"probe-{k}-{time.time_ns()}"
        event = pb.Event(event_id=f"probe-{session}", timestamp_ms=int(time.time() * 1000), session_id=session,
                         item_id=item, type=pb.INTERACTION_TYPE_VIEW, channel=pb.CHANNEL_WEB)
        with grpc.insecure_channel(target, options=_FRESH) as channel:
            _, call = decision_pb2_grpc.EventsStub(channel).TrackEvents.with_call(
                pb.TrackEventsRequest(events=[event]), timeout=10)
        acked, stored_by = time.perf_counter(), dict(call.trailing_metadata() or ())["x-tailor-worker"]
        request = pb.RecommendRequest(n=10, context=pb.Context(session_id=session))
        while time.perf_counter() - acked < 5:
            with grpc.insecure_channel(target, options=_FRESH) as channel:
                reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(request, timeout=5)
            worker = dict(call.trailing_metadata() or ())["x-tailor-worker"]
            if worker != stored_by and item not in {i.item_id for i in reply.items}:
                seconds.append(time.perf_counter() - acked)
                break
    return seconds


def _cpu(server: ServerProcess) -> tuple[float, float, float]:
    """CPU seconds so far: the server's processes, this load generator, the whole machine."""
    own = os.times()
    return server.usage()[0], own.user + own.system, machine_busy()


def _cores(before: tuple[float, float, float], after: tuple[float, float, float], seconds: float) -> str:
    server, loadgen, machine = ((b - a) / seconds for a, b in zip(before, after, strict=True))
    return f"server {server:.2f}, load generator {loadgen:.2f}, other {max(machine - server - loadgen, 0):.2f} cores"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.ingest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, required=True, help="artifact root; its current version is copied")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--probes", type=int, default=50)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-ingest-") as tmp:
        root = Path(tmp)  # a private copy: the live store it fills is thrown away
        shutil.copytree(artifact.resolve_current(args.artifacts), root / "v")
        artifact.switch_current(root, root / "v")
        pool = load_pool(root)
        catalog_ids = pool.items[:5000]
        port = free_port()
        command = server_command("tailor", root, port, args.workers, 4)
        with running("tailor", command, port, root / "serve.log", build_payloads(pool, count=1)[0]) as server:
            start = _cpu(server)
            reads, alone = _readers(server.target, pool, args.readers, args.duration)
            alone_cpu = _cores(start, _cpu(server), args.duration)
            results: dict[str, tuple[int, list[float]]] = {}
            per_sender = int(args.duration * _MAX_BATCHES_PER_SECOND / args.senders) + 1
            batches = [_batches(s, pool.users, catalog_ids, per_sender, args.batch) for s in range(args.senders)]
            ingest = threading.Thread(target=lambda: results.__setitem__("ingest", _senders(
                server.target, batches, args.duration)))
            start = _cpu(server)
            ingest.start()
            reads_with, together = _readers(server.target, pool, args.readers, args.duration)
            ingest.join()
            together_cpu = _cores(start, _cpu(server), args.duration)
            events, batch_seconds = results["ingest"]
            visible = _visibility(server.target, catalog_ids, args.probes)
    print(f"ingestion: {events} events stored in {args.duration:.0f} s = {events / args.duration:,.0f} events/s "
          f"({args.senders} senders, batches of {args.batch}, {args.workers} workers, sync on); "
          f"batch {_percentiles(batch_seconds)}")
    print(f"reads alone:          {reads / args.duration:,.0f} RPS, {_percentiles(alone)}")
    print(f"reads with ingestion: {reads_with / args.duration:,.0f} RPS, {_percentiles(together)}")
    print(f"CPU, reads alone: {alone_cpu}; with ingestion: {together_cpu}")
    print(f"visible on another worker after the ack: {len(visible)}/{args.probes} probes, {_percentiles(visible)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

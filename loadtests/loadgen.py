"""A cheap gRPC load generator: one process, grpc.aio, pre-serialized requests.

The generator shares the machine's cores with the server it measures, so it
does as little as it can per call: requests are serialized once up front and
go out as raw bytes (`request_serializer=None`), responses come back unparsed
(`response_deserializer=None`) and only every `sample_every`-th one is parsed
to read the artifact `version` that answered.

Two ways to drive a server, each bounded in time and in calls:

- `open_loop(rate)`: calls are *scheduled* at a fixed rate whether or not
  earlier ones have come back, and latency is measured from each call's
  scheduled send time, so a server (or generator) that falls behind shows it
  as latency instead of hiding it (no coordinated omission). Calls may go out
  up to 1 ms early (timer resolution); those are timed from their send.
- `closed_loop(concurrency)`: a fixed number of calls in flight, each sent as
  the previous one returns: the most the server (with this generator) can do.

Calls spread over several connections (`connections`), each its own TCP
connection so that the kernel's SO_REUSEPORT balancing sees many flows; each
call goes to the less busy of two randomly picked connections (power of two
choices), as a least-request load balancer would.
"""

from __future__ import annotations

import asyncio
import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc
import numpy as np

from loadtests.payloads import PayloadPool
from protos import decision_pb2 as pb

__all__ = ["RPCS", "Payload", "build_payloads", "Summary", "PhaseResult", "LoadGenerator"]

RPCS = ("Recommend", "Rerank")
_RESPONSES = (pb.RecommendResponse, pb.RerankResponse)
_UNFINISHED = "UNFINISHED"
_DRAIN_EXTRA = 1.0  # seconds past the deadline to wait for the last calls of a phase
# Calls go out up to this early: event-loop timers wake up to ~1 ms late (epoll's millisecond
# resolution), which would otherwise show up as latency. A call sent early is timed from its send.
_EARLY = 0.001


@dataclass(frozen=True, slots=True)
class Payload:
    rpc: int  # index into RPCS
    data: bytes


def build_payloads(pool: PayloadPool, count: int = 4000, seed: int = 1, request_ids: bool = False) -> list[Payload]:
    """`count` serialized requests: 60 % Rerank (100-200 candidates), 40 % Recommend
    (20 % known user on the home page, 10 % anonymous session, 10 % product page); with `request_ids`,
    each carries one (an experiment then remembers every answer)."""
    rng = random.Random(seed)
    payloads = []
    for k in range(count):
        draw = rng.random()
        request: pb.RecommendRequest | pb.RerankRequest
        if draw < 0.6:
            request = pool.rerank(rng)
        elif draw < 0.8:
            request = pool.recommend_for_user(rng)
        elif draw < 0.9:
            request = pool.recommend_for_session(rng)
        else:
            request = pool.recommend_for_product(rng)
        if request_ids:
            request.request_id = f"bench-{k}"
        payloads.append(Payload(int(draw < 0.6), request.SerializeToString()))
    return payloads


@dataclass(frozen=True)
class Summary:
    """One RPC (or all) over one phase; latencies in milliseconds."""

    calls: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int


@dataclass
class PhaseResult:
    """Every call of one phase: which RPC, when it was due (s since the phase start), latency, status."""

    name: str
    rate: float | None  # offered calls/s (open loop), None for closed loop
    concurrency: int | None
    started: float = 0.0  # time.perf_counter() at the phase start
    seconds: float = 0.0  # how long calls were being sent
    wall: float = 0.0  # the whole phase, waiting for the last calls included
    client_cpu: float = 0.0  # generator process CPU seconds over the phase (all its threads)
    rpc: array = field(default_factory=lambda: array("b"))
    due: array = field(default_factory=lambda: array("d"))
    latency: array = field(default_factory=lambda: array("d"))
    ok: array = field(default_factory=lambda: array("b"))
    lag: array = field(default_factory=lambda: array("d"))  # open loop: how late the generator sent each call
    errors: Counter[str] = field(default_factory=Counter)
    versions: list[tuple[float, str]] = field(default_factory=list)  # (completed at, version) samples
    response_bytes: list[int] = field(default_factory=lambda: [0] * len(RPCS))  # total, per RPC

    def mean_response_bytes(self, rpc: int) -> float:
        ok = np.frombuffer(self.ok, dtype=np.int8).astype(bool) & (np.frombuffer(self.rpc, dtype=np.int8) == rpc)
        return self.response_bytes[rpc] / max(1, int(ok.sum()))

    def record(self, rpc: int, due: float, latency: float, status: str | None) -> None:
        self.rpc.append(rpc)
        self.due.append(due)
        self.latency.append(latency)
        self.ok.append(status is None)
        if status is not None:
            self.errors[status] += 1

    def summary(self, rpc: int | None = None, window: tuple[float, float] | None = None) -> Summary:
        """Calls of `rpc` (None: all) due inside `window`; unfinished calls count as errors and slowest."""
        latency = np.frombuffer(self.latency, dtype=np.float64) if self.latency else np.zeros(0)
        ok = np.frombuffer(self.ok, dtype=np.int8).astype(bool) if self.ok else np.zeros(0, dtype=bool)
        select = np.ones(len(latency), dtype=bool)
        if rpc is not None:
            select &= np.frombuffer(self.rpc, dtype=np.int8) == rpc
        span = self.seconds
        if window is not None:
            due = np.frombuffer(self.due, dtype=np.float64)
            select &= (due >= window[0]) & (due < window[1])
            span = window[1] - window[0]
        lat, good = latency[select], ok[select]
        if not len(lat):
            return Summary(0, 0.0, float("nan"), float("nan"), float("nan"), 0)
        p50, p95, p99 = np.percentile(lat, [50, 95, 99], method="higher") * 1000.0
        return Summary(len(lat), float(good.sum()) / max(span, 1e-9), float(p50), float(p95), float(p99),
                       int((~good).sum()))

    def send_lag_p99(self) -> float:
        """ms by which the generator itself was late sending (99th percentile); large = generator-bound."""
        if not self.lag:
            return 0.0
        return float(np.percentile(np.frombuffer(self.lag, dtype=np.float64), 99, method="higher")) * 1000.0


class LoadGenerator:
    """Drives one server at `target`; use as `async with LoadGenerator(...) as gen:`."""

    def __init__(self, target: str, payloads: Sequence[Payload], *, connections: int = 8,
                 timeout: float = 2.0, seed: int = 2) -> None:
        if not payloads:
            raise ValueError("LoadGenerator.payloads: need at least one request")
        self._target = target
        self._payloads = list(payloads)
        self._connections = max(1, connections)
        self._timeout = timeout
        self._rng = random.Random(seed)
        self._channels: list[grpc.aio.Channel] = []
        self._calls: list[tuple[grpc.aio.UnaryUnaryMultiCallable, ...]] = []
        self._in_flight: list[int] = []
        self._next = 0
        self._on_sample: Callable[[float, str], None] | None = None

    async def __aenter__(self) -> LoadGenerator:
        for i in range(self._connections):
            # A private subchannel pool per channel: a TCP connection of its own.
            channel = grpc.aio.insecure_channel(self._target, options=[
                ("grpc.use_local_subchannel_pool", 1), ("grpc.bench_connection", i)])
            self._channels.append(channel)
            self._calls.append(tuple(channel.unary_unary(f"/tailor.v1.Decision/{rpc}", request_serializer=None,
                                                         response_deserializer=None) for rpc in RPCS))
            self._in_flight.append(0)
        await asyncio.gather(*(asyncio.wait_for(c.channel_ready(), 30.0) for c in self._channels))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(c.close(None) for c in self._channels))

    def _pick(self) -> int:
        a = self._rng.randrange(self._connections)
        b = self._rng.randrange(self._connections)
        return a if self._in_flight[a] <= self._in_flight[b] else b

    async def _call(self, result: PhaseResult, t0: float, due: float, sample: bool) -> None:
        payload = self._payloads[self._next % len(self._payloads)]
        self._next += 1
        conn = self._pick()
        self._in_flight[conn] += 1
        begin = time.perf_counter()
        result.lag.append(begin - t0 - due)
        # From the due time, or from the send if the generator sent early (see _EARLY).
        start = min(begin, t0 + due)
        status: str | None = None
        response = b""
        try:
            response = await self._calls[conn][payload.rpc](payload.data, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            status = exc.code().name
        finally:
            self._in_flight[conn] -= 1
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return  # cancelled by _drain, which counts the call as unfinished
        done = time.perf_counter()
        result.record(payload.rpc, due, done - start, status)
        result.response_bytes[payload.rpc] += len(response)
        if sample and status is None:
            version = _RESPONSES[payload.rpc].FromString(response).version
            result.versions.append((done - t0, version))
            if self._on_sample is not None:
                self._on_sample(done, version)

    async def open_loop(self, name: str, rate: float, seconds: float, *, max_calls: int | None = None,
                        sample_every: int = 50, stop: asyncio.Event | None = None,
                        on_sample: Callable[[float, str], None] | None = None) -> PhaseResult:
        """`rate` calls/s for `seconds` (or `max_calls`, or until `stop` is set), latency from each due time.

        `on_sample(perf_counter_time, version)` is called for every parsed (sampled) answer.
        """
        total = int(rate * seconds) if max_calls is None else min(max_calls, int(rate * seconds))
        tasks: set[asyncio.Task[None]] = set()
        self._on_sample = on_sample
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = PhaseResult(name, rate, None, started=t0)
        sent = 0
        while sent < total and not (stop is not None and stop.is_set()):
            now = time.perf_counter() - t0
            due_count = min(total, int((now + _EARLY) * rate) + 1)
            while sent < due_count:
                task = asyncio.create_task(self._call(result, t0, sent / rate, sent % sample_every == 0))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(max(0.0, sent / rate - _EARLY - (time.perf_counter() - t0)))
        result.seconds = sent / rate
        await self._drain(tasks, result, t0)
        result.client_cpu = time.process_time() - cpu0
        result.wall = time.perf_counter() - t0
        self._on_sample = None
        return result

    async def closed_loop(self, name: str, concurrency: int, seconds: float, *, max_calls: int | None = None,
                          sample_every: int = 50) -> PhaseResult:
        """`concurrency` calls always in flight for `seconds` (or `max_calls`); latency from each send."""
        limit = max_calls if max_calls is not None else 1 << 62
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = PhaseResult(name, None, concurrency, started=t0)
        end = t0 + seconds
        sent = 0

        async def caller() -> None:
            nonlocal sent
            while sent < limit and time.perf_counter() < end:
                sent += 1
                await self._call(result, t0, time.perf_counter() - t0, sent % sample_every == 0)

        callers = {asyncio.create_task(caller()) for _ in range(concurrency)}
        await asyncio.wait(callers, timeout=seconds + self._timeout + _DRAIN_EXTRA)
        result.seconds = min(time.perf_counter(), end) - t0
        await self._drain(callers, result, t0)
        result.client_cpu = time.process_time() - cpu0
        result.wall = time.perf_counter() - t0
        return result

    async def _drain(self, tasks: set[asyncio.Task[None]], result: PhaseResult, t0: float) -> None:
        """Wait for the calls still out; any that outlive their deadline are cancelled and counted."""
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=self._timeout + _DRAIN_EXTRA)
            for task in pending:
                task.cancel()
            unfinished = len(pending)
            if unfinished:
                now = time.perf_counter() - t0
                for _ in range(unfinished):
                    result.record(-1, now, float("inf"), _UNFINISHED)

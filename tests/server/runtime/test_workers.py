"""Worker processes: all answer on one port, a killed one is restarted, SIGTERM drains.

What must hold on every worker is proven per worker: each answer names the worker
that gave it (the `x-tailor-worker` trailing metadata), and a test waits until every
live worker pid has answered, not for some number of answers.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.client import RETRY_OPTIONS
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer, ServerConfig, start_server
from server.api.service import DecisionServicer
from server.runtime.metrics import Metrics
from server.runtime.versions import SnapshotHolder
from tests.conftest import Built
from tests.support import LOYAL_USER, Answer, ServeProcess, late_old_answers, publish_copy
from tests.waiting import wait_until

# A private subchannel pool: a fresh connection per channel, so SO_REUSEPORT may pick any worker.
_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
_PATIENCE = 120.0  # seconds a condition may take on a loaded machine; only a bound, never waited out


@pytest.fixture
def serve() -> Iterator[Callable[..., ServeProcess]]:
    """Start `tailor serve` processes; each is stopped at the end even when the test fails."""
    started: list[ServeProcess] = []

    def start(root: Path, *flags: str) -> ServeProcess:
        started.append(ServeProcess(root, *flags))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def workers(built: Built) -> Iterator[ServeProcess]:
    server = ServeProcess(built.root, "--workers", "2", "--threads", "2", "--metrics-port", "0")
    yield server
    server.stop()


def _call(stub: decision_pb2_grpc.DecisionStub) -> Answer:
    sent = time.monotonic()
    reply, call = stub.Recommend.with_call(pb.RecommendRequest(user_id=LOYAL_USER, n=5), timeout=10)
    metadata = dict(call.trailing_metadata() or ())
    return Answer(sent, time.monotonic(), reply.version, int(metadata["x-tailor-worker"]))


def _answer(target: str) -> Answer:
    """One call over a fresh connection."""
    with grpc.insecure_channel(target, options=_FRESH) as channel:
        return _call(decision_pb2_grpc.DecisionStub(channel))


def _exited(pid: int) -> bool:
    """True once `pid` is gone or a zombie: its sockets are closed either way."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _every_worker_answering(server: ServeProcess, count: int = 2) -> set[int]:
    """Wait until the server has `count` live workers and each has answered a call; returns their pids."""
    seen: set[int] = set()

    def live() -> set[int]:
        return {pid for pid in server.worker_pids() if not _exited(pid)}

    def every_one_answered() -> set[int]:
        seen.add(_answer(server.target).worker)
        pids = live()
        return pids if len(pids) == count and pids <= seen else set()

    pids = wait_until(every_one_answered, _PATIENCE,
                      lambda: f"{count} live workers, each answering (live: {live()}, answered: {seen})")
    assert seen == pids, f"answers came from {seen - pids}, which is no live worker"
    return pids


def _scrape(server: ServeProcess) -> dict[str, float]:
    port = server.logged(r"metrics_started port=(\d+)")
    assert port, "the server did not log its metrics port"
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("tailor_"))}


def test_every_worker_answers(workers: ServeProcess) -> None:
    assert len(_every_worker_answering(workers)) == 2


def test_killed_worker_is_restarted_and_the_port_keeps_serving(workers: ServeProcess) -> None:
    before = _every_worker_answering(workers)
    restarts = _scrape(workers).get("tailor_worker_restarts_total", 0.0)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # Connections the kernel had already queued on the victim's socket are reset with it;
    # once it has exited, every new connection lands on a live worker.
    wait_until(lambda: _exited(victim), _PATIENCE, f"killed worker {victim} has exited")
    answered = {_answer(workers.target).worker for _ in range(20)}
    assert victim not in answered
    # A replacement starts and takes its share of new connections.
    after = _every_worker_answering(workers)
    assert victim not in after and len(after - before) == 1
    assert _scrape(workers)["tailor_worker_restarts_total"] == restarts + 1


def test_metrics_aggregate_every_worker(workers: ServeProcess, built: Built) -> None:
    pids = _every_worker_answering(workers)
    before = _scrape(workers)
    calls: Counter[int] = Counter()

    def each_worker_answered_ten() -> bool:
        calls[_answer(workers.target).worker] += 1
        return all(calls[pid] >= 10 for pid in pids)

    wait_until(each_worker_answered_ten, _PATIENCE, lambda: f"each of workers {pids} answers ten calls: {calls}")
    assert set(calls) == pids
    after = _scrape(workers)
    ok = 'tailor_rpc_calls_total{code="OK",rpc="Recommend"}'
    latency = 'tailor_rpc_latency_seconds_count{rpc="Recommend"}'
    # Every call of every worker is counted once by the supervisor's endpoint.
    assert after[ok] - before.get(ok, 0.0) == calls.total()
    assert after[latency] - before.get(latency, 0.0) == calls.total()
    assert after[f'tailor_artifact_version_info{{version="{built.manifest.version}"}}'] == 1.0
    assert 0 <= after["tailor_artifact_age_seconds"] < 24 * 3600


def test_sigterm_reports_not_serving_then_drains(built: Built, serve: Callable[..., ServeProcess]) -> None:
    server = serve(built.root, "--workers", "1")
    channel = grpc.insecure_channel(server.target)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stub = decision_pb2_grpc.DecisionStub(channel)
    in_flight = [stub.Rerank.future(_big_rerank(built), timeout=30) for _ in range(20)]
    server.proc.send_signal(signal.SIGTERM)
    statuses = []
    for reply in watch:
        statuses.append(reply.status)
        if reply.status == health_pb2.HealthCheckResponse.NOT_SERVING:
            watch.cancel()
            break
    codes = [_code(call) for call in in_flight]
    assert server.stop() == 0
    channel.close()
    assert statuses[-1] == health_pb2.HealthCheckResponse.NOT_SERVING
    # Sent before SIGTERM: answered during the lame-duck period, none cancelled.
    assert codes == [grpc.StatusCode.OK] * len(in_flight)
    assert server.logged("worker_draining")


def _big_rerank(built: Built) -> pb.RerankRequest:
    return pb.RerankRequest(user_id=LOYAL_USER, n=1000, candidates=[
        pb.Candidate(item_id=i, score=float(k)) for k, i in enumerate(list(built.store.category)[:800])])


def _code(call: grpc.Future) -> grpc.StatusCode:
    """The status a call ended with (waits for it)."""
    try:
        call.result()
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        return exc.code()


class _GatedServicer(DecisionServicer):
    """Holds every Rerank at the door until `gate` opens; the server's own checks come after it.

    A call held here occupies the server's only thread, so the test knows, rather than
    hopes, which calls are in flight and which wait in the queue behind it.
    """

    def __init__(self, config: ServerConfig, holder: SnapshotHolder, metrics: Metrics) -> None:
        super().__init__(config, holder, metrics)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def Rerank(self, request: pb.RerankRequest, context: grpc.ServicerContext) -> pb.RerankResponse:
        self.entered.set()
        self.gate.wait(_PATIENCE)
        return super().Rerank(request, context)


class _GatedServer:
    """An in-process server with one thread, whose Rerank calls wait at a gate; opened when the block ends."""

    def __init__(self, root: Path, max_concurrent: int) -> None:
        made: list[_GatedServicer] = []

        def make(config: ServerConfig, holder: SnapshotHolder, metrics: Metrics, live: object) -> _GatedServicer:
            made.append(_GatedServicer(config, holder, metrics))
            return made[-1]

        self.running: RunningServer = start_server(
            ServerConfig(artifacts=root, port=0, threads=1, max_concurrent=max_concurrent), make_servicer=make)
        self.servicer = made[0]
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.running.port}")
        self.stub = decision_pb2_grpc.DecisionStub(self.channel)

    def __enter__(self) -> _GatedServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.servicer.gate.set()
        self.channel.close()
        self.running.stop(grace=None)

    def hold_the_thread(self, request: pb.RerankRequest) -> grpc.Future:
        """Send a call and wait until it holds the server's only thread at the gate."""
        call = self.stub.Rerank.future(request, timeout=_PATIENCE)
        wait_until(self.servicer.entered.is_set, _PATIENCE, "the first call reaches the servicer")
        return call


def test_calls_beyond_the_concurrency_bound_are_refused_at_once(own_root: Path, built: Built) -> None:
    big = _big_rerank(built)
    with _GatedServer(own_root, max_concurrent=2) as server:
        held = server.hold_the_thread(big)
        later = [server.stub.Rerank.future(big, timeout=_PATIENCE) for _ in range(24)]
        # One call held and one queued reach the bound: all the others are answered while the gate is still shut.
        wait_until(lambda: sum(call.done() for call in later) >= len(later) - 1, _PATIENCE,
                   lambda: f"all calls but one answered at once ({sum(c.done() for c in later)} of {len(later)})")
        queued = [call for call in later if not call.done()]
        refused = [_code(call) for call in later if call.done()]
        assert len(queued) == 1
        server.servicer.gate.set()
        assert [_code(held), _code(queued[0])] == [grpc.StatusCode.OK] * 2
    assert refused == [grpc.StatusCode.RESOURCE_EXHAUSTED] * (len(later) - 1)


def _computed(rpc: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("tailor_rpc_calls_total", {"rpc": rpc, "code": "OK"}) or 0.0


def test_a_call_whose_deadline_passed_in_the_queue_is_not_computed(own_root: Path, built: Built) -> None:
    big = _big_rerank(built)
    before = _computed("Rerank")
    with _GatedServer(own_root, max_concurrent=64) as server:
        held = server.hold_the_thread(big)
        # They queue behind the held call; result() returns once each caller has given up.
        hurried = [server.stub.Rerank.future(big, timeout=0.5) for _ in range(5)]
        assert [_code(call) for call in hurried] == [grpc.StatusCode.DEADLINE_EXCEEDED] * 5
        server.servicer.gate.set()
        assert _code(held) == grpc.StatusCode.OK
        # One thread, first in first out: once a call sent after them is answered, the server is done with them.
        server.stub.Rerank(big, timeout=_PATIENCE)
        # Computed to the end: the held call and the last one, none for a caller who had already given up.
        assert _computed("Rerank") - before == 2


class _Stream:
    """Threads calling Recommend, each over its own connection, until the block ends; keeps every answer and error.

    `probe` adds a call over a fresh connection: the stream's connections may all land on one
    worker, the probes reach each worker sooner or later.
    """

    def __init__(self, target: str, connections: int) -> None:
        self.target = target
        self.answers: list[Answer] = []
        self.errors: list[grpc.RpcError] = []
        self.calls = [0] * connections
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,)) for k in range(connections)]

    def __enter__(self) -> _Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, k: int) -> None:
        with grpc.insecure_channel(self.target, options=_FRESH) as channel:
            stub = decision_pb2_grpc.DecisionStub(channel)
            while not self._stop.is_set():
                self._record(lambda: _call(stub))
                self.calls[k] += 1

    def _record(self, call: Callable[[], Answer]) -> None:
        try:
            self.answers.append(call())
        except grpc.RpcError as exc:
            self.errors.append(exc)

    def probe(self) -> None:
        self._record(lambda: _answer(self.target))


def _answered_since_first(answers: list[Answer], version: str) -> Counter[int]:
    """Per worker, how many calls were sent after that worker first answered with `version`."""
    first: dict[int, float] = {}
    for a in answers:
        if a.version == version:
            first[a.worker] = min(first.get(a.worker, a.received), a.received)
    return Counter(a.worker for a in answers if a.worker in first and a.sent > first[a.worker])


def test_workers_swap_versions_under_a_stream_without_errors(own_root: Path,
                                                             serve: Callable[..., ServeProcess]) -> None:
    server = serve(own_root, "--workers", "2")
    pids = _every_worker_answering(server)
    new = "v-workers"
    with _Stream(server.target, connections=10) as stream:
        wait_until(lambda: min(stream.calls) >= 5, _PATIENCE, lambda: f"every connection answers: {stream.calls}")
        published = time.monotonic()
        publish_copy(own_root, new)

        def every_worker_answers_new() -> bool:
            stream.probe()
            since = _answered_since_first(list(stream.answers), new)
            return all(since[pid] >= 20 for pid in pids)

        # Each worker swaps on its own; wait until every one has answered with the new version,
        # then for twenty calls more from each, which must all name it.
        wait_until(every_worker_answers_new, _PATIENCE,
                   lambda: f"workers {pids} answer with {new}: {_answered_since_first(list(stream.answers), new)}")
    assert server.stop() == 0
    answers = stream.answers
    assert stream.errors == []
    old = answers[0].version
    assert old != new
    assert [a for a in answers if a.received < published and a.version != old] == []
    assert late_old_answers(answers, new) == []
    assert {a.worker for a in answers} == pids

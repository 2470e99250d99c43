"""Worker processes: all answer on one port, a killed one is restarted, SIGTERM drains."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.client import RETRY_OPTIONS
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer, ServerConfig, start_server
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess


@pytest.fixture(scope="module")
def workers(built: Built) -> Iterator[ServeProcess]:
    server = ServeProcess(built.root, "--workers", "2", "--threads", "2", "--metrics-port", "0")
    yield server
    server.stop()


def _answering_pid(target: str) -> int:
    """Ask over a fresh connection (no shared subchannel), so SO_REUSEPORT may pick any worker."""
    options = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
    with grpc.insecure_channel(target, options=options) as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        _, call = stub.Recommend.with_call(pb.RecommendRequest(user_id=LOYAL_USER, n=3), timeout=10)
        return int(dict(call.trailing_metadata())["x-tailor-worker"])


def _until_exited(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


def _pids_seen(target: str, calls: int) -> set[int]:
    return {_answering_pid(target) for _ in range(calls)}


def test_every_worker_answers(workers: ServeProcess) -> None:
    assert len(workers.worker_pids()) == 2
    assert _pids_seen(workers.target, 60) == workers.worker_pids()


def test_killed_worker_is_restarted_and_the_port_keeps_serving(workers: ServeProcess) -> None:
    before = workers.worker_pids()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # Connections the kernel had already queued on the victim's socket are reset with it;
    # once it has exited, every new connection lands on a live worker.
    assert _until_exited(victim)
    survivors = _pids_seen(workers.target, 20)
    assert victim not in survivors and survivors
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(workers.worker_pids() - {victim}) < 2:
        time.sleep(0.1)
    after = workers.worker_pids()
    assert len(after) == 2 and victim not in after
    # The restarted worker takes its share of new connections.
    assert _pids_seen(workers.target, 80) == after


def _scrape(server: ServeProcess) -> dict[str, float]:
    port = next(m.group(1) for line in server.log if (m := re.search(r"metrics_started port=(\d+)", line)))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("tailor_"))}


def test_metrics_aggregate_every_worker(workers: ServeProcess, built: Built) -> None:
    calls = 40
    for _ in range(calls):
        _answering_pid(workers.target)
    metrics = _scrape(workers)
    assert metrics['tailor_rpc_calls_total{code="OK",rpc="Recommend"}'] >= calls
    assert metrics[f'tailor_artifact_version_info{{version="{built.manifest.version}"}}'] == 1.0
    assert metrics["tailor_worker_restarts_total"] >= 1.0  # the worker killed above
    assert metrics['tailor_rpc_latency_seconds_count{rpc="Recommend"}'] >= calls
    assert 0 <= metrics["tailor_artifact_age_seconds"] < 24 * 3600


def test_sigterm_reports_not_serving_then_drains(built: Built) -> None:
    server = ServeProcess(built.root, "--workers", "1")
    channel = grpc.insecure_channel(server.target)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stub = decision_pb2_grpc.DecisionStub(channel)
    big = pb.RerankRequest(user_id=LOYAL_USER, n=1000, candidates=[
        pb.Candidate(item_id=i, score=float(k)) for k, i in enumerate(list(built.store.category)[:800])])
    in_flight = [stub.Rerank.future(big, timeout=30) for _ in range(20)]
    server.proc.send_signal(signal.SIGTERM)
    statuses = []
    for reply in watch:
        statuses.append(reply.status)
        if reply.status == health_pb2.HealthCheckResponse.NOT_SERVING:
            watch.cancel()
            break
    codes = []
    for call in in_flight:
        try:
            call.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            codes.append(exc.code())
    assert server.stop() == 0
    channel.close()
    assert statuses[-1] == health_pb2.HealthCheckResponse.NOT_SERVING
    # Sent before SIGTERM: answered during the lame-duck period, none cancelled.
    assert codes == [grpc.StatusCode.OK] * len(in_flight)
    assert any("worker_draining" in line for line in server.log)


@pytest.fixture
def tiny_server(own_root: Path) -> Iterator[RunningServer]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, threads=1, max_concurrent=2))
    yield server
    server.stop(grace=None)


def test_calls_beyond_the_concurrency_bound_are_refused_at_once(tiny_server: RunningServer, built: Built) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{tiny_server.port}")
    stub = decision_pb2_grpc.DecisionStub(channel)
    big = pb.RerankRequest(user_id=LOYAL_USER, n=1000, candidates=[
        pb.Candidate(item_id=i, score=float(k)) for k, i in enumerate(list(built.store.category)[:800])])
    barrier = threading.Barrier(24)

    def call() -> grpc.StatusCode:
        barrier.wait()
        try:
            stub.Rerank(big, timeout=30)
            return grpc.StatusCode.OK
        except grpc.RpcError as exc:
            return exc.code()

    with futures.ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(lambda _: call(), range(24)))
    channel.close()
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert grpc.StatusCode.OK in codes
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_a_call_whose_deadline_passed_in_the_queue_is_not_computed(own_root: Path, built: Built) -> None:
    from server.metrics import process_metrics

    server = start_server(ServerConfig(artifacts=own_root, port=0, threads=1, max_concurrent=64))

    computed = process_metrics().calls.labels("Rerank", "OK")
    before = computed._value.get()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = decision_pb2_grpc.DecisionStub(channel)
    big = pb.RerankRequest(user_id=LOYAL_USER, n=1000, candidates=[
        pb.Candidate(item_id=i, score=float(k)) for k, i in enumerate(list(built.store.category)[:800])])
    # One thread: the short-deadline calls wait behind the slow ones and expire in the queue.
    slow = [stub.Rerank.future(big, timeout=30) for _ in range(20)]
    time.sleep(0.005)  # the slow calls reach the server first; the hurried ones queue behind them all
    hurried = [stub.Rerank.future(big, timeout=0.003) for _ in range(5)]
    for call in slow:
        call.result()
    answered = 0
    for call in hurried:
        try:
            call.result()
            answered += 1
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    channel.close()
    time.sleep(0.2)
    server.stop(grace=None)
    assert answered < 5
    # Calls the server computed to the end are exactly those the callers received: none was
    # computed for a caller who had already given up.
    assert computed._value.get() - before == len(slow) + answered


def test_workers_swap_versions_under_a_stream_without_errors(own_root: Path) -> None:
    from tests.support import publish_copy

    server = ServeProcess(own_root, "--workers", "2")
    answers: list[tuple[str, int]] = []  # (version, worker pid)
    errors: list[grpc.RpcError] = []
    stop = threading.Event()

    def stream() -> None:
        options = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
        with grpc.insecure_channel(server.target, options=options) as channel:
            stub = decision_pb2_grpc.DecisionStub(channel)
            while not stop.is_set():
                try:
                    reply, call = stub.Recommend.with_call(pb.RecommendRequest(user_id=LOYAL_USER, n=5), timeout=5)
                    answers.append((reply.version, int(dict(call.trailing_metadata())["x-tailor-worker"])))
                except grpc.RpcError as exc:
                    errors.append(exc)

    threads = [threading.Thread(target=stream) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    publish_copy(own_root, "v-workers")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [v for v, _ in answers[-60:]].count("v-workers") < 60:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert server.stop() == 0
    assert errors == []
    assert answers[0][0] != "v-workers"
    last = answers[-60:]
    assert {v for v, _ in last} == {"v-workers"}
    # Every worker that answered (ten connections: both, but for a 1-in-500 chance) now answers new.
    assert {pid for _, pid in last} == {pid for _, pid in answers}

"""Locust users for Tailor's gRPC API, with payloads drawn from the built artifacts.

  TAILOR_ARTIFACTS=var/demo/artifacts locust -f loadtests/locustfile.py --headless \
      --host 127.0.0.1:50051 -u 20 -r 10 -t 30s

Mix: 60 % Rerank (100-200 candidates), 40 % Recommend (user, anonymous session, product page).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User, between, events, task

from loadtests.payloads import PayloadPool, load_pool
from protos import decision_pb2_grpc

grpc_gevent.init_gevent()

_POOL: PayloadPool | None = None


@events.init.add_listener
def _load_payloads(environment: Any, **_kwargs: Any) -> None:
    global _POOL
    _POOL = load_pool(Path(os.environ.get("TAILOR_ARTIFACTS", "var/demo/artifacts")))


class TailorUser(User):
    """One storefront or search-service caller; every call has a 1 s deadline."""

    wait_time = between(0.005, 0.02)

    def on_start(self) -> None:
        self._channel = grpc.insecure_channel(self.host or "127.0.0.1:50051")
        self._stub = decision_pb2_grpc.DecisionStub(self._channel)
        self._rng = random.Random()
        if _POOL is None:
            raise RuntimeError("payload pool not loaded")
        self._pool: PayloadPool = _POOL

    def on_stop(self) -> None:
        self._channel.close()

    def _call(self, name: str, method: Callable[..., Any], request: Any) -> None:
        start = time.perf_counter()
        error: Exception | None = None
        size = 0
        try:
            size = method(request, timeout=1.0).ByteSize()
        except grpc.RpcError as exc:
            error = exc
        self.environment.events.request.fire(
            request_type="grpc", name=name, response_time=(time.perf_counter() - start) * 1000,
            response_length=size, exception=error, context={})

    @task(6)
    def rerank(self) -> None:
        self._call("Rerank", self._stub.Rerank, self._pool.rerank(self._rng))

    @task(2)
    def recommend_user(self) -> None:
        self._call("Recommend user", self._stub.Recommend, self._pool.recommend_for_user(self._rng))

    @task(1)
    def recommend_session(self) -> None:
        self._call("Recommend session", self._stub.Recommend, self._pool.recommend_for_session(self._rng))

    @task(1)
    def recommend_product(self) -> None:
        self._call("Recommend product", self._stub.Recommend, self._pool.recommend_for_product(self._rng))

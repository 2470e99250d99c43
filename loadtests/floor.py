"""The floor server: Tailor's gRPC stack with the decision taken out.

`FloorServicer` answers every call with a response built once at start-up, so
a benchmark run against it measures what the stack alone costs: the same
`server.runtime.workers.serve` supervisor, worker count, thread pool, port sharing,
health, reflection and artifact watcher; grpc still parses every request into
the real request message. Tailor's throughput divided by the floor's is the
share of the machine the decision logic leaves to the stack.

The prebuilt responses are real Tailor answers: at start-up each worker runs
`DecisionServicer` on a few requests drawn from its own snapshot and keeps,
per RPC and `n`, the median-sized response, so both servers put the same
bytes on the wire. A call with an `n` not seen at start-up gets the largest
prebuilt response of its RPC.

  python -m loadtests.floor --artifacts ROOT [--port P --workers W]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import grpc
from google.protobuf.message import Message

from loadtests.payloads import PayloadPool
from protos import artifact, decision_pb2_grpc
from protos import decision_pb2 as pb
from server.api.service import DecisionServicer
from server.errors import ArtifactError
from server.runtime.config import ServerConfig, config_from_env
from server.runtime.metrics import Metrics
from server.runtime.snapshot import Snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["FloorServicer", "OfflineContext", "main"]

_SAMPLES = 48  # requests per RPC computed at start-up to pick the prebuilt responses from


class OfflineContext:
    """Just enough of grpc.ServicerContext to call DecisionServicer outside a gRPC call."""

    def set_trailing_metadata(self, metadata: object) -> None:
        pass

    def time_remaining(self) -> float | None:
        return None

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise RuntimeError(f"request failed outside gRPC: {code.name}: {details}")

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        raise RuntimeError(f"request failed outside gRPC: {status.code.name}: {status.details}")


def _sample_pool(snapshot: Snapshot, rng: random.Random, size: int = 256) -> PayloadPool:
    """A few users with a profile and items of the catalog, read straight from the snapshot."""
    users = snapshot.profiles.user_ids(size)
    catalog = snapshot.catalog
    rows = rng.sample(range(catalog.n_items), min(size * 4, catalog.n_items))
    return PayloadPool(users=users or ["anonymous"], items=[catalog.item_id(r) for r in rows])


def _median_by_n(responses: Iterable[Message]) -> dict[int, Any]:
    """Per number of items, the response of median serialized size."""
    groups: dict[int, list[Message]] = {}
    for response in responses:
        groups.setdefault(len(response.items), []).append(response)  # type: ignore[attr-defined]
    chosen = {}
    for n, group in groups.items():
        group.sort(key=lambda r: r.ByteSize())
        chosen[n] = group[len(group) // 2]
    return chosen


class FloorServicer(decision_pb2_grpc.DecisionServicer):
    """Returns a prebuilt, Tailor-sized response for every call; computes nothing per call."""

    def __init__(self, config: ServerConfig, holder: SnapshotHolder, metrics: Metrics, live: object = None) -> None:
        real = DecisionServicer(config, holder, metrics)
        context: Any = OfflineContext()
        rng = random.Random(0)
        snapshot = holder.current
        if snapshot is None:
            raise ArtifactError("floor server: no artifact version loaded")
        pool = _sample_pool(snapshot, rng)
        recommend_draws = (pool.recommend_for_user, pool.recommend_for_user, pool.recommend_for_session,
                           pool.recommend_for_product)
        recommend = [real.Recommend(recommend_draws[i % 4](rng), context) for i in range(_SAMPLES)]
        rerank = [real.Rerank(pool.rerank(rng), context) for _ in range(_SAMPLES)]
        self._recommend: dict[int, pb.RecommendResponse] = _median_by_n(recommend)
        self._rerank: dict[int, pb.RerankResponse] = _median_by_n(rerank)
        self._recommend_default = self._recommend[max(self._recommend)]
        self._rerank_default = self._rerank[max(self._rerank)]

    def Recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> pb.RecommendResponse:
        return self._recommend.get(request.n, self._recommend_default)

    def Rerank(self, request: pb.RerankRequest, context: grpc.ServicerContext) -> pb.RerankResponse:
        return self._rerank.get(request.n, self._rerank_default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtests.floor",
                                     description="Tailor's gRPC stack answering with prebuilt responses")
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--host")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the floor exactly as `tailor serve` serves Tailor: `server.runtime.workers.serve`, same flags."""
    from server.runtime.workers import serve

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='{"ts":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}')
    config = config_from_env(ServerConfig(artifacts=args.artifacts))
    flags = {"port": args.port, "host": args.host, "workers": args.workers, "threads": args.threads}
    config = replace(config, **{k: v for k, v in flags.items() if v is not None})
    if not (config.artifacts / artifact.CURRENT_LINK).exists():
        print(f"floor: error: {config.artifacts}/current does not exist", file=sys.stderr)
        return 2
    try:
        serve(config, make_servicer=FloorServicer)
    except ArtifactError as exc:
        print(f"floor: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

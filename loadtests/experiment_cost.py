"""What an experiment costs a call, in process and without gRPC.

  python -m loadtests.experiment_cost --artifacts ROOT [--calls 3000] [--rounds 5]

Copies ROOT/current to a temporary root (the impressions are written under it, not under ROOT), then
times each Recommend call (n=10, users with a profile, each with a request_id) through a
DecisionServicer without an experiment and, right after or before it, one with a two-variant
experiment (both on the default policy, so the ranking work is the same and the difference is the
experiment's: assignment, the per-variant counter, packing and buffering the impression): the median
of the paired differences is robust to a loaded machine. And the experiment's own steps
(`Arms.pick` + `Arms.remember`) alone. docs/experiments.md has the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from google.protobuf.message import Message

from loadtests.floor import OfflineContext
from protos import artifact
from protos import decision_pb2 as pb
from server.api.queries import parse_recommend
from server.api.service import DecisionServicer
from server.experiments.arms import Arms, Experiment, Variant
from server.live.store import LiveStore
from server.ranking.policy import RankingPolicy
from server.runtime.config import ServerConfig
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import load_snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["main", "paired"]


def paired(plain: DecisionServicer, tested: DecisionServicer, requests: Sequence[Message],
           rpc: str = "Recommend", tested_requests: Sequence[Message] | None = None) -> tuple[list[float], list[float]]:
    """Each request through both servicers' `rpc` back to back (alternating which goes first): per-call seconds
    of each, paired, so the machine's load hits both alike. `tested_requests`: the tested servicer's own
    request for each (else the same)."""
    context = OfflineContext()
    without, with_ = [], []
    clock = time.perf_counter
    calls = (getattr(plain, rpc), getattr(tested, rpc))
    for k, pair in enumerate(zip(requests, tested_requests or requests, strict=True)):
        order = tuple(zip(calls, pair, strict=True))
        order = order if k % 2 else order[::-1]
        times = []
        for call, request in order:
            started = clock()
            call(request, context)
            times.append(clock() - started)
        a, b = (times[0], times[1]) if k % 2 else (times[1], times[0])
        without.append(a)
        with_.append(b)
    return without, with_


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.experiment_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    experiment = Experiment("cost", (Variant("a", 0.5, RankingPolicy()), Variant("b", 0.5, RankingPolicy())))
    with tempfile.TemporaryDirectory(prefix="tailor-experiment-cost-") as tmp:
        root = Path(tmp)
        artifact.clone_current(args.artifacts, root)
        holder = SnapshotHolder(load_snapshot(artifact.resolve_current(root)))
        live = LiveStore(root)
        metrics = process_metrics()
        users = holder.current.profiles.user_ids(500)
        requests = [pb.RecommendRequest(user_id=users[k % len(users)], n=10, request_id=f"cost-{k}")
                    for k in range(args.calls)]
        plain = DecisionServicer(ServerConfig(artifacts=root), holder, metrics, live)
        tested = DecisionServicer(ServerConfig(artifacts=root, experiment=experiment), holder, metrics, live)
        paired(plain, tested, requests[:300])  # warm-up: caches, page cache
        without, with_ = [], []
        for _ in range(args.rounds):
            a, b = paired(plain, tested, requests)
            without += a
            with_ += b
        arms = Arms(experiment, RankingPolicy(), metrics, root)
        query = parse_recommend(requests[0], ServerConfig(artifacts=root).limits)
        ids = [f"item-{k:05d}" for k in range(10)]
        chunks = []  # 100 calls each; the median chunk, robust to a loaded machine
        for start in range(0, len(requests), 100):
            started = time.perf_counter()
            for request in requests[start:start + 100]:
                _, _, variant = arms.pick("Recommend", query, request.request_id)
                arms.remember(request.request_id, variant, ids)
            chunks.append((time.perf_counter() - started) / len(requests[start:start + 100]) * 1e6)
        steps = statistics.median(chunks)
        arms.close()
        tested.close()
        live.close()
        holder.current.close()
    plain_us, tested_us = statistics.median(without) * 1e6, statistics.median(with_) * 1e6
    extra = statistics.median(y - x for x, y in zip(without, with_, strict=True)) * 1e6
    print(f"Recommend n=10, {args.calls} users' calls x {args.rounds} rounds, each call through both servicers "
          f"back to back: median without an experiment {plain_us:.1f} us/call, with {tested_us:.1f} us/call; "
          f"median paired difference {extra:+.1f} us/call; pick + remember alone {steps:.2f} us/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

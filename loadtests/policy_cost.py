"""What a ranking setting costs a call, in process and without gRPC: the default policy against a baseline.

  python -m loadtests.policy_cost --artifacts ROOT --baseline successor_weight=0 [--baseline KEY=VALUE ...]
                                  [--calls 3000] [--rounds 5]

Loads ROOT/current once and times each Recommend call (n=10, users with a profile, each with a
request_id) through two DecisionServicers back to back, alternating which goes first: one on the
baseline (the default [ranking] with the --baseline settings, parsed like TAILOR_RANKING_* variables),
one on the default. Prints the median per call of each and the median of the paired differences,
which is robust to a loaded machine. Rerank (the same users, 50 popular candidates) the same way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from loadtests.experiment_cost import paired
from protos import artifact
from protos import decision_pb2 as pb
from server.api.service import DecisionServicer
from server.ranking.policy import RankingPolicy
from server.runtime.config import ServerConfig, config_from_env
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import load_snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["main"]

_KEYS = frozenset(f.name for f in fields(RankingPolicy))


def _baseline(settings: Sequence[str], base: ServerConfig) -> ServerConfig:
    """`base` with each KEY=VALUE of `settings` set in its [ranking] (errors name the key)."""
    environ = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise ValueError(f"--baseline: expected KEY=VALUE, got {setting!r}")
        if key.strip() not in _KEYS:
            raise ValueError(f"--baseline: {key.strip()!r} is not a [ranking] key")
        environ[f"TAILOR_RANKING_{key.strip().upper()}"] = value.strip()
    if not environ:
        raise ValueError("--baseline: no ranking setting given (KEY=VALUE, a [ranking] key)")
    return config_from_env(base, environ)


def _line(rpc: str, without: list[float], with_: list[float]) -> str:
    extra = statistics.median(y - x for x, y in zip(without, with_, strict=True)) * 1e6
    return (f"{rpc}: median baseline {statistics.median(without) * 1e6:.1f} us/call, default "
            f"{statistics.median(with_) * 1e6:.1f} us/call; median paired difference {extra:+.1f} us/call")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.policy_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--baseline", action="append", default=[], metavar="KEY=VALUE",
                   help="a [ranking] setting of the baseline (repeatable)")
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    default = ServerConfig(artifacts=args.artifacts)
    try:
        baseline = _baseline(args.baseline, default)
    except ValueError as exc:
        p.error(str(exc))
    holder = SnapshotHolder(load_snapshot(artifact.resolve_current(args.artifacts)))
    metrics = process_metrics()
    users = holder.current.profiles.user_ids(500)
    candidates = [holder.current.catalog.item_id(int(r)) for r in holder.current.catalog.popular_rows[:50]]
    recommend = [pb.RecommendRequest(user_id=users[k % len(users)], n=10, request_id=f"cost-{k}")
                 for k in range(args.calls)]
    pool = [pb.Candidate(item_id=i, score=1.0 - j / 50) for j, i in enumerate(candidates)]
    rerank = [pb.RerankRequest(user_id=users[k % len(users)], n=10, request_id=f"cost-{k}", candidates=pool)
              for k in range(args.calls)]
    plain = DecisionServicer(baseline, holder, metrics)
    tested = DecisionServicer(default, holder, metrics)
    lines = []
    for rpc, requests in (("Recommend", recommend), ("Rerank", rerank)):
        paired(plain, tested, requests[:300], rpc)  # warm-up: caches, page cache
        without, with_ = [], []
        for _ in range(args.rounds):
            a, b = paired(plain, tested, requests, rpc)
            without += a
            with_ += b
        lines.append(_line(rpc, without, with_))
    holder.current.close()
    print(f"{args.calls} users' calls x {args.rounds} rounds, n=10, baseline {' '.join(args.baseline)}:")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

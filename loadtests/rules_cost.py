"""What merchandising rules cost per call, in process: the bench's request mix through DecisionServicer
without rules and with N generated rules (loadtests/bench_rules.py), alternating rounds, no gRPC.

  python -m loadtests.rules_cost --artifacts ROOT [--rules N] [--calls 2000] [--rounds 5]

Prints µs per call of each RPC both ways (the best round of each: the machine is shared) and how many
of the rules hold for the mix's requests. `tailor bench --generate-rules N` measures the same end to end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from loadtests.bench_rules import bench_rules
from loadtests.floor import OfflineContext
from loadtests.loadgen import build_payloads
from loadtests.payloads import load_pool
from protos import decision_pb2 as pb
from server.api.service import DecisionServicer
from server.merchandising.compiler import RuleSet
from server.runtime.config import ServerConfig
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import load_snapshot, resolve_current
from server.runtime.versions import SnapshotHolder

__all__ = ["main"]


def _calls(root: Path, count: int) -> list[tuple[int, object]]:
    out: list[tuple[int, object]] = []
    for payload in build_payloads(load_pool(root), count):
        kind = pb.RerankRequest if payload.rpc else pb.RecommendRequest
        out.append((payload.rpc, kind.FromString(payload.data)))
    return out


def _round(servicer: DecisionServicer, calls: Sequence[tuple[int, object]]) -> dict[int, float]:
    """Mean µs per call of each RPC (0 = Recommend, 1 = Rerank)."""
    spent, seen = {0: 0.0, 1: 0.0}, {0: 0, 1: 0}
    context = OfflineContext()
    for rpc, request in calls:
        method = servicer.Rerank if rpc else servicer.Recommend
        start = time.perf_counter()
        method(request, context)  # type: ignore[arg-type]
        spent[rpc] += time.perf_counter() - start
        seen[rpc] += 1
    return {rpc: spent[rpc] / max(seen[rpc], 1) * 1e6 for rpc in spent}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.rules_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--rules", type=int, default=50, help="generated rules (loadtests/bench_rules.py)")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    calls = _calls(args.artifacts, args.calls)  # before the snapshot: one LMDB open per process
    snapshot = load_snapshot(resolve_current(args.artifacts))
    holder, metrics = SnapshotHolder(snapshot), process_metrics()
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(bench_rules(args.artifacts, args.rules))
    plain = DecisionServicer(ServerConfig(artifacts=args.artifacts, live=False), holder, metrics)
    ruled = DecisionServicer(ServerConfig(artifacts=args.artifacts, live=False, rules=Path(f.name)), holder, metrics)
    best: dict[str, dict[int, float]] = {"0 rules": {0: 1e12, 1: 1e12}, f"{args.rules} rules": {0: 1e12, 1: 1e12}}
    for _ in range(args.rounds):
        for name, servicer in (("0 rules", plain), (f"{args.rules} rules", ruled)):
            for rpc, us in _round(servicer, calls).items():
                best[name][rpc] = min(best[name][rpc], us)
    ruleset = ruled.rules.ruleset(snapshot)
    assert ruleset is not None
    print(f"{len(calls)} calls of the bench mix per round, best of {args.rounds} rounds, µs per call:")
    for name, figures in best.items():
        print(f"  {name:>9}: Recommend {figures[0]:7.0f}  Rerank {figures[1]:7.0f}")
    base, with_rules = best["0 rules"], best[f"{args.rules} rules"]
    print("  cost     : " + "  ".join(f"{rpc} {with_rules[k] - base[k]:+.0f} µs ({with_rules[k] / base[k] - 1:+.1%})"
                                      for k, rpc in ((0, "Recommend"), (1, "Rerank"))))
    print(f"  rules in force: {ruleset_summary(ruleset)}")
    return 0


def ruleset_summary(ruleset: RuleSet) -> str:
    """How many distinct request kinds and sets of active rules the mix met, and the sets' sizes."""
    kinds = getattr(ruleset, "_cache", {})
    sizes = sorted({len(active.indices) for active in kinds.values()})
    return f"{len(kinds)} distinct request kinds, {len({id(a) for a in kinds.values()})} distinct sets of {sizes} rules"


if __name__ == "__main__":
    sys.exit(main())

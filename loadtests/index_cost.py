"""What the index costs a call: the builder's measured choice against exact search, alone and in Recommend.

  python -m loadtests.index_cost --artifacts ROOT [--calls 2000] [--rounds 3] [--queries 500]

Loads ROOT/current and, over the version's own indexed item vectors and the builder's kind of
queries (item vectors, as on product pages, and profiles' vectors), weighs every index the builder
weighs (index_builder.models.index.compare_indexes with the default [build] ivf_* settings): per index its
µs per single-query search on one thread at the server's k and its recall@k against exact search,
and which the builder keeps. Then times Recommend calls (n=10, users with a profile, as in
policy_cost) through two DecisionServicers back to back, alternating which goes first: the baseline
searches exact ("Flat", what the old fixed threshold kept below 200,000 items) over the same vectors,
the other the version's own index. Prints the median per call of each and the median of the paired
differences, which is robust to a loaded machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import faiss
import grpc
import numpy as np

from index_builder.config import BuildConfig
from index_builder.models.index import SEARCH_K, IndexCandidate, IvfParams, cheapest, compare_indexes
from loadtests.experiment_cost import paired
from loadtests.floor import OfflineContext
from protos import artifact
from protos import decision_pb2 as pb
from server.api.service import DecisionServicer
from server.runtime.config import ServerConfig
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import Snapshot, load_snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["main"]


def _indexed_rows(path: Path) -> np.ndarray:
    """The rows the version's index holds (item vectors with their equal-length coordinate), by item row."""
    index = faiss.read_index(str(path))  # not mapped: an IVF's lists in memory, to reconstruct from
    if not isinstance(index, faiss.IndexFlat):
        faiss.extract_index_ivf(index).make_direct_map()
    return np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)


def _queries(snapshot: Snapshot, count: int, seed: int) -> np.ndarray:
    """Half item vectors, half profiles' vectors, as the builder samples them."""
    rng = np.random.default_rng(seed)
    profiles = (snapshot.profiles.read(u) for u in snapshot.profiles.user_ids(count // 2))
    users = [p.vector for p in profiles if p is not None and len(p.vector)]
    vectors = snapshot.catalog.vectors
    items = vectors[np.sort(rng.choice(len(vectors), size=min(len(vectors), count - len(users)), replace=False))]
    user_rows = np.asarray(users, dtype=np.float32).reshape(-1, items.shape[1])
    return np.ascontiguousarray(np.concatenate([items, user_rows]), dtype=np.float32)


def _table(candidates: list[IndexCandidate], kept: IndexCandidate, k: int) -> list[str]:
    lines = [f"{'index':<14} {'nprobe':>6} {'us/query':>9} {f'recall@{k}':>10}"]
    for c in candidates:
        mark = "  <- kept" if c is kept else ""
        lines.append(f"{c.factory:<14} {c.nprobe:>6} {c.us_per_query:>9.0f} {c.recall:>10.4f}{mark}")
    return lines


def _recommend(snapshot: Snapshot, rows: np.ndarray, calls: int, rounds: int, root: Path) -> str:
    flat = faiss.IndexFlatIP(rows.shape[1])
    flat.add(rows)
    exact = SnapshotHolder(dataclasses.replace(snapshot, index=flat))
    own = SnapshotHolder(snapshot)
    metrics, config = process_metrics(), ServerConfig(artifacts=root)
    users = snapshot.profiles.user_ids(500)
    requests = [pb.RecommendRequest(user_id=users[k % len(users)], n=10, request_id=f"cost-{k}")
                for k in range(calls)]
    plain, tested = DecisionServicer(config, exact, metrics), DecisionServicer(config, own, metrics)
    paired(plain, tested, requests[:300], "Recommend")  # warm-up: caches, page cache
    without, with_ = [], []
    for _ in range(rounds):
        a, b = paired(plain, tested, requests, "Recommend")
        without += a
        with_ += b
    extra = statistics.median(y - x for x, y in zip(without, with_, strict=True)) * 1e6
    return (f"Recommend: median exact search {statistics.median(without) * 1e6:.1f} us/call, "
            f"{snapshot.version}'s index {statistics.median(with_) * 1e6:.1f} us/call; "
            f"median paired difference {extra:+.1f} us/call; {_same_items(plain, tested, requests[:500])}")


def _same_items(plain: DecisionServicer, tested: DecisionServicer, requests: Sequence[pb.RecommendRequest]) -> str:
    """How much of exact search's answer the tested index's answer keeps (the same requests, ids compared)."""
    context = cast(grpc.ServicerContext, OfflineContext())
    kept = []
    for request in requests:
        exact = {i.item_id for i in plain.Recommend(request, context).items}
        found = {i.item_id for i in tested.Recommend(request, context).items}
        kept.append(len(exact & found) / max(len(exact), 1))
    return f"answers' items shared with exact search's: {statistics.mean(kept):.3f} (mean of {len(kept)} calls)"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.index_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True, help="artifact ROOT (its current version is read)")
    p.add_argument("--calls", type=int, default=2000, help="Recommend calls per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds of paired Recommend calls")
    p.add_argument("--queries", type=int, default=500, help="sampled search queries (half items, half users)")
    args = p.parse_args(argv)
    try:
        version = artifact.resolve_current(args.artifacts)
        manifest = artifact.read_manifest(version)
    except artifact.ManifestMismatch as exc:
        p.error(f"--artifacts: {exc}")
    rows = _indexed_rows(version / artifact.INDEX)
    build = BuildConfig(data_dir=version, out_root=args.artifacts)
    params = IvfParams(build.ivf_threshold, build.ivf_target_recall, build.ivf_max_nprobe, build.seed)
    snapshot = load_snapshot(version)
    try:
        candidates = compare_indexes(rows[:, :-1], _queries(snapshot, args.queries, build.seed), params)
        kept = cheapest(candidates, params.target_recall)
        print(f"{version.name}: {len(rows)} items, index {manifest.index.factory} nprobe {manifest.index.nprobe}; "
              f"weighed now on {args.queries} queries, k={SEARCH_K}, target recall {params.target_recall}:")
        print("\n".join(_table(candidates, kept, SEARCH_K)))
        faiss.omp_set_num_threads(1)  # as the server searches
        print(_recommend(snapshot, rows, args.calls, args.rounds, args.artifacts))
    finally:
        snapshot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

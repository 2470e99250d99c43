"""What the live overlay costs a Recommend call, in process and without gRPC.

  python -m loadtests.overlay_cost --artifacts ROOT [--events 175000] [--calls 2000] [--rounds 3]

Copies ROOT/current to a temporary root, fills its live store with `events` events of the store's
users (views, carts and purchases of random items, in random sessions, batches of 100), then times,
paired (back to back, alternating which goes first; the median of the paired differences):

  A  no live store, the user's 20 newest live interactions sent in the request's `session`
  B  the live store, the request without a session: the server merges the same interactions itself
  C  no live store, the request without a session (what the shopper's live interactions change)

B - A is the overlay's own cost (the read, the replay, the code -> row gather); B - C what ranking on
the live interactions adds, which a caller sending them in the session pays too.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from loadtests.experiment_cost import paired
from protos import artifact
from protos import decision_pb2 as pb
from protos.live import LiveEvent
from server.api.service import DecisionServicer
from server.live.store import LiveStore
from server.runtime.config import ServerConfig
from server.runtime.metrics import process_metrics
from server.runtime.snapshot import Snapshot, load_snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["main"]

_TYPES = (pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_CART, pb.INTERACTION_TYPE_PURCHASE)


def _fill(live: LiveStore, snapshot: Snapshot, users: list[str], events: int, seed: int = 1) -> None:
    rng, now = random.Random(seed), int(time.time() * 1000)
    items = [snapshot.catalog.item_id(r) for r in range(snapshot.catalog.n_items)]
    for b in range(0, events, 100):
        live.store([LiveEvent(f"cost-{b}-{k}", now, rng.choice(users), f"cost-s{rng.randrange(10_000)}",
                              rng.choice(items), rng.choice(_TYPES), 1.0, 0.0, pb.CHANNEL_WEB, now)
                    for k in range(min(100, events - b))], snapshot.may_keep)


def _median_us(without: list[float], with_: list[float]) -> tuple[float, float, float]:
    return (statistics.median(without) * 1e6, statistics.median(with_) * 1e6,
            statistics.median(y - x for x, y in zip(without, with_, strict=True)) * 1e6)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.overlay_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--events", type=int, default=175_000)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-overlay-cost-") as tmp:
        root = Path(tmp)
        artifact.clone_current(args.artifacts, root)
        holder = SnapshotHolder(load_snapshot(artifact.resolve_current(root)))
        snapshot = holder.current
        users = snapshot.profiles.user_ids(5000)
        live = LiveStore(root)
        _fill(live, snapshot, users, args.events)
        asked = [users[k % min(len(users), 500)] for k in range(args.calls)]
        plain = [pb.RecommendRequest(user_id=u, n=10, request_id=f"cost-{k}") for k, u in enumerate(asked)]
        carried = []
        for request in plain:
            newest = live.overlay(request.user_id, "", snapshot.live_seq)[0]
            entries = newest.entries[-ServerConfig(artifacts=root).ranking.live_items:]
            carried.append(pb.RecommendRequest(user_id=request.user_id, n=10, request_id=request.request_id, session=[
                pb.Interaction(item_id=newest.names[c], type=t)
                for c, t in zip(entries["item"].tolist(), entries["type"].tolist(), strict=True)]))
        metrics = process_metrics()
        merged = DecisionServicer(ServerConfig(artifacts=root), holder, metrics, live)
        alone = DecisionServicer(ServerConfig(artifacts=root), holder, metrics)
        figures = {}
        for name, base, base_requests in (("sent in the session", alone, carried), ("none", alone, plain)):
            a_times, b_times = [], []
            for round_ in range(args.rounds + 1):  # the first round warms up
                a, b = paired(base, merged, base_requests, tested_requests=plain)
                if round_:
                    a_times += a
                    b_times += b
            figures[name] = _median_us(a_times, b_times)
        live.close()
        holder.current.close()
    print(f"Recommend n=10, {args.calls} calls x {args.rounds} rounds, live store of {args.events} events "
          f"({args.events / max(len(users), 1):.0f} per user):")
    for name, (base_us, merged_us, extra) in figures.items():
        print(f"  live interactions {name}: {base_us:.1f} us/call; merged from the overlay: {merged_us:.1f} us/call; "
              f"median paired difference {extra:+.1f} us/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Trending per channel: the builder's per-channel popular lists and the top-up of a visitor without a profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index_builder import build_artifacts
from protos import artifact
from protos import decision_pb2 as pb
from server import load_snapshot
from server.api.queries import Filter, parse_recommend
from server.ranking import pipelines as ranking
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.signals import gather_signals
from server.runtime.config import Limits
from tests.conftest import small_config

_NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)


def _store(data: Path) -> None:
    """Web shoppers buy shoes (s*), app shoppers buy bags (b*); shoes sell more overall."""
    data.mkdir()
    items = [f"s{i},Shoe {i},shoes,acme,10,true" for i in range(6)] + [f"b{i},Bag {i},bags,acme,10,true"
                                                                      for i in range(6)]
    (data / "items.csv").write_text("item_id,title,category,brand,price,in_stock\n" + "\n".join(items) + "\n")
    (data / "users.csv").write_text("user_id,consent\n" + "".join(f"u{u},true\n" for u in range(40)))
    rows, n = [], 0
    for u in range(40):
        channel, prefix, count = ("web", "s", 4) if u < 28 else ("app", "b", 3)
        for k in range(count):
            n += 1
            rows.append(f"e{n},2026-05-02T00:{n // 60:02d}:{n % 60:02d}Z,u{u},s{u},{prefix}{(u + k) % 6},purchase,"
                        f"{channel}")
    (data / "events.csv").write_text("event_id,ts,user_id,session_id,item_id,type,channel\n" + "\n".join(rows) + "\n")


def test_an_anonymous_visitor_gets_their_channels_trending_items_first(tmp_path: Path) -> None:
    _store(tmp_path / "data")
    manifest = build_artifacts(small_config(tmp_path / "data", tmp_path / "out"))
    snapshot = load_snapshot(tmp_path / "out" / manifest.version)
    try:
        catalog = snapshot.catalog
        lists = catalog.channel_popular_rows
        assert lists.shape[0] == len(artifact.CHANNELS)
        np.testing.assert_array_equal(lists[0][lists[0] >= 0], catalog.popular_rows[:lists.shape[1]])
        assert (lists[artifact.CHANNELS.index("email")] == -1).all()  # nobody shopped by email
        policy = RankingPolicy()

        def categories(channel: int) -> list[str]:
            request = pb.RecommendRequest(n=6, context=pb.Context(channel=channel))  # type: ignore[arg-type]
            query = parse_recommend(request, Limits())
            assert query.channel == channel
            arrays = RequestArrays(gather_signals(snapshot, policy, query), query.n, _NO_FILTER, channel=query.channel)
            ranked = ranking.recommend(snapshot, policy, arrays)
            return [manifest.categories[c] for c in catalog.category[ranked.rows]]

        assert categories(pb.CHANNEL_UNSPECIFIED) == ["shoes"] * 6  # the global list: shoes sell most
        assert categories(pb.CHANNEL_APP) == ["bags"] * 6
        assert categories(pb.CHANNEL_WEB) == ["shoes"] * 6
        assert categories(pb.CHANNEL_EMAIL) == ["shoes"] * 6  # no trending list there: the global one
    finally:
        snapshot.close()

"""Large catalogs get an IVF index whose inverted lists the server maps from disk, not copies."""

from __future__ import annotations

from pathlib import Path

import faiss

from index_builder import BuildConfig, build_artifacts
from index_builder.demo import write_demo_store
from server import load_snapshot
from server.api.queries import Filter
from server.ranking import reasons
from server.ranking.pipelines import recommend
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.signals import Signals


def test_ivf_version_is_mapped_and_searched_without_prefetch_threads(tmp_path: Path) -> None:
    write_demo_store(tmp_path / "data", users=800, items=3000, events=20_000, seed=3)
    manifest = build_artifacts(BuildConfig(data_dir=tmp_path / "data", out_root=tmp_path / "out", dim=16,
                                           iterations=4, ivf_threshold=1000, show_progress=False))
    assert manifest.index.factory.startswith("IVF")
    assert 0.0 < manifest.index.recall_at_100 <= 1.0
    snapshot = load_snapshot((tmp_path / "out" / "current").resolve())
    ivf = faiss.extract_index_ivf(snapshot.index)
    assert ivf.invlists is not None
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists)
    assert lists.prefetch_nthread == 0
    assert ivf.nprobe == manifest.index.nprobe
    catalog = snapshot.catalog
    query = Signals(vector=catalog.vectors[0].copy(), sources=reasons.bit(reasons.ANCHOR_SIMILAR),
                    exclude=catalog.popular_rows[:0], candidate_rows=catalog.popular_rows[:0])
    no_filter = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
    ranked = recommend(snapshot, RankingPolicy(), RequestArrays(query, 10, no_filter))
    assert len(ranked.rows) == 10
    snapshot.close()

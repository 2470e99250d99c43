"""BuildConfig: every knob of one build, validated at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BuildConfig", "DEFAULT_EVENT_WEIGHTS"]

# Confidence of one event per type in the interaction matrix. Recorded in the manifest: the server
# weighs a request's session with the same numbers, so offline and online agree.
DEFAULT_EVENT_WEIGHTS = {"view": 1.0, "cart": 4.0, "purchase": 10.0}


@dataclass(frozen=True)
class BuildConfig:
    """One build: where to read, where to write, how to learn."""

    data_dir: Path
    out_root: Path
    dim: int = 64
    iterations: int = 12
    regularization: float = 0.05
    seed: int = 7
    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    # Distinct items kept per profile, most recent last: the history the item-item model scores from
    # and Recommend excludes (MovieLens 100K, random split, nDCG@10 through the server: 200 -> 0.444,
    # 500 -> 0.486, 1000 -> 0.487; users with more items than kept get their older ones back).
    recent_items: int = 500
    # Item-item model (index_builder/item_item.py): EASE with this L2 penalty, each item keeping its
    # `item_neighbors` strongest neighbours (0 = off); only for catalogs up to ease_max_items.
    item_neighbors: int = 200
    ease_lambda: float = 500.0
    ease_max_items: int = 10_000
    popularity_half_life_days: float = 14.0
    popular_list: int = 2000
    # Catalogs at least this large get an IVF index instead of exact search; its nprobe is the
    # smallest reaching ivf_target_recall (recall@100 vs exact search), at most ivf_max_nprobe.
    ivf_threshold: int = 200_000
    ivf_target_recall: float = 0.92
    ivf_max_nprobe: int = 64
    show_progress: bool = True

    def __post_init__(self) -> None:
        checks = {
            "dim": self.dim >= 2,
            "iterations": self.iterations >= 1,
            "regularization": self.regularization >= 0,
            "recent_items": 0 <= self.recent_items <= 1000,
            "item_neighbors": 0 <= self.item_neighbors <= 2000,
            "ease_lambda": self.ease_lambda > 0,
            "ease_max_items": self.ease_max_items >= 0,
            "popularity_half_life_days": self.popularity_half_life_days > 0,
            "popular_list": self.popular_list >= 1,
            "ivf_threshold": self.ivf_threshold >= 1000,
            "ivf_target_recall": 0.0 < self.ivf_target_recall <= 1.0,
            "ivf_max_nprobe": self.ivf_max_nprobe >= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"BuildConfig.{key}: invalid value {getattr(self, key)!r}")
        missing = {"view", "cart", "purchase"} - set(self.event_weights)
        if missing or any(w < 0 for w in self.event_weights.values()):
            raise ValueError(
                f"BuildConfig.event_weights: need non-negative view, cart, purchase; got {self.event_weights}")

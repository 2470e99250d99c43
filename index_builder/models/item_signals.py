"""Per-item arrays the server's profile signals read (server/ranking/stages.py `profile_terms`):

- price position: where each item's price sits among its category's prices, 0..1 (the price-fit
  signal compares it with the shopper's own price position);
- first seen: the item's first event (epoch seconds; items without events: the reference time, new
  to the log), for freshness;
- segment popularity: per RFM segment, each item's weighted events from that segment's shoppers over
  the segment's most popular item's, 0..1 ([segments, items]);
- cell popular rows: per demographic cell (country x age band, `cell_code`), its most popular items,
  -1 padded ([cells, k]), for shoppers too new for anything personal;
- channel popular rows: per channel (artifact.CHANNELS), what is trending there, -1 padded
  ([channels, k]; row 0 = the global list), for visitors without a profile.
"""

from __future__ import annotations

import numpy as np

from index_builder.shoppers import affinities
from protos import artifact

__all__ = ["item_price_positions", "first_seen", "segment_popularity", "cell_code", "cell_popular_rows",
           "channel_popular_rows"]


def item_price_positions(category: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Each item's mid-rank price percentile within its category (0.5 for an unpriced catalog)."""
    if not (price > 0).any():
        return np.full(len(price), 0.5, dtype=np.float32)
    return affinities.price_positions(category, price, category, price)


def first_seen(item: np.ndarray, ts_ms: np.ndarray, n_items: int, reference_ms: int) -> np.ndarray:
    first = np.full(n_items, reference_ms, dtype=np.int64)
    np.minimum.at(first, item, ts_ms)
    return first // 1000


def segment_popularity(segment_of_event: np.ndarray, item: np.ndarray, weight: np.ndarray,
                       n_items: int) -> np.ndarray:
    """[len(SEGMENTS), items]: each segment's weighted events per item over its top item's."""
    n_segments = len(artifact.SEGMENTS)
    group = segment_of_event.astype(np.int64)
    counts = np.bincount(group * n_items + item, weights=weight, minlength=n_segments * n_items)
    counts = counts.reshape(n_segments, n_items)
    top = counts.max(axis=1, keepdims=True)
    return (counts / np.where(top > 0, top, 1.0)).astype(np.float32)


def cell_code(country: np.ndarray, age_band: np.ndarray, n_age_bands: int) -> np.ndarray:
    """Demographic cell of each user: (country + 1) x (age bands + 1) + (age band + 1); 0 = neither given."""
    return (country.astype(np.int64) + 1) * (n_age_bands + 1) + (age_band.astype(np.int64) + 1)


def cell_popular_rows(cell_of_event: np.ndarray, item: np.ndarray, weight: np.ndarray, n_cells: int,
                      k: int) -> np.ndarray:
    """[n_cells, k] int32: each cell's k most popular items (by weighted events), -1 where it has fewer.
    A "cell" is any grouping of the events: demographic cells, RFM segments, channels."""
    rows, _, bounds = affinities.top_codes(cell_of_event, item, weight, n_cells, k)
    out = np.full((n_cells, k), -1, dtype=np.int32)
    owner = np.repeat(np.arange(n_cells), np.diff(bounds))
    out[owner, np.arange(len(rows)) - bounds[owner]] = rows
    return out


def channel_popular_rows(channel_of_event: np.ndarray, item: np.ndarray, weight: np.ndarray, popular: np.ndarray,
                         k: int) -> np.ndarray:
    """[len(CHANNELS), k] int32: each channel's k items with the most (decayed) event weight, -1 where it has
    fewer; row 0 ("unknown": all channels) is the head of the global `popular` list."""
    out = cell_popular_rows(channel_of_event, item, weight, len(artifact.CHANNELS), k)
    out[0] = -1
    head = popular[:k]
    out[0, :len(head)] = head
    return out

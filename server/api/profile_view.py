"""A stored profile record -> the GetProfile answer, with every code turned into its name.

"unbranded" (the builder's name for an empty brand, artifact.NO_BRAND) is never a top brand: builds
since it stopped counting as one do not store it, and an older artifact's record is answered without it.
"""

from __future__ import annotations

import numpy as np

from protos import artifact
from protos import decision_pb2 as pb
from protos.live import Overlay
from server.runtime.snapshot import Names

__all__ = ["profile_message"]


def _affinities(names: tuple[str, ...], codes: np.ndarray, weights: np.ndarray,
                unlisted: tuple[str, ...] = ()) -> list[pb.Affinity]:
    named = ((Names.of(names, c), w) for c, w in zip(codes.tolist(), weights.tolist(), strict=True))
    return [pb.Affinity(name=name, weight=w) for name, w in named if name not in unlisted]


def _with_live(message: pb.Profile, live: Overlay | None) -> pb.Profile:
    """Counts and dates with the user's live events the version does not hold yet added."""
    if live is None or not len(live):
        return message
    types = live.entries["type"]
    message.views += int((types == pb.INTERACTION_TYPE_VIEW).sum())
    message.carts += int((types == pb.INTERACTION_TYPE_CART).sum())
    message.purchases += int((types == pb.INTERACTION_TYPE_PURCHASE).sum())
    message.last_seen_ms = max(message.last_seen_ms, int(live.entries["timestamp_ms"].max()))
    bought = live.entries["timestamp_ms"][types == pb.INTERACTION_TYPE_PURCHASE]
    if len(bought):
        message.last_purchase_ms = max(message.last_purchase_ms, int(bought.max()))
    return message


def profile_message(user_id: str, version: str, profile: artifact.Profile, names: Names,
                    live: Overlay | None = None) -> pb.Profile:
    """The Profile message of a consenting user's record (see protos/decision.proto for each field), with
    the counts and dates of their `live` events (TrackEvents) not yet folded into the version."""
    f = profile.facts[0]
    tags = [tag for bit, tag in enumerate(artifact.TAGS) if int(f["tags"]) >> bit & 1]
    return _with_live(pb.Profile(
        user_id=user_id, version=version, segment=artifact.SEGMENTS[int(f["segment"])],
        rfm=pb.Rfm(recency_days=float(f["recency_days"]), frequency=int(f["frequency"]),
                   monetary_total=float(f["monetary_total"]), monetary_avg=float(f["monetary_avg"]),
                   recency_score=int(f["r"]), frequency_score=int(f["f"]), monetary_score=int(f["m"])),
        lifetime=pb.LifetimeValue(expected_purchases=float(f["expected_purchases"]), p_alive=float(f["p_alive"]),
                                  expected_order_value=float(f["expected_value"]), clv=float(f["clv"]),
                                  horizon_days=names.clv_horizon_days),
        top_categories=_affinities(names.categories, profile.categories, profile.category_weights),
        top_brands=_affinities(names.brands, profile.brands, profile.brand_weights, artifact.NO_BRAND),
        price_position=float(f["price_position"]), price_band=artifact.PRICE_BANDS[int(f["price_band"])],
        lifecycle=artifact.LIFECYCLES[int(f["lifecycle"])], preferred_channel=artifact.CHANNELS[int(f["channel"])],
        tags=tags, last_purchase_ms=int(f["last_purchase_ms"]), first_seen_ms=int(f["first_seen_ms"]),
        last_seen_ms=int(f["last_seen_ms"]), views=int(f["views"]), carts=int(f["carts"]),
        purchases=int(f["purchases"]), country=Names.of(names.countries, int(f["country"])),
        age_band=Names.of(names.age_bands, int(f["age_band"])),
    ), live)

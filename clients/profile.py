"""`tailor profile --user U`: one shopper's profile, printed readably (names, not codes).

  tailor profile --user U [--target HOST:PORT] [--timeout S] [--request-id ID] [--json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf import json_format

from clients.client import TailorClient
from clients.errors import TailorClientError, describe
from clients.flags import add_call_flags, add_json_flag, add_output_flags
from protos import decision_pb2 as pb

__all__ = ["main", "format_profile", "parser"]


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d") if ms > 0 else "never"


def _shares(affinities: Sequence[pb.Affinity]) -> str:
    return ", ".join(f"{a.name} {a.weight:.0%}" for a in affinities) or "none yet"


def format_profile(p: pb.Profile) -> str:
    """The profile as aligned `label  value` lines."""
    rfm, life = p.rfm, p.lifetime
    recency = f"{rfm.recency_days:.0f} days ago" if rfm.recency_days >= 0 else "no purchase in the window"
    price = f"{p.price_band} ({p.price_position:.2f} within its categories)" if p.price_position >= 0 else "unknown"
    rows = [
        ("user", p.user_id), ("artifact version", p.version),
        ("segment", p.segment),
        ("RFM scores", f"R {rfm.recency_score}  F {rfm.frequency_score}  M {rfm.monetary_score}  (1-5, 0 = none)"),
        ("last purchase", f"{_date(p.last_purchase_ms)} ({recency})"),
        ("orders", f"{rfm.frequency}, spending {rfm.monetary_total:.2f} in total, {rfm.monetary_avg:.2f} per order"),
        ("lifetime value", f"{life.clv:.2f} over {life.horizon_days:.0f} days: {life.expected_purchases:.2f} "
                           f"purchases x {life.expected_order_value:.2f}; P(alive) {life.p_alive:.2f}"),
        ("lifecycle", p.lifecycle), ("price sensitivity", price),
        ("top categories", _shares(p.top_categories)), ("top brands", _shares(p.top_brands)),
        ("tags", ", ".join(p.tags) or "none"), ("preferred channel", p.preferred_channel),
        ("events", f"{p.views} views, {p.carts} carts, {p.purchases} purchases; first {_date(p.first_seen_ms)}, "
                   f"last {_date(p.last_seen_ms)}"),
        ("country / age band", f"{p.country or '-'} / {p.age_band or '-'}"),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor profile", description="Print what Tailor knows of one shopper.")
    p.add_argument("command", help=argparse.SUPPRESS)
    p.add_argument("--user", required=True, help="user id")
    add_call_flags(p, timeout=2.0)
    add_json_flag(p, "the Profile message")
    add_output_flags(p)
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        with TailorClient(args.target, timeout=args.timeout) as client:
            profile = client.get_profile(args.user, request_id=args.request_id)
    except TailorClientError as exc:
        print(f"tailor profile: error: {describe(exc, args.target)}", file=sys.stderr)
        return 2
    print(json_format.MessageToJson(profile) if args.json else format_profile(profile))
    return 0

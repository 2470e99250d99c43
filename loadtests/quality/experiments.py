"""`tailor experiments report`: each variant's live outcomes, with confidence intervals and a verdict.

  tailor experiments report --artifacts ROOT [--experiment NAME] [--json] [--quiet]

Joins what the answers held (ROOT/live/impressions, written by every server worker:
protos/impressions.py) with the events attributed to them (TrackEvents events carrying the answer's
request_id, in the live store ROOT/live: protos/live.py). Per variant:

- lists shown: answers with a request_id (a request_id answered twice counts once, as first answered);
- click-through: the share of lists with at least one attributed view or cart event on an item they
  held (clicks: how many such events);
- conversion: the share of lists followed by at least one attributed purchase of an item they held;
- revenue per shown list: qty x price of those purchases (price 0: the current catalog's), over all lists;

each with a 95 % interval (loadtests/quality/stats.py), and for every variant but the control (the one named
`control`, else the first) the relative difference to the control with its interval and a plain verdict.
The statistics are per unit, as the assignment is: a shopper's lists are correlated, so each metric is a
ratio of per-unit sums with the units' (cluster-robust) variance, never a mean over lists taken as
independent. The unit of a list is the impression's unit bucket; a record without one is its own unit.
Only aggregates are printed: no user, session, request or event id.

It lives beside `tailor evaluate` because it is the online half of the same question (does the ranking
do better?), reads only the disk contract (protos/) and needs neither the server nor the builder.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lmdb
import numpy as np
from tqdm import tqdm

from loadtests.quality.stats import Estimate, Lift, lift, ratio_estimate, verdict
from protos import artifact, impressions, live

__all__ = ["Outcomes", "Report", "VariantReport", "compare", "main", "report", "summarize"]

log = logging.getLogger(__name__)
_CLICKS = (1, 2)  # InteractionType VIEW, CART
_PURCHASE = 3
METRICS = ("click-through", "conversion", "revenue per list")


@dataclass
class Outcomes:
    """Per shown list of one variant: its unit (the shopper it was shown to, as a bucket number; lists of
    one unit are correlated), attributed clicks, purchases and revenue."""

    units: list[int] = field(default_factory=list)
    clicks: list[int] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)
    revenue: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class VariantReport:
    name: str
    lists: int
    clicks: int
    click_through: Estimate
    conversion: Estimate
    revenue_per_list: Estimate
    # Against the control; None for the control itself.
    lifts: dict[str, Lift] | None = None
    verdicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    experiment: str
    control: str
    variants: list[VariantReport]
    attributed_events: int
    unmatched_events: int  # events naming a request_id no impression holds (or an item the list did not hold)

    def to_json(self) -> dict[str, Any]:
        """As JSON-ready values; an interval bound that cannot be computed, or is unbounded, is null."""
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _files(root: Path) -> dict[str, list[tuple[dict[str, Any], Path]]]:
    """Impression files by experiment, oldest first (by header start time)."""
    found: dict[str, list[tuple[dict[str, Any], Path]]] = defaultdict(list)
    directory = root / live.LIVE_DIR / impressions.IMPRESSIONS_DIR
    for path in sorted(directory.glob(f"*{impressions.SUFFIX}")) if directory.is_dir() else []:
        try:
            meta, _ = impressions.read_impressions(path, header_only=True)
        except (OSError, ValueError) as exc:
            log.warning("impressions_file_skipped file=%s error=%s", path.name, exc)
            continue
        found[str(meta["experiment"])].append((meta, path))
    for files in found.values():
        files.sort(key=lambda pair: int(pair[0]["started_ms"]))
    return found


Shown = dict[str, tuple[str, frozenset[str], int]]


def _shown(files: list[tuple[dict[str, Any], Path]], progress: bool) -> Shown:
    """request_id -> (variant name, the items its answer held, its unit), the first answer of each
    request_id. A record without a unit bucket (an older file) is a unit of its own, numbered past them."""
    shown: Shown = {}
    for meta, path in tqdm(files, desc="impression files", unit="file", disable=not progress):
        names = [str(v["name"]) for v in meta["variants"]]
        for imp in impressions.read_impressions(path)[1]:
            if imp.request_id not in shown and imp.variant < len(names):
                unit = imp.unit if imp.unit >= 0 else impressions.UNIT_BUCKETS + len(shown)
                shown[imp.request_id] = (names[imp.variant], frozenset(imp.item_ids), unit)
    return shown


def _attributed(root: Path, progress: bool) -> list[live.LiveEvent]:
    """The live store's events that carry a request_id (a scan of the whole log)."""
    path = root / live.LIVE_DIR
    if not (path / "data.mdb").is_file():
        return []
    env = lmdb.open(str(path), readonly=True, lock=True, max_dbs=16, readahead=False)
    try:
        with env.begin() as txn:
            db = env.open_db(live.DB_EVENTS, txn=txn, create=False)
            found = []
            for key, value in tqdm(txn.cursor(db=db).iternext(), desc="events", unit="event", disable=not progress,
                                   total=txn.stat(db)["entries"], mininterval=1.0):
                if live.has_request_id(value):
                    found.append(live.unpack_event(bytes(key).decode(), bytes(value)))
            return found
    finally:
        env.close()


def _catalog_prices(root: Path) -> dict[str, float]:
    """The current version's price per item id (for purchases sent with price 0); empty without one."""
    try:
        version = artifact.resolve_current(root)
        ids = np.load(version / artifact.ITEM_ARRAYS["ids"].file)
        prices = np.load(version / artifact.ITEM_ARRAYS["price"].file)
    except (OSError, ValueError) as exc:
        log.warning("catalog_prices_unavailable error=%s", exc)
        return {}
    return dict(zip((i.decode() for i in ids.tolist()), prices.astype(float).tolist(), strict=True))


def _outcomes(shown: Shown, events: list[live.LiveEvent],
              prices: dict[str, float]) -> tuple[dict[str, Outcomes], int, int]:
    """Per variant, each list's outcomes; and how many events were attributed and left unmatched."""
    clicks: dict[str, int] = defaultdict(int)
    purchases: dict[str, int] = defaultdict(int)
    revenue: dict[str, float] = defaultdict(float)
    matched = 0
    for e in events:
        held = shown.get(e.request_id)
        if held is None or e.item_id not in held[1]:
            continue
        matched += 1
        if e.type in _CLICKS:
            clicks[e.request_id] += 1
        elif e.type == _PURCHASE:
            purchases[e.request_id] += 1
            revenue[e.request_id] += e.qty * (e.price or prices.get(e.item_id, 0.0))
    by_variant: dict[str, Outcomes] = defaultdict(Outcomes)
    for request_id, (variant, _, unit) in shown.items():
        out = by_variant[variant]
        out.units.append(unit)
        out.clicks.append(clicks.get(request_id, 0))
        out.purchases.append(purchases.get(request_id, 0))
        out.revenue.append(revenue.get(request_id, 0.0))
    return by_variant, matched, len(events) - matched


def summarize(name: str, out: Outcomes) -> VariantReport:
    """One variant's metrics, each a ratio of per-unit sums over the lists shown, with its interval."""
    clicks, bought = np.asarray(out.clicks), np.asarray(out.purchases)
    _, unit = np.unique(np.asarray(out.units, dtype=np.int64), return_inverse=True)
    units = int(unit.max()) + 1 if len(unit) else 0

    def per_unit(values: np.ndarray) -> np.ndarray:
        return np.bincount(unit, weights=values.astype(float), minlength=units)

    lists = per_unit(np.ones(len(clicks)))
    return VariantReport(name, len(clicks), int(clicks.sum()),
                         ratio_estimate(per_unit(clicks > 0), lists, rate=True),
                         ratio_estimate(per_unit(bought > 0), lists, rate=True),
                         ratio_estimate(per_unit(np.asarray(out.revenue, dtype=float)), lists, rate=False))


def compare(v: VariantReport, control: VariantReport) -> VariantReport:
    """The variant with its relative difference to the control and a verdict per metric."""
    pairs = {"click-through": (v.click_through, control.click_through),
             "conversion": (v.conversion, control.conversion),
             "revenue per list": (v.revenue_per_list, control.revenue_per_list)}
    lifts = {metric: lift(t, c) for metric, (t, c) in pairs.items()}
    verdicts = tuple(verdict(v.name, metric, change, control.name) for metric, change in lifts.items())
    return VariantReport(v.name, v.lists, v.clicks, v.click_through, v.conversion, v.revenue_per_list, lifts,
                         verdicts)


def report(root: Path, experiment: str | None = None, progress: bool = True) -> Report:
    """The experiment's report (`experiment` None: the one whose impressions were written last);
    raises LookupError when ROOT holds no impressions of it."""
    files = _files(root)
    if not files:
        raise LookupError(f"no impressions under {root / live.LIVE_DIR / impressions.IMPRESSIONS_DIR} "
                          "(is an [experiments] table configured, and do calls carry a request_id?)")
    name = experiment or max(files, key=lambda e: int(files[e][-1][0]["started_ms"]))
    if name not in files:
        raise LookupError(f"no impressions of experiment {name!r}; found: {', '.join(sorted(files))}")
    configured = [str(v["name"]) for v in files[name][-1][0]["variants"]]
    shown = _shown(files[name], progress)
    events = _attributed(root, progress)
    needs_catalog = any(e.type == _PURCHASE and not e.price for e in events)
    by_variant, matched, unmatched = _outcomes(shown, events, _catalog_prices(root) if needs_catalog else {})
    order = configured + sorted(set(by_variant) - set(configured))
    control_name = "control" if "control" in order else order[0]
    variants = [summarize(v, by_variant.get(v, Outcomes())) for v in order]
    control = next(v for v in variants if v.name == control_name)
    variants = [v if v is control else compare(v, control) for v in variants]
    log.info("experiments_report experiment=%s lists=%d attributed=%d", name, len(shown), matched)
    return Report(name, control_name, variants, matched, unmatched)


def _interval(e: Estimate, percent: bool) -> str:
    if math.isnan(e.low):
        return f"{e.value * 100:.2f} %" if percent else f"{e.value:.2f}"
    if percent:
        return f"{e.value * 100:.2f} % [{e.low * 100:.2f}, {e.high * 100:.2f}]"
    return f"{e.value:.2f} [{e.low:.2f}, {e.high:.2f}]"


def format_report(r: Report) -> str:
    header = ["variant", "units", "lists", "clicks", "click-through (95 % CI)", "conversion (95 % CI)",
              "revenue/list (95 % CI)"]
    rows = [[v.name + (" (control)" if v.name == r.control else ""), str(v.conversion.n), str(v.lists), str(v.clicks),
             _interval(v.click_through, True), _interval(v.conversion, True), _interval(v.revenue_per_list, False)]
            for v in r.variants]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"experiment {r.experiment}: {sum(v.lists for v in r.variants)} lists shown, "
             f"{r.attributed_events} attributed events ({r.unmatched_events} naming no shown list or item)", ""]
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                  strict=True))))
    verdicts = [line for v in r.variants for line in v.verdicts]
    if verdicts:
        lines += ["", f"against {r.control}:", *(f"  {line}" for line in verdicts)]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    from clients.flags import add_output_flags

    p = argparse.ArgumentParser(prog="tailor experiments", description="Experiments on live traffic.")
    sub = p.add_subparsers(dest="action", required=True)
    r = sub.add_parser("report", description=__doc__.split("\n\n")[0],
                       help="per variant: lists shown, click-through, conversion, revenue per list, lift")
    r.add_argument("--artifacts", type=Path, required=True, metavar="ROOT",
                   help="artifact root (its live/ holds impressions)")
    r.add_argument("--experiment", metavar="NAME",
                   help="experiment name (default: the one whose impressions are newest)")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_output_flags(r)
    return p


def main(argv: Sequence[str]) -> int:
    """Run `tailor experiments report ...`; argv[0] is "experiments"."""
    args = parser().parse_args(list(argv[1:]))
    try:
        result = report(args.artifacts, args.experiment, progress=not args.quiet and not args.json)
    except (LookupError, OSError, lmdb.Error) as exc:
        print(f"tailor experiments: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_json(), indent=1, allow_nan=False) if args.json else format_report(result))
    return 0

"""`tailor evaluate`: Tailor and baselines on a held-out split of a builder-format store.

  tailor evaluate --data DIR [--split random|time|last-basket|session|cold-items] [--k 10] [--json]
                  [--json-out FILE] [--html FILE] [--seed 42] [--config FILE] [--variants CONFIG]
                  [--default-consent true|false]

DIR holds items, users and events as `tailor build` reads them (`tailor import movielens` writes one).
With --variants, one Tailor row per variant of CONFIG's [experiments] (docs/experiments.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from clients.flags import add_output_flags
from index_builder import BuildError
from loadtests.quality.evaluate.html_report import write_html
from loadtests.quality.evaluate.run import Report, evaluate
from loadtests.quality.evaluate.splits import SPLITS

__all__ = ["format_report", "main", "parser"]

_COLUMNS = ("model", "MAP", "nDCG@{k}", "P@{k}", "R@{k}", "hit rate", "coverage", "novelty", "categories",
            "brand share", "fit s")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="directory with items, users, events (CSV or Parquet)")
    p.add_argument("--split", choices=SPLITS, default="random", help="how test events are held out (default random)")
    p.add_argument("--k", type=int, default=10, help="list length scored (default 10)")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout instead of the tables")
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the report as JSON to FILE")
    p.add_argument("--html", dest="html_out", type=Path, metavar="FILE",
                   help="also write the report as one self-contained HTML page")
    p.add_argument("--seed", type=int, default=42, help="seed of the random split and Rerank candidates (default 42)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="TOML with [build] and [ranking] tables (tailor.example.toml) to "
                   "evaluate instead of the defaults; TAILOR_RANKING_* apply too")
    p.add_argument("--variants", type=Path, metavar="FILE",
                   help="server config with an [experiments] table: replay the held-out "
                   "slice through each variant's policy, one row per variant (docs/experiments.md)")
    p.add_argument("--default-consent", choices=("true", "false"), help="consent of users seen only in events, as "
                   "`tailor build --default-consent` (default: the config's [build], else false)")
    add_output_flags(p)
    return p


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                   strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_report(report: Report) -> str:
    """The printed tables: one row per model, nDCG by activity bucket, the Rerank before/after, then
    Tailor's call latency and the split's sizes."""
    header = [c.format(k=report.k) for c in _COLUMNS]
    rows = [[r.name, f"{r.scores.map:.4f}", f"{r.scores.ndcg:.4f}", f"{r.scores.precision:.4f}",
             f"{r.scores.recall:.4f}", f"{r.scores.hit_rate:.4f}", f"{r.scores.coverage:.4f}",
             f"{r.scores.novelty:.2f}", f"{r.scores.categories:.2f}", f"{r.scores.brand_share:.3f}",
             f"{r.fit_seconds:.2f}"] for r in report.results]
    lines = _table(header, rows)
    if report.buckets:
        lines += ["", f"nDCG@{report.k} by train history length (interactions)", *_table(
            ["model", *(f"{b.label} ({b.users})" for b in report.buckets)],
            [[r.name, *(f"{b.ndcg[r.name]:.4f}" for b in report.buckets)] for r in report.results])]
    if report.rerank:
        rr = report.rerank
        lines += ["", f"Rerank: {rr.users} users, {rr.candidates} candidates ({rr.positives} held-out), "
                      f"Tailor Rerank p50 {rr.p50_ms:.2f} ms, p99 {rr.p99_ms:.2f} ms", *_table(
            ["order", f"nDCG@{report.k}", f"R@{report.k}"],
            [[row.name, f"{row.ndcg:.4f}", f"{row.recall:.4f}"] for row in rr.rows])]
    lines += _ranker_lines(report.ranker)
    tailor = report.results[0]
    unit = "sessions" if report.split == "session" else "users"
    lines.append(f"\nsplit={report.split} seed={report.seed}: {report.users} test {unit}, {report.items} items, "
                 f"train {report.train_events} / test {report.test_events} events; Tailor Recommend p50 "
                 f"{tailor.p50_ms:.2f} ms, p99 {tailor.p99_ms:.2f} ms (fit s = build); "
                 f"wall {report.wall_seconds:.1f} s")
    return "\n".join(lines)


def _ranker_lines(ranker: dict[str, object]) -> list[str]:
    """The learned ranker's part of the report: its verdict, the validation figures the build gated on, and
    which features drive it (share of the model's split gain), so a store owner sees what moves their answers."""
    if not ranker.get("trained"):
        return ["", f"learned ranker: {ranker.get('verdict', 'none in this version')}"] if ranker else []
    validation = ranker.get("validation_ndcg", {})
    gains = ranker.get("gains", {})
    assert isinstance(validation, dict) and isinstance(gains, dict)  # noqa: S101 — MessageToDict's maps
    used = sorted(gains.items(), key=lambda kv: -kv[1])
    return ["", f"learned ranker ({ranker.get('cut')} cut, {ranker.get('lists_train', 0)} + "
                f"{ranker.get('lists_validation', 0)} shopper lists, {ranker.get('rows')} rows, "
                f"{ranker.get('trees')} trees, {ranker.get('seconds')} s): {ranker.get('verdict')}",
            "validation nDCG@10: " + ", ".join(f"{name} {value:.4f}" for name, value in validation.items()),
            "feature gain: " + ", ".join(f"{name} {value:.1%}" for name, value in used if value > 0)]


def main(argv: Sequence[str]) -> int:
    """Run `tailor evaluate`; argv[0] is "evaluate"."""
    flags = parser()
    args = flags.parse_args(list(argv[1:]))
    if args.k < 1:
        flags.error("--k: must be >= 1")
    try:
        report = evaluate(args.data, args.split, args.k, args.seed, progress=not args.quiet, config=args.config,
                          variants=args.variants, default_consent=args.default_consent)
        as_json = json.dumps(report.to_json(), indent=2) + "\n"
        print(as_json, end="") if args.json else print(format_report(report))
        if args.json_out:
            args.json_out.write_text(as_json, encoding="utf-8")
        if args.html_out:
            write_html(report, args.html_out)
    except (BuildError, OSError, ValueError) as exc:
        print(f"tailor evaluate: error: {exc}", file=sys.stderr)
        return 1
    return 0

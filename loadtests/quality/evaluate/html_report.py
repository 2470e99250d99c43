"""`tailor evaluate --html FILE`: the report as one self-contained HTML page.

Charts are drawn with matplotlib (Agg, through `Figure` objects: no pyplot state) and inlined as
SVG with their text kept as text; the page has no script and loads nothing, so it can be mailed
or attached to a ticket as it is (the page, figure and table markup: index_builder/reports/html_page.py).

  metrics by model      nDCG@k, R@k, MAP, coverage, novelty: a bar chart each, Tailor highlighted,
                        and nDCG@k against coverage (accuracy bought with a narrow catalog or not)
  activity buckets      nDCG@k per model per train-history bucket (buckets.py)
  Rerank                nDCG@k and R@k of the upstream order and after Tailor's Rerank (rerank.py)

then the same tables as the console and the run's settings and timings.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from index_builder.reports.html_page import figure_style, figure_svg, html_table, render_page
from loadtests.quality.evaluate.rerank import MAX_POSITIVES, NEGATIVES_PER_POSITIVE, UPSTREAM_NOISE
from loadtests.quality.evaluate.run import TAILOR, Report

__all__ = ["render_html", "write_html"]

_TAILOR_COLOR = "#c0392b"
_OTHER_COLOR = "#7f8c9d"
_REFERENCE_COLOR = "#c8cfd6"
_CSS = f"tr.tailor td{{font-weight:600;color:{_TAILOR_COLOR}}}"


def write_html(report: Report, path: Path) -> Path:
    """Write the page for `report` to `path`; returns it."""
    path.write_text(render_html(report), encoding="utf-8")
    return path


def render_html(report: Report) -> str:
    """The whole page: charts, tables and settings of one `tailor evaluate` run."""
    with figure_style():
        sections = [_metrics_section(report), _buckets_section(report), _rerank_section(report),
                    _ranker_section(report), _settings_section(report)]
    title = f"tailor evaluate: {Path(report.data_dir).name}, split={report.split}, k={report.k}"
    return render_page(title, sections, css=_CSS)


# --- sections -----------------------------------------------------------------------------------------------------


def _metrics_section(report: Report) -> str:
    k, names = report.k, [r.name for r in report.results]
    panels = [(f"nDCG@{k}", [r.scores.ndcg for r in report.results]),
              (f"Recall@{k}", [r.scores.recall for r in report.results]),
              (f"MAP@{k}", [r.scores.map for r in report.results]),
              ("catalog coverage", [r.scores.coverage for r in report.results]),
              ("novelty (bits)", [r.scores.novelty for r in report.results])]
    fig = Figure(figsize=(11, 2.2 + 0.55 * len(names)), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (label, values) in zip(axes.flat, panels, strict=False):
        _bars(ax, names, values, label)
    _accuracy_coverage(axes.flat[5], report)
    fig.suptitle(f"Every model at k={k} ({report.users} test users)", fontweight="bold")
    header = ["model", "MAP", f"nDCG@{k}", f"P@{k}", f"R@{k}", "hit rate", "coverage", "novelty", "categories",
              "brand share", "fit s", "p50 ms", "p99 ms"]
    rows = [[r.name, f"{r.scores.map:.4f}", f"{r.scores.ndcg:.4f}", f"{r.scores.precision:.4f}",
             f"{r.scores.recall:.4f}", f"{r.scores.hit_rate:.4f}", f"{r.scores.coverage:.4f}",
             f"{r.scores.novelty:.2f}", f"{r.scores.categories:.2f}", f"{r.scores.brand_share:.3f}",
             f"{r.fit_seconds:.2f}", _ms(r.p50_ms), _ms(r.p99_ms)] for r in report.results]
    return ("<h2>Accuracy by model</h2>" + figure_svg(fig, "Bars: mean over test users (coverage: share of the catalog "
            "recommended to anyone; novelty: mean -log2 of the recommended items' popularity share). Tailor in red.")
            + _html_table(header, rows))


def _buckets_section(report: Report) -> str:
    if not report.buckets:
        return ""
    names = [r.name for r in report.results]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(report.buckets))
    width = 0.8 / len(names)
    for m, name in enumerate(names):
        values = [b.ndcg[name] for b in report.buckets]
        ax.bar(x + (m - (len(names) - 1) / 2) * width, values, width, label=name, color=_palette(m, name),
               edgecolor="white", linewidth=0.5)
    ax.set_xticks(x, [f"{b.label}\n({b.users} users)" for b in report.buckets])
    ax.set_xlabel("train history length (interactions in the train part)")
    ax.set_ylabel(f"nDCG@{report.k}")
    ax.set_title(f"nDCG@{report.k} by user activity")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncols=min(len(names), 4), fontsize=9, frameon=False, loc="upper left")
    ax.set_ylim(0, max(max(b.ndcg.values()) for b in report.buckets) * 1.25 or 1.0)
    header = ["model", *(f"{b.label} ({b.users} users)" for b in report.buckets)]
    rows = [[name, *(f"{b.ndcg[name]:.4f}" for b in report.buckets)] for name in names]
    return ("<h2>nDCG by user activity</h2>" + figure_svg(fig, "Test users grouped by the length of their train "
            "history; each bar is a model's mean nDCG over the bucket's users.") + _html_table(header, rows))


def _rerank_section(report: Report) -> str:
    rr = report.rerank
    if rr is None or not rr.rows:
        return ""
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    metrics = [f"nDCG@{report.k}", f"Recall@{report.k}"]
    x = np.arange(len(metrics))
    width = 0.8 / len(rr.rows)
    for j, row in enumerate(rr.rows):
        color = (_TAILOR_COLOR if row.name.startswith(TAILOR) else _REFERENCE_COLOR if row.name.startswith("ref")
                 else _OTHER_COLOR)
        bars = ax.bar(x + (j - (len(rr.rows) - 1) / 2) * width, [row.ndcg, row.recall], width, label=row.name,
                      color=color)
        ax.bar_label(bars, fmt="%.3f", padding=2, fontsize=9)
    ax.set_xticks(x, metrics)
    ax.set_ylim(0, 1.0)
    ax.set_title("Rerank: upstream order vs Tailor")
    ax.legend(frameon=False, loc="upper right", fontsize=8)
    note = (f"{rr.users} users, {rr.candidates} candidates, {rr.positives} of them held-out items. Per user: the "
            f"held-out items (at most {MAX_POSITIVES}, sampled) and {NEGATIVES_PER_POSITIVE} items the user never "
            f"touched per held-out item, in the order of an upstream score = popularity score + Normal(0, "
            f"{UPSTREAM_NOISE}). The reference orders the same candidates by the popularity score alone (no noise): "
            f"uniformly drawn negatives are mostly unpopular, so it is a strong order. "
            f"Tailor Rerank p50 {rr.p50_ms:.2f} ms, p99 {rr.p99_ms:.2f} ms.")
    rows = [[row.name, f"{row.ndcg:.4f}", f"{row.recall:.4f}"] for row in rr.rows]
    return ("<h2>Rerank</h2>" + figure_svg(fig, note)
            + _html_table(["order", f"nDCG@{report.k}", f"R@{report.k}"], rows))


def _ranker_section(report: Report) -> str:
    """The learned ranker: its verdict, the build's validation figures, and what drives it (share of the gain)."""
    ranker = report.ranker
    validation, gains = ranker.get("validation_ndcg", {}), ranker.get("gains", {})
    if not ranker.get("trained") or not isinstance(validation, dict) or not isinstance(gains, dict):
        return f"<h2>Learned ranker</h2><p>{html.escape(str(ranker.get('verdict', 'none')))}</p>" if ranker else ""
    used = sorted(((name, float(value)) for name, value in gains.items() if value > 0), key=lambda kv: -kv[1])
    fig = Figure(figsize=(7.5, 0.4 + 0.28 * max(len(used), 1)), layout="constrained")
    ax = fig.subplots()
    ax.barh([name for name, _ in used][::-1], [value for _, value in used][::-1], color=_TAILOR_COLOR)
    ax.set_xlabel("share of the model's split gain")
    ax.set_title("What drives the learned ranker")
    note = (f"{html.escape(str(ranker.get('verdict')))}. Trained on {ranker.get('lists_train', 0)} shoppers' lists "
            f"({ranker.get('rows')} candidate rows, {ranker.get('cut')} cut), {ranker.get('trees')} trees, "
            f"{ranker.get('seconds')} s; validated on {ranker.get('lists_validation', 0)} held-out shoppers.")
    rows = [[name, f"{float(value):.4f}"] for name, value in validation.items()]
    return ("<h2>Learned ranker</h2>" + figure_svg(fig, note)
            + _html_table(["order (validation)", "nDCG@10"], rows, highlight=False))


def _settings_section(report: Report) -> str:
    tailor, rr = (report.results[0] if report.results else None), report.rerank
    rows = [["data", report.data_dir], ["split", report.split], ["k", str(report.k)], ["seed", str(report.seed)],
            ["test users", str(report.users)], ["catalog items", str(report.items)],
            ["train events", str(report.train_events)], ["test events", str(report.test_events)],
            ["Tailor build s", f"{tailor.fit_seconds:.2f}" if tailor else "-"],
            ["Tailor Recommend p50 / p99 ms", f"{_ms(tailor.p50_ms)} / {_ms(tailor.p99_ms)}" if tailor else "-"],
            ["Tailor Rerank p50 / p99 ms", f"{_ms(rr.p50_ms)} / {_ms(rr.p99_ms)}" if rr else "-"],
            ["Rerank candidates", f"held-out items (at most {MAX_POSITIVES}) + {NEGATIVES_PER_POSITIVE} untouched "
                                  f"each; upstream = popularity score + Normal(0, {UPSTREAM_NOISE})"],
            ["wall s", f"{report.wall_seconds:.1f}"]]
    return "<h2>Run</h2>" + _html_table(["setting", "value"], rows, highlight=False, css_class="settings")


# --- drawing and markup helpers -----------------------------------------------------------------------------------


def _palette(index: int, name: str) -> str:
    if name == TAILOR:
        return _TAILOR_COLOR
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
    return colors[index % len(colors)]


def _bars(ax: Axes, names: Sequence[str], values: Sequence[float], label: str) -> None:
    y = np.arange(len(names))
    colors = [_TAILOR_COLOR if n == TAILOR else _OTHER_COLOR for n in names]
    bars = ax.barh(y, values, color=colors)
    ax.bar_label(bars, fmt="%.3f" if max(values, default=0) < 2 else "%.2f", padding=2, fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_title(label)
    ax.set_xlim(0, max(max(values, default=0) * 1.25, 1e-9))
    ax.grid(axis="x", alpha=0.3)


def _accuracy_coverage(ax: Axes, report: Report) -> None:
    for r in report.results:
        color = _TAILOR_COLOR if r.name == TAILOR else _OTHER_COLOR
        ax.scatter(r.scores.coverage, r.scores.ndcg, color=color, s=30, zorder=3)
        # Tailor's label to the left of its point: it sits close to the strongest baselines'
        left = r.name == TAILOR
        ax.annotate(r.name, (r.scores.coverage, r.scores.ndcg), textcoords="offset points",
                    xytext=(-5, 0) if left else (5, 0), ha="right" if left else "left", va="center", fontsize=8,
                    color=color if left else "#333")
    ax.set_xlabel("catalog coverage")
    ax.set_ylabel(f"nDCG@{report.k}")
    ax.set_title("accuracy vs coverage")
    ax.grid(alpha=0.3)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, highlight: bool = True,
                css_class: str = "") -> str:
    """A table; with `highlight`, rows whose first cell names Tailor stand out."""
    return html_table(header, rows, css_class=css_class,
                      row_class=lambda row: "tailor" if highlight and row and row[0].startswith(TAILOR) else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"

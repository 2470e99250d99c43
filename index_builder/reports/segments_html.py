"""`tailor segments --html FILE`: the segment report as one self-contained HTML page.

  segment sizes         consenting users per segment
  revenue share         each segment's share of the revenue beside its share of the users
  mean CLV              expected lifetime value per user, by segment
  R x F heatmap         buyers by recency and frequency score

then the console's tables (segments, grid, lifecycle, price band, tags) and the build settings behind
them. Figures and markup as `tailor evaluate --html` draws them (index_builder/reports/html_page.py).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from index_builder.reports.html_page import figure_style, figure_svg, html_table, render_page
from index_builder.reports.segments import (
    SCORES,
    SEGMENT_HEADER,
    SegmentsSummary,
    count_rows,
    grid_rows,
    overview,
    segment_rows,
    utc_time,
)
from protos import artifact_pb2

__all__ = ["render_html"]

_ACCENT = "#2c7fb8"
_MUTED = "#b8c2cc"
_CSS = "tr.total td{font-weight:600;border-top:1px solid #bbb}table.grid td{min-width:3.5em}"


def render_html(manifest: artifact_pb2.Manifest, summary: SegmentsSummary, withheld: int) -> str:
    """The page for one artifact version's summary; `withheld` = users without consent (not counted)."""
    with figure_style():
        sections = [_overview(manifest, summary, withheld), _segments_section(summary), _grid_section(summary),
                    _mix_section(summary), _settings_section(manifest)]
    return render_page(f"Customer segments: version {manifest.version}", sections, css=_CSS)


# --- sections -----------------------------------------------------------------------------------------------------


def _overview(manifest: artifact_pb2.Manifest, summary: SegmentsSummary, withheld: int) -> str:
    return f"<p>{html.escape(overview(manifest, summary, withheld))}</p>"


def _segments_section(summary: SegmentsSummary) -> str:
    names = [s.name for s in summary.segments]
    y = np.arange(len(names))
    sizes = Figure(figsize=(10, 4.2), layout="constrained")
    ax = sizes.subplots()
    bars = ax.barh(y, [s.users for s in summary.segments], color=_colors(names))
    ax.bar_label(bars, labels=[f"{s.users:,} ({s.share:.1%})" for s in summary.segments], padding=3, fontsize=8)
    _segment_axis(ax, names, "consenting users", "Segment sizes")

    revenue = Figure(figsize=(10, 4.6), layout="constrained")
    ax = revenue.subplots()
    ax.barh(y - 0.2, [100 * s.revenue_share for s in summary.segments], 0.4, color=_ACCENT, label="share of revenue")
    ax.barh(y + 0.2, [100 * s.share for s in summary.segments], 0.4, color=_MUTED, label="share of users")
    _segment_axis(ax, names, "% of all consenting users / of the revenue", "Revenue share by segment")
    ax.legend(frameon=False, loc="lower right", fontsize=9)

    clv = Figure(figsize=(10, 4.2), layout="constrained")
    ax = clv.subplots()
    bars = ax.barh(y, [np.nan_to_num(s.clv_mean) for s in summary.segments], color=_colors(names))
    ax.bar_label(bars, labels=[f"{s.clv_mean:,.2f}" if s.users else "-" for s in summary.segments], padding=3,
                 fontsize=8)
    _segment_axis(ax, names, "mean CLV per user", "Mean lifetime value by segment")
    return ("<h2>Segments</h2>"
            + figure_svg(sizes, "Consenting users per RFM segment (browsers: no purchase in the RFM window).")
            + figure_svg(revenue, "Each segment's share of the revenue (spend in the RFM window) beside its share "
                                  "of the users: where the revenue is concentrated.")
            + figure_svg(clv, "Mean expected lifetime value per user over the build's CLV horizon.")
            + html_table(SEGMENT_HEADER, segment_rows(summary), row_class=_total_row))


def _grid_section(summary: SegmentsSummary) -> str:
    grid = summary.rf_grid[::-1]  # R5 on top
    top = max(int(grid.max()), 1)
    fig = Figure(figsize=(6.2, 4.8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=top)
    fig.colorbar(image, ax=ax, label="buyers", shrink=0.85)
    for (i, j), count in np.ndenumerate(grid):
        ax.text(j, i, f"{count:,}", ha="center", va="center", fontsize=9,
                color="white" if count > 0.6 * top else "#222")
    ax.set_xticks(range(SCORES), [f"F{f}" for f in range(1, SCORES + 1)])
    ax.set_yticks(range(SCORES), [f"R{r}" for r in range(SCORES, 0, -1)])
    ax.set_xlabel("frequency score (5 = most orders)")
    ax.set_ylabel("recency score (5 = most recent)")
    ax.set_title("Buyers by R and F score")
    ax.spines[:].set_visible(False)
    header, rows = grid_rows(summary)
    return ("<h2>R &times; F</h2>" + figure_svg(fig, f"{summary.buyers:,} buyers (a purchase in the RFM window) by "
            "recency and frequency quintile score; tied values share a score, so a column can stay empty.")
            + html_table(header, rows, css_class="grid", row_class=_total_row))


def _mix_section(summary: SegmentsSummary) -> str:
    tables = (("lifecycle", summary.lifecycles), ("price band", summary.price_bands), ("tag", summary.tags))
    return ("<h2>Lifecycle, price band, tags</h2>"
            + "".join(html_table([title, "users", "share"], count_rows(counts, summary.users))
                      for title, counts in tables)
            + '<p class="note">A user carries any number of tags, so tag shares need not add up to 100%.</p>')


def _settings_section(manifest: artifact_pb2.Manifest) -> str:
    p, life = manifest.params, manifest.lifetime
    rows = [["artifact version", manifest.version], ["built at", manifest.created_at],
            ["reference time", utc_time(p.reference_time_ms)], ["RFM window days", f"{p.rfm_window_days:g}"],
            ["CLV horizon days", f"{p.clv_horizon_days:g}"], ["CLV margin", f"{p.clv_margin:g}"],
            ["CLV annual discount", f"{p.clv_annual_discount:g}"],
            ["BG/NBD fitted", "yes" if life.bgnbd_fitted else "no: no purchase forecast, CLV 0"],
            ["Gamma-Gamma fitted", "yes" if life.gamma_gamma_fitted else "no: order value = the buyer's own average"]]
    return "<h2>Build</h2>" + html_table(["setting", "value"], rows, css_class="settings")


# --- drawing helpers ----------------------------------------------------------------------------------------------


def _colors(names: Sequence[str]) -> list[str]:
    return [_MUTED if name == "browsers" else _ACCENT for name in names]


def _segment_axis(ax: Axes, names: Sequence[str], label: str, title: str) -> None:
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.18)


def _total_row(row: Sequence[str]) -> str:
    return "total" if row and row[0] == "all" else ""

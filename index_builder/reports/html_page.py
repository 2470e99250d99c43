"""Self-contained HTML report pages: matplotlib figures inlined as SVG, plain tables, one stylesheet.

Shared by `tailor evaluate --html` (loadtests/quality/evaluate/html_report.py) and `tailor segments --html`
(index_builder/reports/segments_html.py). Figures are drawn through `Figure` objects (Agg, no pyplot state)
inside `figure_style()`, which keeps SVG text as text and fixes the SVG ids' salt so a page is
reproducible. A page has no script and loads nothing, so it can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["figure_style", "figure_svg", "html_table", "render_page"]

# matplotlib types rcParams keys as Literals; a plain dict of them is typed by hand.
_STYLE: dict[Any, Any] = {"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
          "axes.titleweight": "bold", "svg.hashsalt": "tailor"}
_CSS = """body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222}h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}th,td{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}"""
_CSS_END = """table.settings td,table.settings th{text-align:left}
figure{margin:.8em 0}figure svg{max-width:100%;height:auto}figcaption,.note{color:#555;font-size:.92em}"""


@contextmanager
def figure_style() -> Iterator[None]:
    """The rcParams every report figure is drawn (and saved) under."""
    with matplotlib.rc_context(_STYLE):
        yield


def render_page(title: str, sections: Sequence[str], *, css: str = "") -> str:
    """The whole page: `title` (plain text, escaped here), then the sections' markup; `css` adds rules."""
    title = html.escape(title)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}{css}\n{_CSS_END}</style></head><body><h1>{title}</h1>\n"
            + "\n".join(s for s in sections if s) + "\n</body></html>\n")


def figure_svg(fig: Figure, caption: str) -> str:
    """The figure as inline SVG (everything before the <svg> element, the XML prolog and DTD, dropped)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    return f"<figure>{svg[svg.index('<svg'):]}<figcaption>{html.escape(caption)}</figcaption></figure>"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, css_class: str = "",
               row_class: Callable[[Sequence[str]], str] | None = None) -> str:
    """A table of plain-text cells (escaped here); `row_class(row)` names a row's class ("" for none)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(f"<tr{_class_attribute(row_class(row) if row_class else '')}>"
                   + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    opening = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _class_attribute(name: str) -> str:
    return f" class={name}" if name else ""

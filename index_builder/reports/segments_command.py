"""`tailor segments`: the customer base of a built artifact by RFM segment, for the CRM team.

  tailor segments --artifacts ROOT [--html FILE] [--csv FILE] [--quiet]

Reads ROOT/current offline (index_builder/reports/segments.py) and prints the segment table, the
R x F grid and the lifecycle, price band and tag counts. `--html` writes them as one self-contained
page with charts; `--csv` writes one row per consenting user (segments_report.CSV_COLUMNS) for CRM
tools. The CSV holds user ids, which are personal data: it is written atomically and readable by its
owner only, and no id is ever printed or logged. Exit codes: 0, 1 an output could not be written,
2 no readable artifact at ROOT.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from clients.flags import add_output_flags
from index_builder.reports.segments import (
    SEGMENT_HEADER,
    ArtifactReadError,
    SegmentsSummary,
    StoreFacts,
    count_rows,
    facts_table,
    grid_rows,
    overview,
    read_store_facts,
    segment_rows,
    summarize,
)

__all__ = ["main", "format_summary", "parser", "write_csv"]

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor segments", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, required=True, metavar="ROOT", help="artifact root; ROOT/current is read")
    p.add_argument("--html", dest="html_out", type=Path, metavar="FILE",
                   help="also write one self-contained HTML page with charts")
    p.add_argument("--csv", dest="csv_out", type=Path, metavar="FILE",
                   help="also write one row per consenting user for CRM tools (holds user ids: personal data)")
    add_output_flags(p)
    return p


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_summary(store: StoreFacts, summary: SegmentsSummary) -> str:
    """The console report: what is counted, the segment table, the R x F grid, then the mix counts."""
    lines = [f"Customer segments of {store.root} (version {store.manifest.version})",
             *textwrap.wrap(overview(store.manifest, summary, store.withheld), width=110), "",
             *_text_table(SEGMENT_HEADER, segment_rows(summary)), "",
             "Buyers by recency score (R5 = most recent) and frequency score (F5 = most orders); tied values share",
             "a score, so a column can stay empty", *_text_table(*grid_rows(summary)), ""]
    for title, counts in (("lifecycle", summary.lifecycles), ("price band", summary.price_bands),
                          ("tags (a user may carry several)", summary.tags)):
        lines.append(f"{title}: " + ", ".join(f"{name} {n} ({share})" for name, n, share in
                                              count_rows(counts, summary.users)))
    return "\n".join(lines)


def write_csv(path: Path, table: pa.Table) -> None:
    """Write `table` as CSV to `path` atomically (a temporary file beside it, fsynced, renamed over it),
    readable by its owner only; raises OSError, leaving no temporary file behind."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pa_csv.write_csv(table, f, pa_csv.WriteOptions(quoting_style="needed"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_html(path: Path, store: StoreFacts, summary: SegmentsSummary) -> None:
    from index_builder.reports.segments_html import render_html  # matplotlib only when a page is asked for

    path.write_text(render_html(store.manifest, summary, store.withheld), encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    """Run `tailor segments`; argv[0] is "segments"."""
    args = parser().parse_args(list(argv[1:]))
    started = time.perf_counter()
    try:
        store = read_store_facts(args.artifacts, progress=not args.quiet)
    except ArtifactReadError as exc:
        print(f"tailor segments: error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = summarize(store.facts)
    except ValueError as exc:
        print(f"tailor segments: error: {store.version_dir}: {exc}", file=sys.stderr)
        return 2
    print(format_summary(store, summary))
    outputs = ((args.html_out, lambda path: _write_html(path, store, summary)),
               (args.csv_out, lambda path: write_csv(path, facts_table(store.user_ids, store.facts))))
    for path, write in outputs:
        try:
            if path:
                write(path)
        except OSError as exc:
            print(f"tailor segments: error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    log.info("segments_report version=%s users=%d withheld=%d buyers=%d html=%s csv_rows=%d seconds=%.2f",
             store.manifest.version, summary.users, store.withheld, summary.buyers, bool(args.html_out),
             summary.users if args.csv_out else 0, time.perf_counter() - started)
    return 0

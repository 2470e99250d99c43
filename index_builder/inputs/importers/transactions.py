"""Import an order-line export (CSV or Parquet, one row per order line) into the builder's inputs.

  mapping: user=COL,item=COL,timestamp=COL[,quantity=COL,price=COL,category=COL,brand=COL,order=COL,title=COL]

Writes OUT/items.csv, OUT/users.csv and OUT/events.csv (README "Input files"):
- events.csv: one `purchase` per line, value = quantity (when mapped), session_id = order id
  (when mapped; otherwise the builder derives sessions), ts and ids as in the export. An empty
  user is a guest checkout: an anonymous event. Lines with a quantity <= 0 or empty (returns,
  cancellations) are skipped and counted.
- items.csv: one row per item, from its last line in the export (title, category, brand, price);
  category "uncategorized" where not mapped or empty.
- users.csv: by default the header only. An export carries no consent, and the importer does not
  invent it: every customer is a user seen only in events, whose consent is the build's
  default_consent (`tailor build --default-consent true` only if consent is collected at checkout),
  or supply your own users.csv. With `consent` (`--consent yes|no`), one row per customer seen,
  with that consent.

Everything is columnar (pyarrow); ids are checked against protos/ids.py here, so a bad one is
named by the export's own line and column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from index_builder.errors import InputError
from protos import ids

__all__ = ["TransactionMapping", "ImportSummary", "parse_mapping", "import_transactions"]

log = logging.getLogger(__name__)
UNCATEGORIZED = "uncategorized"


@dataclass(frozen=True)
class TransactionMapping:
    """Export column per role; None = not in the export."""

    user: str
    item: str
    timestamp: str
    quantity: str | None = None
    price: str | None = None
    category: str | None = None
    brand: str | None = None
    order: str | None = None
    title: str | None = None

    def mapped(self) -> dict[str, str]:
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class ImportSummary:
    lines: int
    events: int
    items: int
    lines_skipped_quantity: int


def parse_mapping(text: str) -> TransactionMapping:
    """`user=customer_id,item=sku,timestamp=ordered_at,...` -> TransactionMapping; errors name the key."""
    known = [f.name for f in fields(TransactionMapping)]
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not column:
            raise ValueError(f"mapping: expected KEY=COLUMN, got {part!r}")
        if key not in known:
            raise ValueError(f"mapping: unknown key {key!r} (known: {', '.join(known)})")
        if key in values:
            raise ValueError(f"mapping: key {key!r} given twice")
        values[key] = column
    missing = [k for k in ("user", "item", "timestamp") if k not in values]
    if missing:
        raise ValueError(f"mapping: missing key {missing[0]!r} (user, item and timestamp are required)")
    return TransactionMapping(**values)


def import_transactions(file: Path, mapping: TransactionMapping, out_dir: Path,
                        consent: bool | None = None) -> ImportSummary:
    """Read the export at `file`, write the builder's three inputs into `out_dir`; returns the counts.

    `consent`: None writes a header-only users.csv; True/False one row per customer seen, with that consent."""
    lines = _read(file, mapping)
    for role in ("user", "item"):
        _check_ids(file, lines[role], mapping.mapped()[role], optional=role == "user")
    quantity = _numbers(file, lines, mapping, "quantity")
    price = _numbers(file, lines, mapping, "price")
    keep = pc.greater(quantity, 0) if quantity is not None else pa.repeat(pa.scalar(True), lines.num_rows)
    keep = pc.fill_null(keep, False)
    kept = lines.filter(keep)
    out_dir.mkdir(parents=True, exist_ok=True)
    events = {"ts": kept["timestamp"], "user_id": kept["user"], "item_id": kept["item"],
              "type": pa.repeat(pa.scalar("purchase"), kept.num_rows)}
    if mapping.order is not None:
        events["session_id"] = kept["order"]
    if quantity is not None:
        events["value"] = quantity.filter(keep)
    pacsv.write_csv(pa.table(events), out_dir / "events.csv")
    items = _items(kept, price.filter(keep) if price is not None else None, mapping)
    pacsv.write_csv(items, out_dir / "items.csv")
    pacsv.write_csv(_users(kept["user"], consent), out_dir / "users.csv")
    summary = ImportSummary(lines=lines.num_rows, events=kept.num_rows, items=items.num_rows,
                            lines_skipped_quantity=lines.num_rows - kept.num_rows)
    log.info("import_done file=%s lines=%d events=%d items=%d lines_skipped_quantity=%d", file.name,
             summary.lines, summary.events, summary.items, summary.lines_skipped_quantity)
    return summary


def _users(user: pa.ChunkedArray, consent: bool | None) -> pa.Table:
    """users.csv: header only without `consent`; else each non-empty user once, in order of first line."""
    seen = pc.unique(user.filter(pc.not_equal(user, ""))) if consent is not None else pa.array([], pa.string())
    return pa.table({"user_id": seen.cast(pa.string()), "consent": pa.repeat(pa.scalar(bool(consent)), len(seen))})


def _read(file: Path, mapping: TransactionMapping) -> pa.Table:
    """The mapped columns, renamed to their roles; text except a parquet timestamp column."""
    mapped = mapping.mapped()
    try:
        if file.suffix == ".parquet":
            table = pq.read_table(file)
        else:
            text = {column: pa.string() for column in mapped.values()}
            options = pacsv.ConvertOptions(column_types=text, strings_can_be_null=False)
            table = pacsv.read_csv(file, convert_options=options)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(file, f"cannot read: {exc}") from exc
    for role, column in mapped.items():
        if column not in table.column_names:
            raise InputError(file, f"mapping {role}={column}: no column {column!r} in the export "
                                   f"(columns: {', '.join(table.column_names)})")
    columns = []
    for role, column in mapped.items():
        values = table[column]
        if role == "timestamp" and pa.types.is_timestamp(values.type) and values.type.tz is not None:
            values = values.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())  # epoch ms: zone kept exactly
        elif role not in ("quantity", "price") or not pa.types.is_floating(values.type):
            values = values.cast(pa.string())
        columns.append(values)
    return pa.table(columns, names=list(mapped))


def _error_at(file: Path, row: int, column: str, message: str) -> InputError:
    if file.suffix == ".parquet":
        return InputError(file, f"{message} (row {row})", column=column)
    return InputError(file, message, line=row + 2, column=column)


def _check_ids(file: Path, values: pa.ChunkedArray, column: str, *, optional: bool) -> None:
    good = pc.match_substring_regex(values, ids.ID_PATTERN)
    if optional:
        good = pc.or_(good, pc.equal(values, ""))
    bad = np.flatnonzero(~pc.fill_null(good, False).to_numpy(zero_copy_only=False))
    if len(bad):
        # Customer ids are personal data: never echoed.
        raise _error_at(file, int(bad[0]), column, f"id {ids.ID_RULE} (the server refuses any other id)")


def _numbers(file: Path, lines: pa.Table, mapping: TransactionMapping, role: str) -> pa.ChunkedArray | None:
    """A mapped numeric column as float64 (empty = null); a cell that is not a number is an error."""
    column = mapping.mapped().get(role)
    if column is None:
        return None
    values = lines[role]
    if pa.types.is_floating(values.type):
        return values
    text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(values), ""), pa.scalar(None, pa.string()), values)
    try:
        return text.cast(pa.float64())
    except pa.ArrowInvalid as exc:
        numeric = pc.match_substring_regex(text, r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")
        bad = np.flatnonzero(~pc.fill_null(numeric, True).to_numpy(zero_copy_only=False))
        if not len(bad):
            raise InputError(file, f"cannot read as numbers: {exc}", column=column) from exc
        row = int(bad[0])
        raise _error_at(file, row, column, f"cannot parse {values[row].as_py()!r} as a number") from exc


def _items(kept: pa.Table, price: pa.ChunkedArray | None, mapping: TransactionMapping) -> pa.Table:
    """One row per item: its last line's title, category, brand and price."""
    columns = {"item_id": kept["item"]}
    for role in ("title", "category", "brand"):
        if getattr(mapping, role) is not None:
            columns[role] = kept[role]
    if price is not None:
        columns["price"] = price
    lines = pa.table(columns)
    # group_by without threads keeps the input order, so "last" is the last line.
    aggregates = [(name, "last") for name in columns if name != "item_id"]
    items = lines.group_by("item_id", use_threads=False).aggregate(aggregates)
    items = items.rename_columns([name.removesuffix("_last") for name in items.column_names])
    category = items["category"] if "category" in items.column_names else pa.repeat(pa.scalar(""), items.num_rows)
    category = pc.if_else(pc.equal(pc.fill_null(category, ""), ""), UNCATEGORIZED, category)
    if "category" in items.column_names:
        return items.set_column(items.column_names.index("category"), "category", category)
    return items.append_column("category", category)

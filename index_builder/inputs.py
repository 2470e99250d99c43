"""Read and validate the three input tables (CSV or Parquet, chosen by extension).

Reading is columnar (pyarrow) so a 10M-row event log never becomes Python
objects. Errors name file, line and column: the fast typed read fails as a
whole, so on failure a slow row-by-row scan locates the first bad cell.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from index_builder.errors import InputError
from protos import artifact

__all__ = ["EVENT_TYPES", "TableSpec", "ITEMS", "USERS", "EVENTS", "find_input", "read_table"]

log = logging.getLogger(__name__)

EVENT_TYPES = artifact.EVENT_TYPES
_TRUE = ["true", "True", "TRUE", "1"]
_FALSE = ["false", "False", "FALSE", "0"]
_TS = pa.timestamp("ms", tz="UTC")


@dataclass(frozen=True)
class TableSpec:
    """One input table: the columns the builder reads and their types."""

    name: str
    columns: dict[str, pa.DataType]
    required_text: tuple[str, ...]
    unique: str | None


ITEMS = TableSpec(
    "items",
    {"item_id": pa.string(), "category": pa.string(), "brand": pa.string(),
     "price": pa.float64(), "in_stock": pa.bool_()},
    required_text=("item_id", "category"),
    unique="item_id",
)
USERS = TableSpec(
    "users",
    {"user_id": pa.string(), "consent": pa.bool_()},
    required_text=("user_id",),
    unique="user_id",
)
EVENTS = TableSpec(
    "events",
    {"ts": _TS, "user_id": pa.string(), "session_id": pa.string(),
     "item_id": pa.string(), "type": pa.string()},
    required_text=("session_id", "item_id", "type"),
    unique=None,
)


def find_input(data_dir: Path, name: str) -> Path:
    """`DIR/name.csv` or `DIR/name.parquet`, whichever exists."""
    for ext in (".csv", ".parquet"):
        path = data_dir / f"{name}{ext}"
        if path.is_file():
            return path
    raise InputError(data_dir / f"{name}.csv", f"missing input file (looked for {name}.csv and {name}.parquet)")


def read_table(path: Path, spec: TableSpec) -> pa.Table:
    """Read one input table, typed and validated; raises InputError naming file/line/column."""
    table = _read_parquet(path, spec) if path.suffix == ".parquet" else _read_csv(path, spec)
    _check_values(path, spec, table)
    log.info("input_read file=%s rows=%d", path.name, table.num_rows)
    return table


def _read_csv(path: Path, spec: TableSpec) -> pa.Table:
    header = _csv_header(path)
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} in header", line=1, column=missing[0])
    options = pacsv.ConvertOptions(
        column_types=spec.columns, include_columns=list(spec.columns),
        true_values=_TRUE, false_values=_FALSE, strings_can_be_null=False,
        timestamp_parsers=[pacsv.ISO8601],
    )
    try:
        return pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _locate_csv_error(path, spec, header) or InputError(path, str(exc)) from exc


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc


def _read_parquet(path: Path, spec: TableSpec) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(path, f"cannot read parquet: {exc}") from exc
    missing = [c for c in spec.columns if c not in table.column_names]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}", column=missing[0])
    columns = []
    for name, dtype in spec.columns.items():
        try:
            columns.append(table[name].cast(dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(path, f"cannot convert to {dtype}: {exc}", column=name) from exc
    return pa.table(columns, names=list(spec.columns))


def _parse_bool(text: str) -> bool:
    if text in _TRUE or text in _FALSE:
        return True
    raise ValueError(text)


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _converter(dtype: pa.DataType) -> Callable[[str], object] | None:
    if pa.types.is_boolean(dtype):
        return _parse_bool
    if pa.types.is_floating(dtype):
        return float
    if pa.types.is_integer(dtype):
        return int
    if pa.types.is_timestamp(dtype):
        return _parse_ts
    return None


def _locate_csv_error(path: Path, spec: TableSpec, header: list[str]) -> InputError | None:
    """Slow path, only after a failed read: find the first cell that does not parse."""
    checks = [(header.index(c), c, conv) for c, t in spec.columns.items() if (conv := _converter(t))]
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                return InputError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
            for index, column, conv in checks:
                try:
                    conv(row[index])
                except ValueError:
                    kind = spec.columns[column]
                    return InputError(path, f"cannot parse {row[index]!r} as {kind}", line=line, column=column)
    return None


def _first_bad(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if len(bad) else None


def _fail_at(path: Path, row: int | None, column: str, message: str) -> None:
    if row is not None:
        line = row + 2 if path.suffix != ".parquet" else None
        where = "" if line is not None else f" (row {row})"
        raise InputError(path, message + where, line=line, column=column)


def _check_values(path: Path, spec: TableSpec, table: pa.Table) -> None:
    for column in spec.required_text:
        values = table[column]
        empty = pc.or_(pc.is_null(values), pc.equal(pc.utf8_length(values), 0))
        _fail_at(path, _first_bad(empty.to_numpy(zero_copy_only=False)), column, "must not be empty")
    for column, dtype in spec.columns.items():
        if column not in spec.required_text and not pa.types.is_string(dtype):
            nulls = pc.is_null(table[column]).to_numpy(zero_copy_only=False)
            _fail_at(path, _first_bad(nulls), column, "must not be empty")
    if "price" in spec.columns:
        price = table["price"].to_numpy()
        _fail_at(path, _first_bad(~np.isfinite(price) | (price < 0)), "price", "must be a finite number >= 0")
    if "type" in spec.columns:
        codes = pc.index_in(table["type"], value_set=pa.array(EVENT_TYPES)).to_numpy(zero_copy_only=False)
        _fail_at(path, _first_bad(np.isnan(codes.astype("f8"))), "type", f"must be one of {', '.join(EVENT_TYPES)}")
    if spec.unique:
        _check_unique(path, table, spec.unique)


def _check_unique(path: Path, table: pa.Table, column: str) -> None:
    ids = table[column]
    if pc.count_distinct(ids).as_py() == len(ids):
        return
    codes = pc.dictionary_encode(ids).combine_chunks().indices.to_numpy()
    seen = np.zeros(len(codes), dtype=bool)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    dup = np.zeros(len(codes), dtype=bool)
    dup[1:] = sorted_codes[1:] == sorted_codes[:-1]
    seen[order[dup]] = True
    row = _first_bad(seen)
    # The id itself is not echoed: user ids are personal data and error text ends up in logs.
    _fail_at(path, row, column, "duplicate id (an earlier row has the same one)")


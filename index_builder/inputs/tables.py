"""Read and validate the three input tables (CSV or Parquet, chosen by extension).

Reading is columnar (pyarrow) so a 10M-row event log never becomes Python
objects. Errors name file, line and column: checks run on whole columns, and
only when one fails does a slow row-by-row scan locate the first bad cell.

What a table may hold (README "Input files" has the full list):
- Optional columns may be missing or hold empty cells; they take their default:
  items.title "", items.brand "unbranded", items.price 0, items.in_stock true,
  events.session_id "" (the builder derives sessions), events.value 1.
- items.category may list several categories, `a|b|c`; the first is the item's primary
  category (the one the artifact stores).
- Ids (items.item_id, users.user_id, events.item_id, events.user_id) follow the server's
  grammar, protos/ids.py: what builds can be sent back. An empty events.user_id is anonymous.
- Timestamps are ISO-8601 with a zone, epoch seconds or epoch milliseconds; see `parse_timestamps`.
- True/false cells (users.consent, items.in_stock) take the config's words in any case: true/false,
  1/0, yes/no (protos/settings.py).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from index_builder.errors import InputError
from protos import artifact, ids, settings

__all__ = ["EVENT_TYPES", "TableSpec", "ITEMS", "USERS", "EVENTS", "EPOCH_MS_FROM", "find_input", "read_table",
           "parse_timestamps"]

log = logging.getLogger(__name__)

EVENT_TYPES = artifact.EVENT_TYPES
_TS = pa.timestamp("ms", tz="UTC")
# An all-integer timestamp column is epoch seconds when its largest value is below this
# (1e11 s is the year 5138), else epoch milliseconds (1e11 ms is March 1973).
EPOCH_MS_FROM = 10**11
_INTEGER = r"^\s*-?[0-9]+\s*$"
_ZONE = r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"


@dataclass(frozen=True)
class TableSpec:
    """One input table: required and optional columns, their types and checks.

    `defaults` gives each optional column's value where the column is missing or a cell empty.
    `ids` columns follow protos/ids.py (an empty cell is allowed where the column is not in
    `required_text`); `personal` columns are never echoed in error messages.
    """

    name: str
    columns: dict[str, pa.DataType]
    required_text: tuple[str, ...]
    unique: str | None
    defaults: dict[str, object] = field(default_factory=dict)
    optional: dict[str, pa.DataType] = field(default_factory=dict)
    ids: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()

    @property
    def all_columns(self) -> dict[str, pa.DataType]:
        return {**self.columns, **self.optional}


ITEMS = TableSpec(
    "items",
    {"item_id": pa.string(), "category": pa.string()},
    required_text=("item_id", "category"),
    unique="item_id",
    optional={"title": pa.string(), "brand": pa.string(), "price": pa.float64(), "in_stock": pa.bool_()},
    defaults={"title": "", "brand": "unbranded", "price": 0.0, "in_stock": True},
    ids=("item_id",),
)
USERS = TableSpec(
    "users",
    {"user_id": pa.string(), "consent": pa.bool_()},
    required_text=("user_id",),
    unique="user_id",
    optional={"country": pa.string(), "age_band": pa.string()},
    defaults={"country": "", "age_band": ""},
    ids=("user_id",),
    personal=("user_id", "country", "age_band"),
)
EVENTS = TableSpec(
    "events",
    {"ts": _TS, "user_id": pa.string(), "item_id": pa.string(), "type": pa.string()},
    required_text=("item_id", "type"),
    unique=None,
    # qty x price is an order line's amount (RFM monetary, lifetime value); a price of 0 (or none) means
    # the catalog price; channel is one of web, app, email, store (anything else counts as unknown).
    optional={"session_id": pa.string(), "value": pa.float64(), "qty": pa.float64(), "price": pa.float64(),
              "channel": pa.string()},
    defaults={"session_id": "", "value": 1.0, "qty": 1.0, "price": 0.0, "channel": ""},
    ids=("item_id", "user_id"),
    personal=("user_id", "session_id"),
    timestamps=("ts",),
)


def find_input(data_dir: Path, name: str) -> Path:
    """`DIR/name.csv` or `DIR/name.parquet`, whichever exists."""
    for ext in (".csv", ".parquet"):
        path = data_dir / f"{name}{ext}"
        if path.is_file():
            return path
    raise InputError(data_dir / f"{name}.csv", f"missing input file (looked for {name}.csv and {name}.parquet)")


def read_table(path: Path, spec: TableSpec, timezone: str | None = None) -> pa.Table:
    """Read one input table, typed, defaulted and validated; raises InputError naming file/line/column.

    `timezone` (an IANA name) is where zone-less ISO timestamps are local time; without it they are refused.
    """
    table = _read_parquet(path, spec) if path.suffix == ".parquet" else _read_csv(path, spec)
    for column in spec.timestamps:
        table = table.set_column(table.column_names.index(column), column,
                                 parse_timestamps(path, table[column], column, timezone))
    for column in _boolean_columns(spec):
        if column in table.column_names:
            table = table.set_column(table.column_names.index(column), column,
                                     _booleans(path, table[column], column))
    table = _with_defaults(table, spec)
    _check_values(path, spec, table)
    log.info("input_read file=%s rows=%d", path.name, table.num_rows)
    return table


def _read_csv(path: Path, spec: TableSpec) -> pa.Table:
    header = _csv_header(path)
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} in header", line=1, column=missing[0])
    # Timestamps and booleans are read as text and parsed by parse_timestamps and _booleans.
    as_text = (*spec.timestamps, *_boolean_columns(spec))
    types = {c: (pa.string() if c in as_text else t) for c, t in spec.all_columns.items() if c in header}
    options = pacsv.ConvertOptions(column_types=types, include_columns=list(types), strings_can_be_null=False)
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
    columns, names = [], []
    for name, dtype in spec.all_columns.items():
        if name not in table.column_names:
            continue
        names.append(name)
        if name in spec.timestamps or (pa.types.is_boolean(dtype) and _is_text(table[name].type)):
            columns.append(table[name])  # converted by parse_timestamps / _booleans, like CSV text
            continue
        try:
            values = table[name].cast(dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(path, f"cannot convert to {dtype}: {exc}", column=name) from exc
        # A null text cell is an empty one, as in CSV (an anonymous user, a missing session).
        columns.append(pc.fill_null(values, "") if pa.types.is_string(dtype) else values)
    return pa.table(columns, names=names)


def _with_defaults(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Optional columns: a missing column becomes its default everywhere, an empty cell takes it."""
    for name, dtype in spec.optional.items():
        default = pa.scalar(spec.defaults[name], dtype)
        if name not in table.column_names:
            table = table.append_column(name, pa.repeat(default, table.num_rows))
        else:
            filled = pc.fill_null(table[name], default)
            table = table.set_column(table.column_names.index(name), name, filled)
    return table


def _boolean_columns(spec: TableSpec) -> tuple[str, ...]:
    return tuple(c for c, t in spec.all_columns.items() if pa.types.is_boolean(t))


def _is_text(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))


def _booleans(path: Path, values: pa.ChunkedArray, column: str) -> pa.ChunkedArray:
    """A true/false column from text: protos/settings.py's words in any case (true/false, 1/0, yes/no, the
    config's too); an empty cell is null (its default, or "must not be empty"); anything else is an error."""
    if not _is_text(values.type):
        return values
    words = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    true = pc.is_in(words, value_set=pa.array(settings.TRUE_WORDS))
    known = pc.or_(true, pc.is_in(words, value_set=pa.array(settings.FALSE_WORDS)))
    empty = pc.equal(pc.utf8_length(words), 0)
    row = _first_bad(pc.invert(pc.or_(known, empty)).to_numpy(zero_copy_only=False))
    if row is not None:
        raise _error_at(path, row, column, f"cannot parse {values[row].as_py()!r} as bool "
                                           f"({'/'.join(settings.BOOLEAN_WORDS)}, any case)")
    return pc.if_else(empty, pa.scalar(None, pa.bool_()), true)


def parse_timestamps(path: Path, values: pa.ChunkedArray, column: str, timezone: str | None) -> pa.ChunkedArray:
    """A timestamp column as UTC milliseconds.

    Accepted, detected per column: ISO-8601 text with a zone (`Z`, `+02:00`); integers or
    all-integer text as epoch seconds or milliseconds (seconds when every value is below
    EPOCH_MS_FROM); zone-less ISO text or parquet timestamps only with `timezone`.
    """
    dtype = values.type
    if pa.types.is_timestamp(dtype):
        if dtype.tz is not None:
            return values.cast(_TS)
        if timezone is None:
            raise _error_at(path, 0, column, _zoneless(values[0].as_py()))
        return _assume_zone(values.cast(pa.timestamp("ms"), safe=False), timezone)
    if pa.types.is_integer(dtype):
        return _epoch(values)
    if not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        raise InputError(path, f"cannot read {dtype} as a timestamp", column=column)
    _fail_at(path, _first_bad(_empty(values)), column, "must not be empty")
    if pc.all(pc.match_substring_regex(values, _INTEGER)).as_py():
        return _epoch(pc.utf8_trim_whitespace(values).cast(pa.int64()))
    zoned = pc.match_substring_regex(values, _ZONE)
    parsed = _parse_iso(path, pc.if_else(zoned, values, "1970-01-01T00:00:00Z"), column, pa.timestamp("us", "UTC"))
    if pc.all(zoned).as_py():
        return parsed.cast(_TS, safe=False)
    if timezone is None:
        first = int(np.argmin(zoned.to_numpy(zero_copy_only=False)))
        text = values[first].as_py()
        message = _zoneless(text) if _parses(text) else _unparsable(text)
        raise _error_at(path, first, column, message)
    local = _parse_iso(path, pc.if_else(zoned, "1970-01-01T00:00:00", values), column, pa.timestamp("us"))
    return pc.if_else(zoned, parsed.cast(_TS, safe=False), _assume_zone(local.cast(pa.timestamp("ms"), safe=False),
                                                                        timezone))


def _zoneless(value: object) -> str:
    return (f"timestamp without a zone: {str(value)!r}; give it one (Z, +02:00) or pass --timezone NAME "
            "(build.timezone) to read zone-less times as local time there")


def _unparsable(value: object) -> str:
    return f"cannot parse {str(value)!r} as a timestamp (ISO-8601 with a zone, epoch seconds or epoch milliseconds)"


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_iso(path: Path, values: pa.ChunkedArray, column: str, dtype: pa.DataType) -> pa.ChunkedArray:
    """Cast ISO text to `dtype`; on failure the slow walk names the first cell Python cannot parse either."""
    try:
        return values.cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        texts = values.to_pylist()
        row = next((i for i, text in enumerate(texts) if not _parses(text)), None)
        if row is None:
            raise InputError(path, f"cannot parse as a timestamp: {exc}", column=column) from exc
        raise _error_at(path, row, column, _unparsable(texts[row])) from exc


def _assume_zone(local: pa.ChunkedArray, timezone: str) -> pa.ChunkedArray:
    """Zone-less times as local time in `timezone`: a repeated hour counts once (the earlier), a skipped one
    moves to its end."""
    return pc.assume_timezone(local, timezone, ambiguous="earliest", nonexistent="latest").cast(_TS)


def _epoch(values: pa.ChunkedArray) -> pa.ChunkedArray:
    ints = values.cast(pa.int64())
    largest = pc.max(pc.abs(ints)).as_py() or 0
    millis = ints if largest >= EPOCH_MS_FROM else pc.multiply(ints, 1000)
    return millis.cast(pa.timestamp("ms")).cast(_TS)


def _converter(dtype: pa.DataType) -> Callable[[str], object] | None:
    if pa.types.is_floating(dtype):
        return float
    if pa.types.is_integer(dtype):
        return int
    return None


def _locate_csv_error(path: Path, spec: TableSpec, header: list[str]) -> InputError | None:
    """Slow path, only after a failed read: find the first cell that does not parse (empty = default)."""
    checks = [(header.index(c), c, conv) for c, t in spec.all_columns.items()
              if c in header and c not in spec.timestamps and (conv := _converter(t))]
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                return InputError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
            for index, column, conv in checks:
                try:
                    if row[index] or column in spec.columns:
                        conv(row[index])
                except ValueError:
                    kind = spec.all_columns[column]
                    return InputError(path, f"cannot parse {row[index]!r} as {kind}", line=line, column=column)
    return None


def _first_bad(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if len(bad) else None


def _empty(values: pa.ChunkedArray) -> np.ndarray:
    empty = pc.or_(pc.is_null(values), pc.equal(pc.utf8_length(values), 0))
    return empty.to_numpy(zero_copy_only=False)


def _error_at(path: Path, row: int, column: str, message: str) -> InputError:
    """CSV rows are named by line (the header is line 1), parquet rows by 0-based row number."""
    line = row + 2 if path.suffix != ".parquet" else None
    where = "" if line is not None else f" (row {row})"
    return InputError(path, message + where, line=line, column=column)


def _fail_at(path: Path, row: int | None, column: str, message: str) -> None:
    if row is not None:
        raise _error_at(path, row, column, message)


def _check_values(path: Path, spec: TableSpec, table: pa.Table) -> None:
    for column in spec.required_text:
        _fail_at(path, _first_bad(_empty(table[column])), column, "must not be empty")
    for column, dtype in spec.columns.items():
        if column not in spec.required_text and not pa.types.is_string(dtype):
            nulls = pc.is_null(table[column]).to_numpy(zero_copy_only=False)
            _fail_at(path, _first_bad(nulls), column, "must not be empty")
    for column in spec.ids:
        _check_ids(path, spec, table[column], column)
    if "category" in table.column_names:
        primary = pc.utf8_trim_whitespace(pc.replace_substring_regex(table["category"], r"\|.*$", ""))
        _fail_at(path, _first_bad(_empty(primary)), "category", "the first (primary) category must not be empty")
    if "price" in table.column_names:
        # An event's price may be negative (a refund line: it adds nothing to monetary value, counted).
        price = table["price"].to_numpy()
        floor = 0.0 if spec.name == "items" else -np.inf
        _fail_at(path, _first_bad(~np.isfinite(price) | (price < floor)), "price",
                 "must be a finite number >= 0" if spec.name == "items" else "must be a finite number")
    if "qty" in table.column_names:
        qty = table["qty"].to_numpy()
        _fail_at(path, _first_bad(~np.isfinite(qty)), "qty", "must be a finite number")
    if "value" in table.column_names:
        value = table["value"].to_numpy()
        _fail_at(path, _first_bad(~np.isfinite(value) | (value <= 0)), "value", "must be a finite number > 0")
    if "type" in table.column_names:
        codes = pc.index_in(table["type"], value_set=pa.array(EVENT_TYPES)).to_numpy(zero_copy_only=False)
        _fail_at(path, _first_bad(np.isnan(codes.astype("f8"))), "type", f"must be one of {', '.join(EVENT_TYPES)}")
    if spec.unique:
        _check_unique(path, table, spec.unique)


def _check_ids(path: Path, spec: TableSpec, values: pa.ChunkedArray, column: str) -> None:
    """Every id the server would refuse is an error (one regex pass; empty allowed where optional)."""
    good = pc.match_substring_regex(values, ids.ID_PATTERN)
    if column not in spec.required_text:
        good = pc.or_(good, pc.equal(values, ""))
    bad = pc.invert(pc.fill_null(good, False)).to_numpy(zero_copy_only=False)
    row = _first_bad(bad)
    if row is None:
        return
    # User ids are personal data and error text ends up in logs: they are never echoed.
    shown = "" if column in spec.personal else f" {values[row].as_py()!r}"
    _fail_at(path, row, column, f"id{shown} {ids.ID_RULE} (the server refuses any other id)")


def _check_unique(path: Path, table: pa.Table, column: str) -> None:
    ids_ = table[column]
    if pc.count_distinct(ids_).as_py() == len(ids_):
        return
    codes = pc.dictionary_encode(ids_).combine_chunks().indices.to_numpy()
    seen = np.zeros(len(codes), dtype=bool)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    dup = np.zeros(len(codes), dtype=bool)
    dup[1:] = sorted_codes[1:] == sorted_codes[:-1]
    seen[order[dup]] = True
    row = _first_bad(seen)
    # The id itself is not echoed: user ids are personal data and error text ends up in logs.
    _fail_at(path, row, column, "duplicate id (an earlier row has the same one)")

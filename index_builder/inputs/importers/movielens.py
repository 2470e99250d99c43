"""import_movielens: a MovieLens directory -> items.csv, users.csv, events.csv for `tailor build`.

Three layouts are recognised, looked for in this order:

  RecBole      ml-100k.inter (TSV, header `user_id:token item_id:token rating:float timestamp:float`)
               [+ ml-100k.item: movie_title, class (space-separated genres)]
  GroupLens    u.data (tab: user item rating ts, no header) [+ u.item: pipe-separated, 19 genre flags]
  ml-latest    ratings.csv (userId,movieId,rating,timestamp) [+ movies.csv: movieId,title,genres with |]

Every rating is an interaction, whatever its value (as in the usual MovieLens protocols): one
"view" event per rating, in the file's row order (a seeded split drawing one number per row
then matches one drawn on the original file). Ids get a prefix (`u196`, `i242`) so they meet
the server's id grammar; a movie's category is its first genre, or "unknown".
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from index_builder.demo.csv import timestamps
from index_builder.errors import InputError

__all__ = ["ImportSummary", "import_movielens"]

log = logging.getLogger(__name__)

# u.item's 19 genre flags, in order (u.genre lists the same).
_GROUPLENS_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                     "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
                     "Thriller", "War", "Western")
_CREATED_AT = "2000-01-01T00:00:00Z"
_DAY = 86_400


@dataclass(frozen=True)
class _Ratings:
    user: pa.Array  # raw ids as strings, file order
    item: pa.Array
    ts: np.ndarray  # int64 epoch seconds


@dataclass(frozen=True)
class ImportSummary:
    """What one import wrote."""

    layout: str
    users: int
    items: int
    events: int

    def __str__(self) -> str:
        return f"{self.layout} layout: {self.users} users, {self.items} items, {self.events} events"


def import_movielens(path: Path, out_dir: Path) -> ImportSummary:
    """Read the MovieLens directory `path` (any of the three layouts) and write the builder's inputs to `out_dir`."""
    path = Path(path)
    layout, ratings, movies = _read_layout(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    item_ids = _sorted_ids(set(movies) | set(pc.unique(ratings.item).to_pylist()))
    user_ids = _sorted_ids(pc.unique(ratings.user).to_pylist())
    _write(out_dir / "items.csv", _items_table(item_ids, movies))
    _write(out_dir / "users.csv", _users_table(user_ids))
    _write(out_dir / "events.csv", _events_table(ratings))
    summary = ImportSummary(layout, len(user_ids), len(item_ids), len(ratings.ts))
    log.info("movielens_imported layout=%s users=%d items=%d events=%d", layout, summary.users, summary.items,
             summary.events)
    return summary


def _read_layout(path: Path) -> tuple[str, _Ratings, dict[str, tuple[str, str]]]:
    if not path.is_dir():
        raise InputError(path, "not a directory")
    inter = sorted(path.glob("*.inter"))
    if inter:
        item = inter[0].with_suffix(".item")
        return "recbole", _recbole_ratings(inter[0]), _recbole_movies(item) if item.is_file() else {}
    if (path / "u.data").is_file():
        item = path / "u.item"
        return "grouplens", _grouplens_ratings(path / "u.data"), _grouplens_movies(item) if item.is_file() else {}
    if (path / "ratings.csv").is_file():
        movies = path / "movies.csv"
        return "ml-latest", _latest_ratings(path / "ratings.csv"), _latest_movies(movies) if movies.is_file() else {}
    raise InputError(path, "no MovieLens ratings found (looked for *.inter, u.data, ratings.csv)")


# --- ratings ---------------------------------------------------------------------------------------------------------


def _ratings(path: Path, table_reader: pa.Table, user: str, item: str, ts: str) -> _Ratings:
    missing = [c for c in (user, item, ts) if c not in table_reader.column_names]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}", line=1, column=missing[0])
    seconds = table_reader[ts].to_numpy().astype(np.float64)
    if not np.isfinite(seconds).all():
        raise InputError(path, "timestamp must be a number of seconds", column=ts)
    return _Ratings(pc.cast(table_reader[user], pa.string()).combine_chunks(),
                    pc.cast(table_reader[item], pa.string()).combine_chunks(), seconds.astype(np.int64))


def _read_csv(path: Path, *, delimiter: str, names: list[str] | None = None,
              types: dict[str, pa.DataType] | None = None) -> pa.Table:
    read = pacsv.ReadOptions(column_names=names, autogenerate_column_names=False)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=pacsv.ParseOptions(delimiter=delimiter),
                              convert_options=pacsv.ConvertOptions(column_types=types or {}))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc


def _recbole_ratings(path: Path) -> _Ratings:
    table = _read_csv(path, delimiter="\t", types={"user_id:token": pa.string(), "item_id:token": pa.string()})
    table = table.rename_columns([name.split(":")[0] for name in table.column_names])
    return _ratings(path, table, "user_id", "item_id", "timestamp")


def _grouplens_ratings(path: Path) -> _Ratings:
    table = _read_csv(path, delimiter="\t", names=["user", "item", "rating", "ts"],
                      types={"user": pa.string(), "item": pa.string()})
    return _ratings(path, table, "user", "item", "ts")


def _latest_ratings(path: Path) -> _Ratings:
    table = _read_csv(path, delimiter=",", types={"userId": pa.string(), "movieId": pa.string()})
    return _ratings(path, table, "userId", "movieId", "timestamp")


# --- movies: raw id -> (title, first genre) --------------------------------------------------------------------------


def _rows(path: Path, *, delimiter: str, encoding: str = "utf-8", quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
          header: bool = True) -> Iterable[list[str]]:
    try:
        with path.open(newline="", encoding=encoding) as f:
            reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
            if header:
                next(reader, None)
            yield from (row for row in reader if row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc


def _first(genres: Iterable[str]) -> str:
    return next((g for g in genres if g and g != "(no genres listed)"), "unknown")


def _recbole_movies(path: Path) -> dict[str, tuple[str, str]]:
    rows = iter(_rows(path, delimiter="\t", quoting=csv.QUOTE_NONE, header=False))
    header = [name.split(":")[0] for name in next(rows, [])]
    if "item_id" not in header:
        raise InputError(path, "missing column item_id", line=1, column="item_id")
    at = {name: header.index(name) for name in header}

    def cell(row: list[str], name: str) -> str:
        return row[at[name]] if name in at and at[name] < len(row) else ""

    return {row[at["item_id"]]: (cell(row, "movie_title"), _first(cell(row, "class").split())) for row in rows}


def _grouplens_movies(path: Path) -> dict[str, tuple[str, str]]:
    movies = {}
    for row in _rows(path, delimiter="|", encoding="latin-1", quoting=csv.QUOTE_NONE, header=False):
        flags = row[5:5 + len(_GROUPLENS_GENRES)]
        movies[row[0]] = (row[1] if len(row) > 1 else "",
                          _first(g for g, flag in zip(_GROUPLENS_GENRES, flags, strict=False) if flag == "1"))
    return movies


def _latest_movies(path: Path) -> dict[str, tuple[str, str]]:
    return {row[0]: (row[1] if len(row) > 1 else "", _first(row[2].split("|") if len(row) > 2 else []))
            for row in _rows(path, delimiter=",")}


# --- output ----------------------------------------------------------------------------------------------------------


def _sorted_ids(ids: Iterable[str]) -> list[str]:
    """Numeric ids in numeric order (1, 2, 10), anything else as text; so rows follow the data set's own order."""
    values = list(ids)
    if all(v.isdigit() for v in values):
        return sorted(values, key=int)
    return sorted(values)


def _prefixed(prefix: str, raw: pa.Array | list[str]) -> pa.Array:
    ids = pc.binary_join_element_wise(prefix, pa.array(raw, pa.string()), "")
    bad = pc.invert(pc.match_substring_regex(ids, r"^[\x21-\x7e]{1,128}$")).to_numpy(zero_copy_only=False)
    if bad.any():
        raise InputError(Path(prefix), f"id {int(np.flatnonzero(bad)[0])} is not 1-128 printable ASCII characters")
    return ids


def _items_table(ids: list[str], movies: dict[str, tuple[str, str]]) -> pa.Table:
    n = len(ids)
    return pa.table({
        "item_id": _prefixed("i", ids),
        "title": [movies.get(i, ("", ""))[0] for i in ids],
        "category": [movies.get(i, ("", "unknown"))[1] for i in ids],
        "brand": [""] * n,
        "price": np.zeros(n),
        "in_stock": np.ones(n, dtype=bool),
        "created_at": [_CREATED_AT] * n,
    })


def _users_table(ids: list[str]) -> pa.Table:
    n = len(ids)
    return pa.table({"user_id": _prefixed("u", ids), "signup_at": [""] * n, "country": [""] * n,
                     "age_band": [""] * n, "consent": np.ones(n, dtype=bool)})


def _events_table(ratings: _Ratings) -> pa.Table:
    n = len(ratings.ts)
    users = _prefixed("u", ratings.user)
    day = pc.cast(pa.array(ratings.ts // _DAY), pa.string())
    return pa.table({
        "event_id": pc.binary_join_element_wise("e", pc.cast(pa.array(np.arange(n)), pa.string()), ""),
        "ts": timestamps(ratings.ts),
        "user_id": users,
        "session_id": pc.binary_join_element_wise(users, day, "-d"),
        "item_id": _prefixed("i", ratings.item),
        "type": pa.array(["view"] * n),
        "qty": np.ones(n, dtype=np.int64),
        "price": np.zeros(n),
        "channel": pa.array(["web"] * n),
    })


def _write(path: Path, table: pa.Table) -> None:
    """Write on a temporary name and move into place, so a failed import leaves no half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        pacsv.write_csv(table, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)

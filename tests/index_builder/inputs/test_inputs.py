"""Input rules: timestamps, optional columns and their defaults, categories, values, ids, implicit users.

Each test writes a tiny store of its own; the builds use a small model (dim 4, 2 iterations).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from index_builder import BuildConfig, InputError, build_artifacts
from index_builder.inputs import coded
from index_builder.inputs import tables as inputs
from protos import artifact

ITEMS = "item_id,category,brand,price,in_stock\n" + "".join(
    f"i{n},{'shoes' if n % 2 else 'hats'},b{n % 3},{n}.5,true\n" for n in range(8))
USERS = "user_id,consent\nu1,true\nu2,true\nu3,false\n"


def _events_csv(ts: list[str] | None = None, extra: str = "") -> str:
    """Events of u1, u2, u3 and one anonymous session, one minute apart unless `ts` is given."""
    users = ["u1", "u1", "u1", "u2", "u2", "u3", "", ""]
    items = ["i0", "i1", "i2", "i1", "i3", "i4", "i5", "i6"]
    stamps = ts or [f"2026-05-02T00:{m:02d}:00Z" for m in range(len(users))]
    rows = [f"{t},{u},s{u or 'anon'},{i},view\n" for t, u, i in zip(stamps, users, items, strict=False)]
    return "ts,user_id,session_id,item_id,type\n" + "".join(rows) + extra


def _store(data: Path, items: str = ITEMS, users: str = USERS, events: str | None = None) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    (data / "items.csv").write_text(items)
    (data / "users.csv").write_text(users)
    (data / "events.csv").write_text(events if events is not None else _events_csv())
    return data


def _config(data: Path, out: Path, **overrides: object) -> BuildConfig:
    return BuildConfig(data_dir=data, out_root=out, dim=4, iterations=2, show_progress=False, **overrides)  # type: ignore[arg-type]


def _ts_ms(path: Path, timezone: str | None = None) -> list[int]:
    table = inputs.read_table(path, inputs.EVENTS, timezone=timezone)
    return table["ts"].cast(pa.int64()).to_pylist()


MAY_2 = 1_777_680_000_000  # 2026-05-02T00:00:00Z in ms


@pytest.mark.parametrize(("stamp", "expected"), [
    ("1777680000", MAY_2), ("1777680000000", MAY_2), ("2026-05-02T00:00:00Z", MAY_2),
    ("2026-05-02T02:00:00+02:00", MAY_2), ("2026-05-02 00:00:00.250Z", MAY_2 + 250),
])
def test_timestamps_iso_with_zone_epoch_seconds_and_millis(tmp_path: Path, stamp: str, expected: int) -> None:
    data = _store(tmp_path, events=_events_csv([stamp] * 8))
    assert _ts_ms(data / "events.csv") == [expected] * 8


def test_zoneless_timestamp_needs_a_timezone(tmp_path: Path) -> None:
    stamps = ["2026-05-02T00:00:00Z", "2026-05-02T00:00:00Z", "2026-05-02T02:00:00"] + ["1970-01-01T00:00:00Z"] * 5
    data = _store(tmp_path, events=_events_csv(stamps))
    with pytest.raises(InputError) as info:
        _ts_ms(data / "events.csv")
    assert str(info.value) == (
        f"{data / 'events.csv'}:4: column 'ts': timestamp without a zone: '2026-05-02T02:00:00'; give it one "
        "(Z, +02:00) or pass --timezone NAME (build.timezone) to read zone-less times as local time there")
    assert _ts_ms(data / "events.csv", timezone="Europe/Rome")[:3] == [MAY_2, MAY_2, MAY_2]


def test_unparsable_timestamp_is_named(tmp_path: Path) -> None:
    data = _store(tmp_path, events=_events_csv(["2026-05-02T00:00:00Z"] * 5 + ["2026-13-02T00:00:00Z"] * 3))
    with pytest.raises(InputError) as info:
        _ts_ms(data / "events.csv")
    assert (info.value.line, info.value.column) == (7, "ts")
    assert "cannot parse '2026-13-02T00:00:00Z' as a timestamp" in str(info.value)


def test_parquet_timestamps_zoned_naive_and_epoch(tmp_path: Path) -> None:
    def events(ts: pa.Array) -> Path:
        path = tmp_path / "events.parquet"
        pq.write_table(pa.table({"ts": ts, "user_id": ["u1"], "item_id": ["i1"], "type": ["view"]}), path)
        return path

    assert _ts_ms(events(pa.array([MAY_2], pa.timestamp("ms", tz="Europe/Rome")))) == [MAY_2]
    assert _ts_ms(events(pa.array([MAY_2 // 1000], pa.int64()))) == [MAY_2]
    naive = events(pa.array([MAY_2 + 7_200_000], pa.timestamp("ms")))
    with pytest.raises(InputError, match=r"timestamp without a zone: .* \(row 0\)") as info:
        _ts_ms(naive)
    assert (info.value.line, info.value.column) == (None, "ts")
    assert _ts_ms(naive, timezone="Europe/Rome") == [MAY_2]


def test_parquet_null_user_is_anonymous(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"ts": [MAY_2] * 2, "user_id": ["u1", None], "item_id": ["i1", "i2"],
                             "type": ["view", "cart"], "value": [None, 2.0]}), path)
    table = inputs.read_table(path, inputs.EVENTS)
    assert table["user_id"].to_pylist() == ["u1", ""]
    assert table["value"].to_pylist() == [1.0, 2.0]
    assert table["session_id"].to_pylist() == ["", ""]


def test_missing_optional_columns_build_with_the_defaults(tmp_path: Path) -> None:
    items = "item_id,category\n" + "".join(f"i{n},{'shoes' if n % 2 else 'hats'}\n" for n in range(8))
    events = "ts,user_id,item_id,type\n" + "".join(
        f"{1777680000 + 60 * n},{u},i{n % 8},view\n" for n, u in enumerate(["u1", "u1", "u2", "", "", "u1"]))
    data = _store(tmp_path / "data", items=items, events=events)
    catalog = coded.code_catalog(inputs.read_table(data / "items.csv", inputs.ITEMS))
    assert catalog.brands == ["unbranded"]
    assert catalog.price.tolist() == [0.0] * 8 and catalog.in_stock.all()
    manifest = build_artifacts(_config(data, tmp_path / "out"))
    # u1's three events (one minute apart) and u2's: one session each; two anonymous events: one each.
    assert manifest.counts.sessions_derived == 4
    assert manifest.counts.events == 6


def test_empty_optional_cells_take_the_defaults(tmp_path: Path) -> None:
    items = "item_id,category,brand,price,in_stock,title\ni1,shoes,,,,\ni2,hats,acme,2.5,false,Hat\n"
    table = inputs.read_table(_store(tmp_path, items=items) / "items.csv", inputs.ITEMS)
    catalog = coded.code_catalog(table)
    assert [catalog.brands[b] for b in catalog.brand] == ["unbranded", "acme"]
    assert catalog.price.tolist() == [0.0, 2.5]
    assert catalog.in_stock.tolist() == [True, False]


def test_several_categories_the_first_is_primary(tmp_path: Path) -> None:
    items = "item_id,category\ni1,shoes|sale|summer\ni2,hats\ni3, hats |shoes\n"
    catalog = coded.code_catalog(inputs.read_table(_store(tmp_path, items=items) / "items.csv", inputs.ITEMS))
    assert [catalog.categories[c] for c in catalog.category] == ["shoes", "hats", "hats"]
    with pytest.raises(InputError, match="the first .primary. category must not be empty") as info:
        inputs.read_table(_store(tmp_path, items="item_id,category\ni1,shoes\ni2,|hats\n") / "items.csv",
                          inputs.ITEMS)
    assert (info.value.line, info.value.column) == (3, "category")


def test_derived_sessions_split_on_user_and_gap() -> None:
    user = np.array([1, 1, 1, 2, -1, -1, 1])
    minute = 60_000
    ts = np.array([0, 10, 45, 0, 0, 0, 20]) * minute
    codes = coded.derived_sessions(user, ts, gap_ms=30 * minute)
    # user 1: 0, 10, 20 one session, 45 (25 min later) the same; user 2 its own; anonymous rows one each.
    assert len(set(codes[[0, 1, 2, 6]])) == 1
    assert len(set(codes.tolist())) == 4
    gap = coded.derived_sessions(np.array([1, 1]), np.array([0, 31 * minute]), gap_ms=30 * minute)
    assert gap.tolist() == [0, 1]


def test_value_scales_the_event_weight(tmp_path: Path) -> None:
    events = "ts,user_id,item_id,type,value\n" + "".join(
        f"1777680000,u1,i{n},purchase,{v}\n" for n, v in enumerate(["", "3", "0.5"]))
    data = _store(tmp_path, events=events)
    table = inputs.read_table(data / "events.csv", inputs.EVENTS)
    catalog = coded.code_catalog(inputs.read_table(data / "items.csv", inputs.ITEMS))
    users = inputs.read_table(data / "users.csv", inputs.USERS)
    weights = np.array([1.0, 4.0, 10.0], dtype=np.float32)
    linear = coded.code_events(table, catalog, users, _config(data, tmp_path))
    assert linear.value.tolist() == [1.0, 3.0, 0.5]
    # Masses 10, 30 and 5: the popular order is i1, i0, i2 (then the items without events).
    assert coded.popularity_order(linear, 8, weights, 14.0, MAY_2)[:3].tolist() == [1, 0, 2]
    log1p = coded.code_events(table, catalog, users, _config(data, tmp_path, value_scale="log1p"))
    assert log1p.value == pytest.approx(np.log1p([1.0, 3.0, 0.5]) / np.log1p(1.0))
    bad = _store(tmp_path / "bad", events=events.replace(",3\n", ",0\n"))
    with pytest.raises(InputError, match="must be a finite number > 0") as info:
        inputs.read_table(bad / "events.csv", inputs.EVENTS)
    assert (info.value.line, info.value.column) == (3, "value")


@pytest.mark.parametrize(("table", "line", "column", "bad", "shown"), [
    ("items", 3, "item_id", "i 2", "id 'i 2' must be"),
    ("items", 2, "item_id", "café", "id 'café' must be"),
    ("items", 4, "item_id", "x" * 129, "printable ASCII"),
    ("users", 3, "user_id", "john smith", "id must be 1-128 printable ASCII characters without spaces"),
    ("events", 5, "user_id", "john smith", "id must be"),
    ("events", 6, "item_id", "i\t2", "id 'i\\t2' must be"),
])
def test_ids_the_server_would_refuse_are_input_errors(
        tmp_path: Path, table: str, line: int, column: str, bad: str, shown: str) -> None:
    data = _store(tmp_path)
    path = data / f"{table}.csv"
    rows = path.read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[line - 1].split(",")
    cells[header.index(column)] = f'"{bad}"'
    rows[line - 1] = ",".join(cells)
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as info:
        build_artifacts(_config(data, tmp_path / "out"))
    assert (info.value.path.name, info.value.line, info.value.column) == (path.name, line, column)
    assert shown in str(info.value)
    if column == "user_id":
        assert "john" not in str(info.value)  # personal data is never echoed


@pytest.mark.parametrize("default_consent", [False, True])
def test_users_only_in_events_are_kept_and_counted(tmp_path: Path, default_consent: bool) -> None:
    extra = "".join(f"2026-05-02T01:0{n}:00Z,u9,s9,i{n},view\n" for n in range(3))
    data = _store(tmp_path / "data", events=_events_csv(extra=extra))
    manifest = build_artifacts(_config(data, tmp_path / "out", default_consent=default_consent))
    counts = manifest.counts
    assert (counts.users, counts.users_implicit, counts.events_implicit_user) == (4, 1, 3)
    assert counts.events_dropped_unknown_user == 0
    assert counts.users_without_consent == (1 if default_consent else 2)
    assert counts.events_without_consent == (1 if default_consent else 4)
    assert manifest.params.default_consent is default_consent
    # Withheld records for u3 (and u9 without consent); vectors for u1, u2 (and u9 with consent).
    assert counts.profiles == 4


def test_reference_time_is_explicit_and_recorded(tmp_path: Path) -> None:
    data = _store(tmp_path / "data")
    last = build_artifacts(_config(data, tmp_path / "a"))
    assert last.params.reference_time_ms == MAY_2 + 7 * 60_000
    from index_builder.config import parse_reference_time

    fixed = build_artifacts(_config(data, tmp_path / "b", reference_time=parse_reference_time("1777766400")))
    assert fixed.params.reference_time_ms == MAY_2 + 86_400_000


def test_true_false_cells_take_the_config_words_in_any_case(tmp_path: Path) -> None:
    users = "user_id,consent\nu1,Yes\nu2,NO\nu3, TRUE \nu4,0\nu5,1\nu6,False\n"
    items = "item_id,category,in_stock\ni1,hats,yes\ni2,hats,No\ni3,hats,\n"
    data = _store(tmp_path, items=items, users=users)
    consent = inputs.read_table(data / "users.csv", inputs.USERS)["consent"].to_pylist()
    assert consent == [True, False, True, False, True, False]
    assert inputs.read_table(data / "items.csv", inputs.ITEMS)["in_stock"].to_pylist() == [True, False, True]
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "consent": ["yes", "FALSE"]}), tmp_path / "users.parquet")
    assert inputs.read_table(tmp_path / "users.parquet", inputs.USERS)["consent"].to_pylist() == [True, False]


@pytest.mark.parametrize(("users", "line", "message"), [
    ("user_id,consent\nu1,true\nu2,maybe\n", 3, "cannot parse 'maybe' as bool (true/1/yes/false/0/no"),
    ("user_id,consent\nu1,true\nu2,\n", 3, "must not be empty"),
])
def test_a_bad_true_false_cell_is_named(tmp_path: Path, users: str, line: int, message: str) -> None:
    data = _store(tmp_path, users=users)
    with pytest.raises(InputError) as caught:
        inputs.read_table(data / "users.csv", inputs.USERS)
    assert message in str(caught.value) and caught.value.line == line and caught.value.column == "consent"


def test_segment_and_cell_lists_weigh_the_value_like_the_popular_list(tmp_path: Path) -> None:
    """One view of i1 with value 10 outweighs three of i0 with value 1, in the popular list and in the
    demographic cell's and segment's lists, which are "decayed like the global popular list"."""
    events = "ts,user_id,item_id,type,value\n" + "".join(
        f"{1777680000 + k},{user},{item},view,{value}\n"
        for k, (user, item, value) in enumerate([("u1", "i0", 1), ("u1", "i0", 1), ("u2", "i0", 1), ("u2", "i1", 10),
                                                 ("u1", "i2", 1)]))
    data = _store(tmp_path / "data", events=events)
    manifest = build_artifacts(_config(data, tmp_path / "out"))
    version = tmp_path / "out" / manifest.version
    popular = np.load(version / artifact.ITEM_ARRAYS["popular_rows"].file)
    cells = np.load(version / artifact.ITEM_ARRAYS["cell_popular_rows"].file)
    segments = np.load(version / artifact.ITEM_ARRAYS["segment_popularity"].file)
    assert popular[:2].tolist() == [1, 0]
    assert cells[0, :2].tolist() == [1, 0]  # the cell of users without country and age band
    shoppers = segments[segments.max(axis=1) > 0]
    assert (shoppers[:, 1] > shoppers[:, 0]).all()

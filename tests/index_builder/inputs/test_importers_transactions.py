"""The transactions importer: an order-line export -> the builder's inputs -> a built artifact."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from index_builder import BuildConfig, InputError, build_artifacts
from index_builder.inputs.importers.transactions import import_transactions, parse_mapping

MAPPING = "user=customer,item=sku,timestamp=ordered_at,quantity=qty,price=unit_price,category=cat,order=order_no"
LINES = [
    # order_no, customer, sku, qty, unit_price, cat, ordered_at
    ("o1", "c1", "A1", "2", "9.5", "shoes|sale", "2026-05-02T10:00:00Z"),
    ("o1", "c1", "B2", "1", "20", "hats", "2026-05-02T10:00:00Z"),
    ("o2", "c2", "A1", "1", "8.5", "shoes", "2026-05-03T11:00:00Z"),
    ("o3", "c2", "C3", "-1", "5", "", "2026-05-04T12:00:00Z"),  # a return: skipped
    ("o4", "", "C3", "3", "5", "", "2026-05-05T09:30:00Z"),  # a guest checkout: anonymous
    ("o5", "c3", "D4", "1", "", "socks", "2026-05-06T08:00:00Z"),
]
HEADER = ["order_no", "customer", "sku", "qty", "unit_price", "cat", "ordered_at"]


def _export_csv(path: Path, lines: Sequence[tuple[str, ...]] = LINES) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([HEADER, *lines])
    return path


def _build(data: Path, out: Path) -> None:
    manifest = build_artifacts(BuildConfig(data_dir=data, out_root=out, dim=4, iterations=2, show_progress=False,
                                           default_consent=True))
    assert (manifest.counts.items, manifest.counts.users_implicit, manifest.counts.events) == (4, 3, 5)
    assert manifest.counts.profiles == 3
    assert sorted(manifest.categories) == ["hats", "shoes", "socks", "uncategorized"]


def test_csv_export_imports_and_builds(tmp_path: Path) -> None:
    summary = import_transactions(_export_csv(tmp_path / "orders.csv"), parse_mapping(MAPPING), tmp_path / "data")
    assert (summary.lines, summary.events, summary.items, summary.lines_skipped_quantity) == (6, 5, 4, 1)
    items = pacsv.read_csv(tmp_path / "data" / "items.csv").to_pylist()
    assert items[0] == {"item_id": "A1", "category": "shoes", "price": 8.5}  # its last line
    assert items[2]["category"] == "uncategorized"
    events = pacsv.read_csv(tmp_path / "data" / "events.csv", convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False)).to_pylist()
    assert [(e["type"], e["session_id"], e["value"]) for e in events][:2] == [("purchase", "o1", 2.0)] + [
        ("purchase", "o1", 1.0)]
    assert events[3]["user_id"] == ""
    assert (tmp_path / "data" / "users.csv").read_text().strip() == '"user_id","consent"'
    _build(tmp_path / "data", tmp_path / "out")


def test_parquet_export_imports_and_builds(tmp_path: Path) -> None:
    columns = list(zip(*LINES, strict=True))
    table = pa.table({
        "order_no": columns[0], "customer": columns[1], "sku": columns[2],
        "qty": pa.array([int(q) for q in columns[3]]),
        "unit_price": pa.array([float(p) if p else None for p in columns[4]]),
        "cat": columns[5],
        "ordered_at": pa.array(columns[6]).cast(pa.timestamp("s", tz="UTC")),
    })
    pq.write_table(table, tmp_path / "orders.parquet")
    summary = import_transactions(tmp_path / "orders.parquet", parse_mapping(MAPPING), tmp_path / "data")
    assert (summary.events, summary.lines_skipped_quantity) == (5, 1)
    _build(tmp_path / "data", tmp_path / "out")


@pytest.mark.parametrize(("text", "message"), [
    ("user=a,item=b", "mapping: missing key 'timestamp'"),
    ("user=a,item=b,timestamp=c,qty=d", "mapping: unknown key 'qty'"),
    ("user=a,item=b,timestamp", "mapping: expected KEY=COLUMN"),
    ("user=a,user=b,item=b,timestamp=c", "mapping: key 'user' given twice"),
])
def test_bad_mapping_text_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mapping(text)


def test_mapping_to_a_missing_column_names_the_key(tmp_path: Path) -> None:
    mapping = parse_mapping(MAPPING.replace("price=unit_price", "price=unitprice"))
    with pytest.raises(InputError, match="mapping price=unitprice: no column 'unitprice' in the export"):
        import_transactions(_export_csv(tmp_path / "orders.csv"), mapping, tmp_path / "data")


def test_bad_cells_are_named_by_the_exports_line(tmp_path: Path) -> None:
    bad_id = [*LINES[:2], ("o2", "c 2", "A1", "1", "8.5", "shoes", "2026-05-03T11:00:00Z")]
    with pytest.raises(InputError, match="id must be 1-128 printable ASCII") as info:
        import_transactions(_export_csv(tmp_path / "a.csv", bad_id), parse_mapping(MAPPING), tmp_path / "data")
    assert (info.value.line, info.value.column) == (4, "customer")
    assert "c 2" not in str(info.value)
    bad_qty = [*LINES[:1], ("o2", "c2", "A1", "two", "8.5", "shoes", "2026-05-03T11:00:00Z")]
    with pytest.raises(InputError, match="cannot parse 'two' as a number") as info:
        import_transactions(_export_csv(tmp_path / "b.csv", bad_qty), parse_mapping(MAPPING), tmp_path / "data")
    assert (info.value.line, info.value.column) == (3, "qty")


def test_tailor_import_transactions_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clients.tailor import main as tailor

    export = _export_csv(tmp_path / "orders.csv")
    assert tailor(["import", "transactions", str(export), "--map", MAPPING, "--out", str(tmp_path / "data")]) == 0
    assert "imported transactions" in capsys.readouterr().out
    assert (tmp_path / "data" / "events.csv").is_file()
    assert tailor(["import", "transactions", str(export), "--map", "user=nope", "--out", str(tmp_path / "x")]) == 1
    assert "mapping" in capsys.readouterr().err

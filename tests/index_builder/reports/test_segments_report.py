"""`tailor segments`: the aggregation on hand-made facts, then the command on a built demo store and on
hand-written stores that are broken in one way each."""

from __future__ import annotations

import csv
import json
import math
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from clients.tailor import main as tailor
from index_builder.reports.segments import CSV_COLUMNS, facts_table, read_store_facts, summarize
from protos import artifact
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER

SEGMENT = {name: code for code, name in enumerate(artifact.SEGMENTS)}
TAG = {name: 1 << bit for bit, name in enumerate(artifact.TAGS)}


def _facts(*users: dict[str, float | int]) -> np.ndarray:
    facts = np.repeat(artifact.no_facts(), len(users))
    for row, values in zip(facts, users, strict=True):
        for field, value in values.items():
            row[field] = value
    return facts


def _buyer(segment: str, r: int, f: int, recency: float, orders: int, spend: float, clv: float,
           **more: float | int) -> dict[str, float | int]:
    return {"segment": SEGMENT[segment], "r": r, "f": f, "m": 3, "recency_days": recency, "frequency": orders,
            "monetary_total": spend, "monetary_avg": spend / orders, "clv": clv, **more}


HAND_MADE: tuple[dict[str, float | int], ...] = (
    # browsers: no purchase in the window, so no recency (-1) and no scores; one with a forecast
    {"lifecycle": 0, "price_band": 0, "clv": 4.0, "recency_days": -1.0},
    {"lifecycle": 3, "price_band": 2, "recency_days": -1.0},
    _buyer("champions", 5, 5, 2.0, 9, 900.0, 300.0, lifecycle=1, price_band=3, tags=TAG["high value"]),
    _buyer("champions", 5, 4, 4.0, 7, 700.0, 100.0, lifecycle=1, price_band=3,
           tags=TAG["high value"] | TAG["brand loyalist"] | 1 << 15),  # bit 15: reserved, ignored
    _buyer("lost", 1, 1, 300.0, 1, 20.0, 0.0, lifecycle=3, price_band=1, tags=TAG["bargain hunter"]),
    _buyer("at risk", 1, 4, 200.0, 5, 380.0, 10.0, lifecycle=2, price_band=2),
)


def test_summary_of_hand_made_facts() -> None:
    summary = summarize(_facts(*HAND_MADE))
    rows = {s.name: s for s in summary.segments}
    assert [s.name for s in summary.segments] == list(artifact.SEGMENTS)
    assert (summary.users, summary.buyers) == (6, 4)
    browsers, champions, lost = rows["browsers"], rows["champions"], rows["lost"]
    assert (browsers.users, browsers.share, browsers.revenue, browsers.revenue_share) == (2, 2 / 6, 0.0, 0.0)
    assert browsers.clv_total == 4.0 and browsers.clv_mean == 2.0 and browsers.frequency_mean == 0.0
    assert math.isnan(browsers.recency_days_mean)  # no purchase, no recency: not the -1 that stands for it
    assert (champions.users, champions.revenue, champions.revenue_share) == (2, 1600.0, 0.8)
    assert (champions.clv_mean, champions.clv_total) == (200.0, 400.0)
    assert (champions.recency_days_mean, champions.frequency_mean, champions.monetary_mean) == (3.0, 8.0, 800.0)
    assert (lost.users, lost.revenue_share, lost.recency_days_mean) == (1, 0.01, 300.0)
    assert rows["loyal"].users == 0 and math.isnan(rows["loyal"].clv_mean) and rows["loyal"].revenue_share == 0.0
    total = summary.total
    assert (total.name, total.users, total.share, total.revenue, total.revenue_share) == ("all", 6, 1.0, 2000.0, 1.0)
    assert total.clv_total == 414.0 and total.recency_days_mean == pytest.approx(506 / 4)
    grid = np.zeros((5, 5), dtype=np.int64)
    grid[4, 4] = grid[4, 3] = grid[0, 0] = grid[0, 3] = 1  # [R - 1, F - 1]
    np.testing.assert_array_equal(summary.rf_grid, grid)
    assert summary.lifecycles == {"new": 1, "active": 2, "lapsing": 1, "lapsed": 2}
    assert summary.price_bands == {"unknown": 1, "bargain": 1, "mid": 2, "premium": 2}
    assert summary.tags == {"bargain hunter": 1, "brand loyalist": 1, "high value": 2, "deal-driven": 0}


def test_summary_of_no_users_has_empty_means() -> None:
    summary = summarize(_facts())
    assert summary.users == summary.buyers == summary.rf_grid.sum() == 0
    assert all(s.users == 0 and s.share == 0.0 and math.isnan(s.clv_mean) for s in summary.segments)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("segment", len(artifact.SEGMENTS), "facts.segment: code 12"), ("lifecycle", 9, "facts.lifecycle"),
    ("price_band", 4, "facts.price_band"), ("f", 6, "facts.f: score 6"), ("r", 3, "facts.r, facts.f")])
def test_codes_outside_their_vocabulary_are_refused(field: str, value: int, message: str) -> None:
    facts = _facts(*HAND_MADE)
    facts[0][field] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        summarize(facts)


def test_export_table_names_codes_and_joins_tags() -> None:
    facts = _facts(*HAND_MADE)
    table = facts_table(pa.array([f"u{k}" for k in range(len(facts))]), facts)
    assert table.column_names == list(CSV_COLUMNS)
    rows = table.to_pylist()
    assert rows[3]["segment"] == "champions" and rows[3]["tags"] == "brand loyalist|high value"
    assert rows[0]["tags"] == "" and rows[4]["tags"] == "bargain hunter"
    assert (rows[5]["lifecycle"], rows[5]["price_band"], rows[5]["expected_order_value"]) == ("lapsing", "mid", 0.0)
    assert rows[1]["recency_days"] == -1.0  # the contract's "no purchase in the window"


# --- the command on a built demo store ----------------------------------------------------------------------------


def _store_profiles(root: Path) -> dict[str, artifact.Profile]:
    """Every record of ROOT/current's store, decoded one by one (the reference for the vectorised read)."""
    env = artifact.open_store(artifact.resolve_current(root) / artifact.STORE)
    try:
        with env.begin(db=env.open_db(artifact.DB_PROFILES, create=False)) as txn:
            return {bytes(k).decode(): artifact.unpack_profile(bytes(v)) for k, v in txn.cursor()}
    finally:
        env.close()


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[str] = []
        self.paragraphs: list[str] = []
        self._in_cell = self._in_paragraph = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_cell = tag in ("td", "th")
        self._in_paragraph = tag == "p"
        if tag == "p":
            self.paragraphs.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_cell = self._in_paragraph = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data)
        if self._in_paragraph:
            self.paragraphs[-1] += data


def test_segments_command_writes_the_report_page_and_export(own_root: Path, built: Built, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    html_path, csv_path = tmp_path / "segments.html", tmp_path / "out" / "segments.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("an older export\n")
    assert tailor(["segments", "--artifacts", str(own_root), "--html", str(html_path), "--csv", str(csv_path),
                   "--quiet"]) == 0
    out = capsys.readouterr().out
    profiles = _store_profiles(own_root)
    consenting = {user: p for user, p in profiles.items() if p.consent}
    assert len(consenting) == sum(built.store.consent.values()) and NO_CONSENT_USER not in consenting

    summary = summarize(read_store_facts(own_root).facts)
    assert sum(s.users for s in summary.segments) == summary.users == len(consenting)
    assert {s.name: s.users for s in summary.segments} == {c.segment: c.users for c in built.manifest.segments}
    assert sum(s.revenue_share for s in summary.segments) == pytest.approx(1.0)
    buyers = sum(int(p.facts["r"][0] > 0) for p in consenting.values())
    assert summary.rf_grid.sum() == summary.buyers == buyers > 0
    assert re.search(rf"^all\s+{len(consenting):,}\s+100\.0%", out, re.MULTILINE)
    assert "R5" in out and "lifecycle: new" in out

    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == len(consenting)
    assert [r["user_id"] for r in rows] == sorted(consenting, key=str.encode)
    by_user = {r["user_id"]: r for r in rows}
    sampled = [LOYAL_USER, next(u for u, r in by_user.items() if r["tags"] and r["segment"] != "browsers")]
    for user in sampled:
        _assert_row_matches(by_user[user], consenting[user].facts[0])
    assert stat.S_IMODE(csv_path.stat().st_mode) == 0o600  # user ids are personal data
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["segments.csv"]  # no temporary file left

    page = html_path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.tags.count("svg") == 4  # sizes, revenue share, mean CLV, R x F
    assert parser.tags.count("table") >= 5 and set(artifact.SEGMENTS) <= set(parser.cells)
    assert f"{len(consenting):,}" in parser.cells
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\((?!#)|@import|<script|<link|<img""", page)
    assert LOYAL_USER not in page and LOYAL_USER not in out


def _assert_row_matches(row: dict[str, str], facts: np.void) -> None:
    assert row["segment"] == artifact.SEGMENTS[facts["segment"]]
    assert row["lifecycle"] == artifact.LIFECYCLES[facts["lifecycle"]]
    assert row["price_band"] == artifact.PRICE_BANDS[facts["price_band"]]
    assert row["tags"] == "|".join(t for t in artifact.TAGS if facts["tags"] & 1 << artifact.TAGS.index(t))
    for column, field in [("r", "r"), ("f", "f"), ("m", "m"), ("frequency", "frequency")]:
        assert int(row[column]) == facts[field], column
    assert float(row["monetary_total"]) == facts["monetary_total"]
    for column, field in [("recency_days", "recency_days"), ("monetary_avg", "monetary_avg"),
                          ("expected_purchases", "expected_purchases"), ("p_alive", "p_alive"),
                          ("expected_order_value", "expected_value"), ("clv", "clv")]:
        assert np.float32(row[column]) == facts[field], column  # float32 facts, written in shortest form


def test_the_vectorised_read_matches_each_record_decoded(own_root: Path) -> None:
    store = read_store_facts(own_root)
    consenting = {u: p for u, p in _store_profiles(own_root).items() if p.consent}
    assert store.user_ids.to_pylist() == list(consenting)
    np.testing.assert_array_equal(store.facts, np.concatenate([p.facts for p in consenting.values()]))
    assert store.withheld == len(_store_profiles(own_root)) - len(consenting)


def _log_lines(err: str, logger: str) -> list[str]:
    """The messages of `logger` among stderr's JSON log lines (the CLI logs to stderr: clients/tailor.py)."""
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [e["msg"] for e in entries if e["logger"] == logger]


def test_progress_and_the_closing_log_line_hold_counts_only(own_root: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert tailor(["segments", "--artifacts", str(own_root)]) == 0
    err = capsys.readouterr().err
    # the tqdm bar; INFO needs -v
    assert "profiles" in err and not _log_lines(err, "index_builder.reports.segments_command")
    assert tailor(["segments", "--artifacts", str(own_root), "-v"]) == 0
    lines = _log_lines(capsys.readouterr().err, "index_builder.reports.segments_command")
    assert len(lines) == 1 and re.fullmatch(r"segments_report version=\S+ users=\d+ withheld=\d+ buyers=\d+ "
                                            r"html=False csv_rows=0 seconds=[\d.]+", lines[0])


# --- errors -------------------------------------------------------------------------------------------------------


def _hand_written_root(tmp_path: Path, own_root: Path, records: dict[bytes, bytes],
                       fitted: tuple[bool, bool] | None = None) -> Path:
    """ROOT/current: the demo build's manifest beside a store holding only `records`; `fitted`: the
    (BG/NBD, Gamma-Gamma) fits the manifest records, else the demo build's."""
    root = tmp_path / "hand"
    version = root / "v1"
    version.mkdir(parents=True)
    manifest = artifact.read_manifest(artifact.resolve_current(own_root))
    if fitted is not None:
        manifest.lifetime.bgnbd_fitted, manifest.lifetime.gamma_gamma_fitted = fitted
    artifact.write_manifest(version, manifest)
    env = artifact.open_store(version / artifact.STORE, write=True)
    with env.begin(write=True) as txn:
        db = env.open_db(artifact.DB_PROFILES, txn=txn)
        for key, value in records.items():
            txn.put(key, value, db=db)
    env.close()
    artifact.switch_current(root, version)
    return root


def _record(consent: bool, facts: np.ndarray | None = None) -> bytes:
    return artifact.pack_profile(consent, np.ones(3, np.float32), np.arange(2, dtype=np.int32),
                                 np.zeros(1, np.int32), np.zeros(1, np.int64), np.ones(2, np.int32), facts=facts)


def test_a_hand_written_store_is_exported_exactly(own_root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    facts = _facts(*HAND_MADE)
    records = {f"user-{k}".encode(): _record(True, facts[k]) for k in range(len(facts))}
    root = _hand_written_root(tmp_path, own_root, {**records, b"hidden": _record(False, facts[2])})
    csv_path = tmp_path / "hand.csv"
    assert tailor(["segments", "--artifacts", str(root), "--csv", str(csv_path), "--quiet"]) == 0
    assert "6 consenting users (1 without consent are not counted); 4 of them bought" in capsys.readouterr().out
    lines = csv_path.read_text().splitlines()
    assert lines[0] == ",".join(f'"{c}"' for c in CSV_COLUMNS) and len(lines) == 7
    assert lines[4] == '"user-3","champions",5,4,3,4,7,700,100,0,0,0,100,"active","premium","brand loyalist|high value"'


@pytest.mark.parametrize(("fitted", "said"), [
    ((True, True), "BG/NBD purchases x Gamma-Gamma order value; margin"),
    ((True, False), "BG/NBD purchases x each buyer's own mean spend per purchase day; Gamma-Gamma not fitted;"),
    ((False, False), "CLV is 0: too few buyers to fit the lifetime models."),
])
def test_the_header_names_only_the_lifetime_models_the_build_fitted(
        fitted: tuple[bool, bool], said: str, own_root: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    facts = _facts(*HAND_MADE)
    root = _hand_written_root(tmp_path, own_root, {f"user-{k}".encode(): _record(True, facts[k])
                                                   for k in range(len(facts))}, fitted)
    html_path = tmp_path / "segments.html"
    assert tailor(["segments", "--artifacts", str(root), "--html", str(html_path), "--quiet"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the console wraps the header at 110 columns
    parser = _Page()
    parser.feed(html_path.read_text(encoding="utf-8"))
    parser.close()
    [header] = [" ".join(p.split()) for p in parser.paragraphs if "consenting users" in p]
    for shown in (text, header):
        assert said in shown
        assert ("Gamma-Gamma order value" in shown) == fitted[1]
    settings = dict(zip(parser.cells, parser.cells[1:], strict=False))  # each cell -> the next one
    assert settings["Gamma-Gamma fitted"].startswith("yes" if fitted[1] else "no")
    assert settings["BG/NBD fitted"].startswith("yes" if fitted[0] else "no")


@pytest.mark.parametrize("broken", ["no root", "no current", "bad manifest", "no store", "no profiles db",
                                    "short record", "bad key", "bad code"])
def test_an_unreadable_artifact_is_a_clear_error(broken: str, own_root: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = own_root
    version = artifact.resolve_current(own_root)
    bad_facts = _facts(*HAND_MADE)[:1]
    bad_facts["segment"] = 99
    if broken == "no root":
        root = tmp_path / "nowhere"
    elif broken == "no current":
        (own_root / artifact.CURRENT_LINK).unlink()
    elif broken == "bad manifest":
        (version / artifact.MANIFEST).write_text("{not json")
    elif broken == "no store":
        (version / artifact.STORE).unlink()
    elif broken == "no profiles db":
        version = _hand_written_root(tmp_path, own_root, {}) / "v1"
        (version / artifact.STORE).unlink()
        artifact.open_store(version / artifact.STORE, write=True).close()
        root = version.parent
    else:
        records = {"short record": {b"u1": _record(True)[:20]}, "bad key": {b"has space": _record(True)},
                   "bad code": {b"u1": _record(True, bad_facts)}}[broken]
        root = _hand_written_root(tmp_path, own_root, records)
    csv_path = tmp_path / "never.csv"
    assert tailor(["segments", "--artifacts", str(root), "--csv", str(csv_path), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("tailor segments: error: ") and "Traceback" not in err and out == ""
    assert err.count("\n") == 1 and not csv_path.exists()


def test_an_unwritable_export_is_a_clear_error_and_leaves_nothing(own_root: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing-dir" / "segments.csv"
    assert tailor(["segments", "--artifacts", str(own_root), "--csv", str(missing), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tailor segments: error: cannot write ") and "Traceback" not in err
    taken = tmp_path / "exports" / "segments.csv"
    taken.mkdir(parents=True)  # the rename over it fails after the whole file was written
    assert tailor(["segments", "--artifacts", str(own_root), "--csv", str(taken), "--quiet"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert [p.name for p in taken.parent.iterdir()] == ["segments.csv"] and taken.is_dir()

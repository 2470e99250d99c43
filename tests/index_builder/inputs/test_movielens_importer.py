"""import_movielens on tiny fixtures of the three layouts, on the real ML-100K, and through `tailor import`."""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from clients.tailor import main as tailor
from index_builder import BuildConfig, InputError, build_artifacts
from index_builder.inputs.importers import import_movielens


def ml100k() -> Path:
    """RecBole's copy of ML-100K (the package is installed without its dependencies and never imported)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or spec.origin is None:
        pytest.skip("recbole (ML-100K) is not installed: make install")
    return Path(spec.origin).parent / "dataset_example" / "ml-100k"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _recbole(d: Path) -> None:
    (d / "tiny.inter").write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                  "7\t10\t4\t86400\n7\t20\t1\t90000\n8\t10\t5\t172800\n")
    (d / "tiny.item").write_text("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                                 "10\tHeat, The\t1995\tCrime Thriller\n20\tNobody\t1990\t\n")


def _grouplens(d: Path) -> None:
    (d / "u.data").write_text("7\t10\t4\t86400\n7\t20\t1\t90000\n8\t10\t5\t172800\n")
    flags = ["0"] * 19
    crime = list(flags)
    crime[6] = crime[16] = "1"
    (d / "u.item").write_bytes(("10|Heat, The|01-Jan-1995||http://x|" + "|".join(crime) + "\n"
                                "20|Nobody \xe9|01-Jan-1990||http://x|" + "|".join(flags) + "\n").encode("latin-1"))


def _latest(d: Path) -> None:
    (d / "ratings.csv").write_text("userId,movieId,rating,timestamp\n7,10,4.0,86400\n7,20,1.0,90000\n8,10,5.0,172800\n")
    (d / "movies.csv").write_text('movieId,title,genres\n10,"Heat, The",Crime|Thriller\n20,Nobody,(no genres listed)\n')


@pytest.mark.parametrize(("layout", "write"), [("recbole", _recbole), ("grouplens", _grouplens),
                                               ("ml-latest", _latest)])
def test_each_layout_becomes_builder_inputs(tmp_path: Path, layout: str,
                                       write: Callable[[Path], None]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    write(source)
    summary = import_movielens(source, tmp_path / "out")
    assert (summary.layout, summary.users, summary.items, summary.events) == (layout, 2, 2, 3)
    items = _rows(tmp_path / "out" / "items.csv")
    assert [(r["item_id"], r["category"]) for r in items] == [("i10", "Crime"), ("i20", "unknown")]
    assert items[0]["title"] == "Heat, The"
    assert [r["user_id"] for r in _rows(tmp_path / "out" / "users.csv")] == ["u7", "u8"]
    events = _rows(tmp_path / "out" / "events.csv")
    assert [(e["user_id"], e["item_id"], e["ts"], e["session_id"], e["type"]) for e in events] == [
        ("u7", "i10", "1970-01-02T00:00:00Z", "u7-d1", "view"),
        ("u7", "i20", "1970-01-02T01:00:00Z", "u7-d1", "view"),
        ("u8", "i10", "1970-01-03T00:00:00Z", "u8-d2", "view")]
    build_artifacts(BuildConfig(data_dir=tmp_path / "out", out_root=tmp_path / "artifacts", dim=2, iterations=1,
                                show_progress=False))


def test_ratings_without_a_movie_file_get_unknown_category(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text("1\t5\t3\t0\n")
    import_movielens(tmp_path, tmp_path / "out")
    assert _rows(tmp_path / "out" / "items.csv")[0]["category"] == "unknown"


def test_a_directory_without_ratings_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no MovieLens ratings"):
        import_movielens(tmp_path, tmp_path / "out")
    with pytest.raises(InputError, match="not a directory"):
        import_movielens(tmp_path / "missing", tmp_path / "out")


def test_a_ratings_file_without_its_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ratings.csv").write_text("user,movie\n1,2\n")
    with pytest.raises(InputError, match="missing column"):
        import_movielens(tmp_path, tmp_path / "out")


def test_real_ml100k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tailor(["import", "movielens", str(ml100k()), "--out", str(tmp_path)]) == 0
    assert "943 users, 1682 items, 100000 events" in capsys.readouterr().out
    assert len(_rows(tmp_path / "events.csv")) == 100_000
    assert _rows(tmp_path / "items.csv")[0] == {"item_id": "i1", "title": "Toy Story", "category": "Animation",
                                                "brand": "", "price": "0", "in_stock": "true",
                                                "created_at": "2000-01-01T00:00:00Z"}


def test_cli_reports_a_bad_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tailor(["import", "movielens", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "no MovieLens ratings" in capsys.readouterr().err

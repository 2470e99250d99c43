"""Splits on the real ML-100K, and `tailor evaluate` end to end on it and on a slice (the first 200 users)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from clients.tailor import main as tailor
from index_builder.inputs.importers import import_movielens
from loadtests.quality.evaluate import evaluate
from loadtests.quality.evaluate.evaluate_command import format_report
from loadtests.quality.evaluate.run import EXPLOIT, HAND, LEARNED, TAILOR
from loadtests.quality.evaluate.splits import read_events, split_events, write_train
from tests.index_builder.inputs.test_movielens_importer import ml100k


@pytest.fixture(scope="module")
def movielens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ml100k")
    import_movielens(ml100k(), out)
    return out


@pytest.fixture(scope="module")
def slice200(movielens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The events of users u1..u200 (items and users files unchanged)."""
    out = tmp_path_factory.mktemp("ml100k-200")
    events = read_events(movielens)
    keep = pc.is_in(events["user_id"], pa.array([f"u{n}" for n in range(1, 201)]))
    pacsv.write_csv(events.filter(keep), out / "events.csv")
    for name in ("items.csv", "users.csv"):
        (out / name).write_bytes((movielens / name).read_bytes())
    return out


def test_random_split_has_the_reference_sizes(movielens: Path) -> None:
    cut = split_events(read_events(movielens), "random", seed=42)
    assert (cut.train.num_rows, cut.test_events, len(cut.truth)) == (74_646, 25_354, 943)


def test_time_split_holds_out_each_users_latest_quarter(movielens: Path) -> None:
    events = read_events(movielens)
    cut = split_events(events, "time")
    assert cut.train.num_rows + cut.test_events == 100_000
    ts = pc.cast(pc.cast(events["ts"], pa.timestamp("s", tz="UTC")), pa.int64()).to_numpy()
    users = events["user_id"].to_numpy(zero_copy_only=False)
    train_users = cut.train["user_id"].to_numpy(zero_copy_only=False)
    train_ts = pc.cast(pc.cast(cut.train["ts"], pa.timestamp("s", tz="UTC")), pa.int64()).to_numpy()
    user = "u1"
    test_ts = np.sort(ts[users == user])[-len(cut.truth[user]):]
    assert train_ts[train_users == user].max() <= test_ts.min()
    assert len(cut.truth[user]) == round(0.25 * (users == user).sum())


def test_last_basket_holds_out_the_last_session(tmp_path: Path) -> None:
    rows = ["event_id,ts,user_id,session_id,item_id,type,qty,price,channel",
            "e1,2026-01-01T10:00:00Z,u1,s1,i1,purchase,1,1,web", "e2,2026-01-02T10:00:00Z,u1,s2,i2,purchase,1,1,web",
            "e3,2026-01-02T10:01:00Z,u1,s2,i3,cart,1,1,web", "e4,2026-01-01T10:00:00Z,u2,s3,i1,view,1,1,web",
            "e5,2026-01-01T10:00:00Z,,s4,i2,view,1,1,web", "e6,2026-01-03T10:00:00Z,u1,s5,i4,view,1,1,web"]
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    cut = split_events(read_events(tmp_path), "last-basket")
    # u1's last basket is s2 (the last session with a purchase): its purchases are the truth, and it and the
    # later browsing session leave train; Tailor is asked as of the basket's start.
    assert cut.truth == {"u1": {"i2"}}
    assert cut.train["event_id"].to_pylist() == ["e1", "e4", "e5"]
    assert cut.as_of == {"u1": 1767348000000}


def test_last_basket_without_purchases_holds_out_the_last_session(tmp_path: Path) -> None:
    rows = ["event_id,ts,user_id,session_id,item_id,type,qty,price,channel",
            "e1,2026-01-01T10:00:00Z,u1,s1,i1,view,1,1,web", "e2,2026-01-02T10:00:00Z,u1,s2,i2,view,1,1,web",
            "e3,2026-01-02T10:01:00Z,u1,s2,i3,view,1,1,web"]
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    cut = split_events(read_events(tmp_path), "last-basket")
    assert cut.truth == {"u1": {"i2", "i3"}}
    assert cut.train["event_id"].to_pylist() == ["e1"]


def test_an_unknown_split_is_refused(movielens: Path) -> None:
    with pytest.raises(ValueError, match="split"):
        split_events(read_events(movielens), "leave-one-out")


def test_train_directory_is_buildable_input(movielens: Path, tmp_path: Path) -> None:
    out = write_train(movielens, split_events(read_events(movielens), "time"), tmp_path / "train")
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "items.csv", "users.csv"]


def test_evaluate_scores_tailor_against_baselines(movielens: Path) -> None:
    # All of ML-100K (about 3 s): on 200 users, matrix factorisation (Tailor's or the ALS baseline) is
    # still below popularity, so a slice cannot show that Tailor learned anything.
    report = evaluate(movielens, "random", k=10, progress=False)
    ndcg = {r.name: r.scores.ndcg for r in report.results}
    assert report.users == 943
    # The split is the reference protocol's. Popularity is counting, the same on every machine (0.24738; the
    # reference's 0.2475 breaks count ties in another order). ALS is a BLAS float computation whose fourth
    # decimal moves with the CPU's kernel and thread count (0.39491 on an AMD EPYC OpenBLAS SkylakeX kernel,
    # 0.3950 elsewhere), so it is held to the protocol's figure only as closely as holds across machines.
    assert ndcg["popularity"] == pytest.approx(0.2475, abs=5e-4)
    assert ndcg["ALS"] == pytest.approx(0.3950, abs=5e-3)
    assert {"popularity", "ItemKNN", "ALS", "ALS (seen allowed)", "EASE", "own most-bought"} <= set(ndcg)
    assert ndcg[TAILOR] > ndcg["popularity"]
    # The same server without its explore slots: the ranking alone, ahead of the answer that explores.
    assert report.results[1].name == EXPLOIT and ndcg[EXPLOIT] > ndcg[TAILOR]
    tailor_row = report.results[0]
    assert tailor_row.name == TAILOR and tailor_row.p50_ms is not None and tailor_row.p50_ms > 0
    # The version's learned ranker: trained on the split's question, its figures and feature gains reported, and
    # the same version served with the other ranker as a row of its own.
    ranker = report.ranker
    assert ranker["trained"] and ranker["cut"] == "random"
    validation, gains = ranker["validation_ndcg"], ranker["gains"]
    assert isinstance(validation, dict) and isinstance(gains, dict)
    assert set(validation) == {"learned", "own_most_bought", "popularity", "item_item"}
    assert sum(gains.values()) == pytest.approx(1.0, abs=1e-3)
    other = HAND if ranker["serves"] else LEARNED
    assert other in ndcg and f"{other} (no exploration)" in ndcg
    assert "feature gain: " in format_report(report)


def test_tailor_meets_the_movielens_targets(movielens: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue [4/11]'s targets on the reference protocol: nDCG@10 >= 0.47, Recall@10 >= 0.22, above ALS and ItemKNN.
    The targets are the ranking's: exploration, which gives up a slot in 10 to learn (docs/evaluation.md has its
    cost), is off."""
    monkeypatch.setenv("TAILOR_RANKING_EXPLORE_SHARE", "0")
    scores = {r.name: r.scores for r in evaluate(movielens, "random", k=10, progress=False).results}
    tailor_ = scores[TAILOR]
    assert tailor_.ndcg >= 0.47 and tailor_.recall >= 0.22
    assert tailor_.ndcg > max(scores["ALS"].ndcg, scores["ItemKNN"].ndcg)


def test_tailor_meets_the_movielens_time_split_target(movielens: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue [4/11]'s time-split target: nDCG@10 at least twice popularity's, and at least ALS's (exploration off,
    as above). The successors (index_builder/models/sequences.py) carry it: 0.263 without them, popularity 0.141."""
    monkeypatch.setenv("TAILOR_RANKING_EXPLORE_SHARE", "0")
    scores = {r.name: r.scores for r in evaluate(movielens, "time", k=10, progress=False).results}
    assert scores[TAILOR].ndcg >= 2 * scores["popularity"].ndcg
    assert scores[TAILOR].ndcg >= scores["ALS"].ndcg


def test_cli_prints_a_table_and_writes_json(slice200: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert tailor(["evaluate", "--data", str(slice200), "--split", "time", "--k", "5", "--json-out", str(out),
                   "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "nDCG@5" in printed and "Tailor" in printed and "split=time" in printed
    report = json.loads(out.read_text())
    assert report["split"] == "time" and report["k"] == 5 and len(report["results"]) >= 7


def test_cli_refuses_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        tailor(["evaluate", "--data", str(tmp_path), "--k", "0"])
    assert "--k" in capsys.readouterr().err
    assert tailor(["evaluate", "--data", str(tmp_path), "--quiet"]) == 1
    assert "events" in capsys.readouterr().err


def test_cli_writes_an_html_page_with_rerank_and_buckets(slice200: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    page, out = tmp_path / "eval.html", tmp_path / "eval.json"
    assert tailor(["evaluate", "--data", str(slice200), "--split", "random", "--k", "5", "--html", str(page),
                   "--json-out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Tailor Rerank" in printed and "by train history length" in printed
    html = page.read_text(encoding="utf-8")
    # Metrics, buckets, Rerank and the learned ranker's feature gains.
    assert html.count("<svg") == 4 and "Tailor Rerank" in html and "EASE" in html and "nDCG@5" in html
    assert "What drives the learned ranker" in html
    report = json.loads(out.read_text())
    assert report["rerank"]["users"] == 200 and [r["name"] for r in report["rerank"]["rows"]] == [
        "upstream (popularity + noise)", "Tailor Rerank", "reference: popularity, no noise"]
    assert sum(b["users"] for b in report["buckets"]) == 200
    assert set(report["buckets"][0]["ndcg"]) == {r["name"] for r in report["results"]}


def test_cli_reports_an_unwritable_html_path(slice200: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert tailor(["evaluate", "--data", str(slice200), "--k", "5", "--html", str(tmp_path / "no" / "eval.html"),
                   "--quiet"]) == 1
    assert "eval.html" in capsys.readouterr().err


def test_a_config_file_changes_what_is_evaluated(slice200: Path, tmp_path: Path) -> None:
    """[build] and [ranking] of the config apply to the evaluated Tailor; without an item-item model it is
    served by the ALS index and scores differently."""
    config = tmp_path / "tailor.toml"
    config.write_text("[build]\nitem_neighbors = 0\n[ranking]\nitem_item = false\n")
    default = {r.name: r.scores.ndcg for r in evaluate(slice200, "random", k=10, progress=False).results}
    als_only = {r.name: r.scores.ndcg for r in evaluate(slice200, "random", k=10, progress=False,
                                                         config=config).results}
    assert als_only["ALS"] == default["ALS"]  # the baselines do not read the config
    assert als_only["Tailor"] != default["Tailor"]


def test_cold_items_hold_out_every_event_of_a_tenth_of_the_items() -> None:
    items = [f"i{n}" for n in range(200)]
    events = pa.table({"user_id": [f"u{n % 30}" if n % 7 else "" for n in range(2000)],
                       "item_id": [items[n * 37 % 200] for n in range(2000)],
                       "ts": [str(n) for n in range(2000)]})
    cut = split_events(events, "cold-items", seed=3)
    held = set(events["item_id"].to_pylist()) - set(cut.train["item_id"].to_pylist())
    assert 5 <= len(held) <= 40  # about 10 % of 200
    assert cut.train.num_rows + int(pc.sum(pc.is_in(events["item_id"], pa.array(sorted(held)))).as_py()) == 2000
    assert all(truth <= held for truth in cut.truth.values()) and set().union(*cut.truth.values()) == held
    assert "" not in cut.truth and cut == split_events(events, "cold-items", seed=3)


def test_variants_are_replayed_side_by_side(slice200: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--variants: one row per variant of the experiment, each through its own policy; the popular control
    answers every user alike (non-personal) and scores below the personalized treatment."""
    config = tmp_path / "experiment.toml"
    config.write_text('[experiments]\nname = "ev"\n[[experiments.variants]]\nname = "control"\nshare = 0.5\n'
                      'policy = "popular"\n[[experiments.variants]]\nname = "treatment"\nshare = 0.5\n')
    out = tmp_path / "report.json"
    assert tailor(["evaluate", "--data", str(slice200), "--k", "10", "--variants", str(config), "--json-out", str(out),
                   "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "Tailor:control" in table and "Tailor:treatment" in table
    results = {r["name"]: r["scores"] for r in json.loads(out.read_text())["results"]}
    assert results["Tailor:treatment"]["ndcg"] > results["Tailor:control"]["ndcg"]
    assert results["Tailor:control"]["coverage"] < results["Tailor:treatment"]["coverage"]
    config.write_text("[server]\n")
    assert tailor(["evaluate", "--data", str(slice200), "--variants", str(config), "--quiet"]) == 1
    assert "no [experiments] table" in capsys.readouterr().err

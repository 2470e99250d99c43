"""evaluate: split, build and serve Tailor on the train part, ask it through the client, score every model.

Tailor is measured on its real ranking path: `build_artifacts` on the train events, the real
server started in this process on a free port, one `Recommend(n=k, user_id=U)` per test user
through `TailorClient`. The baselines (baselines.py) are fitted on the same train events and
scored by the same functions (metrics.py), overall and per activity bucket (buckets.py). The
same server then reorders a noisy upstream list of each test user's held-out items and sampled
negatives with one `Rerank` call per user (rerank.py); on the cold-items split, all the held-out
(cold) items instead, scored against a random and a same-category order (cold.py).

On the session split the evaluated units are held-out sessions: one anonymous
`Recommend(n=k, session=...)` each (no user_id), against the session baselines
(`run_session_baselines`); there is no Rerank check.

With `variants` (a server config with an [experiments] table, docs/experiments.md), the one build is
served once per variant, each alone (share 1) through the same servicer and ranking path as in
production — a `popular` control answers as for an anonymous visitor — and each is a row `Tailor:<name>`;
the Rerank check is the first personalizing variant's (a popular control keeps the search order).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from google.protobuf import json_format
from tqdm import tqdm

from clients import TailorClient
from index_builder import build_artifacts
from index_builder.config import load_build_config
from index_builder.inputs.tables import ITEMS, USERS, find_input, read_table
from loadtests.quality.evaluate.accuracy import Scores, ndcg, per_user, score_all
from loadtests.quality.evaluate.arms import served_configs
from loadtests.quality.evaluate.baselines import ModelRun, interactions, run_baselines, run_session_baselines
from loadtests.quality.evaluate.buckets import BucketScores, bucket_scores
from loadtests.quality.evaluate.cold import cold_candidates, score_cold
from loadtests.quality.evaluate.rerank import CandidateSets, RerankReport, rerank_all, sample_candidates, score_rerank
from loadtests.quality.evaluate.splits import Split, read_events, split_events, write_train
from protos.artifact_pb2 import RankerInfo
from server import start_server
from server.runtime.config import ServerConfig, load_server_config

__all__ = ["ModelResult", "Report", "evaluate"]

log = logging.getLogger(__name__)
TAILOR = "Tailor"
# The same server asked with no_exploration: the ranking alone, and what the explore slots cost offline.
EXPLOIT = "Tailor (no exploration)"
# The same version served with the hand blend (ranking.ranker = "hand"), or with the learned ranker where the
# hand blend serves by default.
HAND, LEARNED = "Tailor hand blend", "Tailor learned"
# The learned ranker's cut for each split's question (index_builder/ranker/cut.py): a model trained to answer
# one question and asked another falls to popularity level (docs/ranker.md).
CUT_OF_SPLIT = {"random": "random", "time": "time", "last-basket": "last-basket", "session": "session",
                "cold-items": "auto"}


@dataclass(frozen=True)
class ModelResult:
    """One model on the split: its scores, fit (Tailor: build) seconds, and Tailor's call latency."""

    name: str
    scores: Scores
    fit_seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class Report:
    """Everything `tailor evaluate` prints or writes as JSON."""

    data_dir: str
    split: str
    k: int
    seed: int
    users: int
    items: int
    train_events: int
    test_events: int
    results: list[ModelResult] = field(default_factory=list)
    wall_seconds: float = 0.0
    buckets: list[BucketScores] = field(default_factory=list)
    rerank: RerankReport | None = None
    # The built version's learned ranker (manifest.ranker as JSON): validation figures, feature gains, verdict.
    ranker: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def evaluate(data_dir: Path, split: str = "random", k: int = 10, seed: int = 42, *, progress: bool = True,
             config: Path | None = None, variants: Path | None = None, default_consent: str | None = None) -> Report:
    """Score Tailor (each variant of `variants`' experiment) and every baseline at k on `split` of the
    builder-format store in `data_dir`; `seed` seeds the random split and the Rerank candidates."""
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")
    if variants is not None:
        served_configs(load_server_config(variants, flags={"artifacts": data_dir}))  # a bad file fails first
    start = time.perf_counter()
    cut = split_events(read_events(data_dir), split, seed)
    catalog = read_table(find_input(data_dir, "items"), ITEMS)
    items = catalog["item_id"].to_pylist()
    primary = pc.utf8_trim_whitespace(pc.replace_substring_regex(catalog["category"], r"\|.*$", ""))
    category = dict(zip(items, primary.to_pylist(), strict=True))
    brand = dict(zip(items, catalog["brand"].to_pylist(), strict=True))
    known = read_table(find_input(data_dir, "users"), USERS)["user_id"].to_pylist()
    if cut.sessions:
        test_users = list(cut.truth)
        data = interactions(cut.train, known, items)
        history, last = _session_rows([cut.sessions[s] for s in test_users], items)
    else:
        test_users = [u for u in known if u in cut.truth] + sorted(set(cut.truth) - set(known))
        data = interactions(cut.train, known + test_users, items)
        history = data.matrix[np.array([data.user_row[u] for u in test_users], dtype=np.int64)]
    truth = [cut.truth[u] for u in test_users]
    if cut.sessions:
        sets = None
    elif split == "cold-items":
        sets = cold_candidates(test_users, _columns(truth, items), _cold_columns(cut, items), history,
                               _categories(data_dir), seed)
    else:
        sets = sample_candidates(test_users, _columns(truth, items), history,
                                 np.asarray(data.matrix.sum(axis=0)).ravel(), seed)
    popularity = dict(zip(items, np.asarray((data.matrix > 0).sum(axis=0)).ravel().tolist(), strict=True))

    def scored(recs: list[list[str]]) -> Scores:
        return score_all(recs, truth, k, catalog_size=len(items), popularity=popularity, n_users=data.matrix.shape[0],
                         category=category, brand=brand)

    with tempfile.TemporaryDirectory(prefix="tailor-evaluate-") as tmp:
        arms, ranker = _tailor(data_dir, cut, Path(tmp), test_users, k, sets, items, progress, config, variants,
                               default_consent)
    tailor = next((arm for _, arm in arms if arm.rerank_checked), arms[0][1])
    baselines = run_session_baselines(data, history, last, k) if cut.sessions else run_baselines(data, test_users, k)
    results = [ModelResult(name, scored(arm.recs), arm.fit_seconds, arm.p50_ms, arm.p99_ms) for name, arm in arms]
    results += [ModelResult(run.name, scored(run.recs), run.fit_seconds) for run in baselines]
    runs = [*(ModelRun(name, arm.recs, arm.fit_seconds) for name, arm in arms), *baselines]
    buckets = bucket_scores(np.asarray(history.sum(axis=1)).ravel(),
                            {run.name: per_user(ndcg, run.recs, truth, k) for run in runs})
    scorer = score_cold if split == "cold-items" else score_rerank
    report = Report(str(data_dir), split, k, seed, len(test_users), len(items), cut.train.num_rows, cut.test_events,
                    results, time.perf_counter() - start, buckets,
                    scorer(sets, items, tailor.reranked, k, tailor.rerank_seconds) if sets else None, ranker)
    log.info("evaluate_done split=%s users=%d seconds=%.1f", split, len(test_users), report.wall_seconds)
    return report


def _columns(truth: list[set[str]], items: list[str]) -> list[np.ndarray]:
    """Each user's held-out items as catalog columns, in id order (items outside the catalog left out)."""
    column = {item: i for i, item in enumerate(items)}
    return [np.array([column[i] for i in sorted(t) if i in column], dtype=np.int64) for t in truth]


def _session_rows(sessions: list[list[tuple[str, str]]], items: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Sessions x items: each session's interactions (1 each), and its last known item alone."""
    column = {item: i for i, item in enumerate(items)}
    known = [[column[i] for i, _ in session if i in column] for session in sessions]
    rows = np.repeat(np.arange(len(known)), [len(c) for c in known])
    cols = np.fromiter((c for session in known for c in session), dtype=np.int64, count=len(rows))
    shape = (len(sessions), len(items))
    history = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
    history.sum_duplicates()
    ends = [(r, c[-1]) for r, c in enumerate(known) if c]
    last = sp.csr_matrix((np.ones(len(ends), dtype=np.float32), ([r for r, _ in ends], [c for _, c in ends])),
                         shape=shape)
    return history, last


def _cold_columns(cut: Split, items: list[str]) -> np.ndarray:
    """Catalog columns of the items without a train event: cold in the build."""
    trained = pc.is_in(pa.array(items, pa.string()), value_set=pc.unique(pc.cast(cut.train["item_id"], pa.string())))
    return np.flatnonzero(~trained.to_numpy(zero_copy_only=False))


def _categories(data_dir: Path) -> np.ndarray:
    """Each catalog item's primary category as a code (the first of `a|b|c`)."""
    category = read_table(find_input(data_dir, "items"), ITEMS)["category"]
    primary = pc.replace_substring_regex(category, r"\|.*$", "")
    return pc.dictionary_encode(primary).combine_chunks().indices.to_numpy().astype(np.int64)


@dataclass(frozen=True)
class _Served:
    recs: list[list[str]]
    fit_seconds: float
    p50_ms: float
    p99_ms: float
    reranked: list[list[str]]
    rerank_seconds: np.ndarray
    rerank_checked: bool = True  # false: an arm that did not run the Rerank check


def _tailor(data_dir: Path, cut: Split, tmp: Path, users: list[str], k: int, sets: CandidateSets | None,
            items: list[str], progress: bool, config: Path | None = None,
            variants: Path | None = None,
            default_consent: str | None = None) -> tuple[list[tuple[str, _Served]], dict[str, object]]:
    """Build Tailor on the train part, then per arm (one, or each variant of `variants`) serve it on a free
    port, ask for k items per user (session), and (the first arm) rerank `sets`. Without variants, a server
    that explores is asked once more without exploration (row EXPLOIT), and a version with a learned ranker is
    served once more with the other ranker (rows HAND, or LEARNED where the hand blend serves by default).
    Returns the rows and the version's manifest.ranker as JSON."""
    train_dir = write_train(data_dir, cut, tmp / "train")
    started = time.perf_counter()
    # The config file's [build], [ranking] (and TAILOR_RANKING_*) apply, as in production; its paths do not.
    flags_: dict[str, object] = {"data_dir": train_dir, "out_root": tmp / "artifacts", "show_progress": progress}
    if default_consent is not None:
        flags_["default_consent"] = default_consent  # "true"/"false", as `tailor build --default-consent`
    build_config = load_build_config(config or variants, flags=flags_)
    if build_config.ranker_cut == "auto":  # the learned ranker trains on the question this split asks
        build_config = replace(build_config, ranker_cut=CUT_OF_SPLIT[cut.kind])
    manifest = build_artifacts(build_config)
    fit_seconds = time.perf_counter() - started
    flags = {"artifacts": tmp / "artifacts", "port": 0}
    arms = served_configs(load_server_config(variants, flags=flags)) if variants else \
        _ranker_arms(load_server_config(config, flags=flags), manifest.ranker)
    served: list[tuple[str, _Served]] = []
    # The Rerank check runs on the first arm that personalizes (a popular control keeps the search order).
    checked = next((name for name, c in arms if not (c.experiment and c.experiment.variants[0].popular)), arms[0][0])
    for name, server_config in arms:
        server = start_server(server_config)
        try:
            with TailorClient(f"127.0.0.1:{server.port}", timeout=10.0) as client:
                recs, latency = _recommend_all(client, users, k, progress, cut, name)
                reranked, rerank_seconds = rerank_all(client, sets, items, progress) if sets and name == checked \
                    else ([], np.zeros(0))
                served.append((name, _served(recs, latency, fit_seconds, reranked, rerank_seconds, name == checked)))
                if not variants and server_config.ranking.explore_share > 0:
                    exploit = f"{name} (no exploration)"
                    recs, latency = _recommend_all(client, users, k, progress, cut, exploit, no_exploration=True)
                    served.append((exploit, _served(recs, latency, fit_seconds, [], np.zeros(0), False)))
        finally:
            server.stop(grace=None)
    return served, json_format.MessageToDict(manifest.ranker, preserving_proto_field_name=True)


def _ranker_arms(config: ServerConfig, ranker: RankerInfo) -> list[tuple[str, ServerConfig]]:
    """Tailor as configured, then, for a version with a learned ranker, with the ranker it did not serve: the
    hand blend where the learned ranker serves (ranking.ranker auto or learned), else the learned one."""
    arms = [(TAILOR, config)]
    if ranker.trained:
        learned_serves = config.ranking.ranker == "learned" or config.ranking.ranker == "auto" and ranker.serves
        other = (HAND, "hand") if learned_serves else (LEARNED, "learned")
        arms.append((other[0], replace(config, ranking=replace(config.ranking, ranker=other[1]))))
    return arms


def _served(recs: list[list[str]], latency: np.ndarray, fit_seconds: float, reranked: list[list[str]],
            rerank_seconds: np.ndarray, checked: bool) -> _Served:
    p50, p99 = np.percentile(latency * 1e3, [50, 99]) if len(latency) else (float("nan"), float("nan"))
    return _Served(recs, fit_seconds, float(p50), float(p99), reranked, rerank_seconds, checked)


def _recommend_all(client: TailorClient, users: list[str], k: int, progress: bool, cut: Split, name: str = TAILOR,
                   *, no_exploration: bool = False) -> tuple[list[list[str]], np.ndarray]:
    """Tailor's k items for every user (one Recommend call each, as of the user's `as_of` moment when
    the split gives one; a held-out session is asked anonymously with its session), and each call's seconds.
    Each call's request_id names its user (session), so exploration draws the same slots on every run."""
    recs, latency = [], []
    for user in tqdm(users, desc=f"{name} Recommend", unit="user", disable=not progress, leave=False):
        sent = time.perf_counter()
        if cut.sessions:
            decision = client.recommend(k, session=cut.sessions[user], time_ms=cut.as_of.get(user, 0),
                                        request_id=f"evaluate-{user}", no_exploration=no_exploration)
        else:
            decision = client.recommend(k, user_id=user, time_ms=cut.as_of.get(user, 0),
                                        request_id=f"evaluate-{user}", no_exploration=no_exploration)
        latency.append(time.perf_counter() - sent)
        recs.append([item.item_id for item in decision.items])
    return recs, np.asarray(latency)

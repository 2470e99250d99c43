"""Experiments: config, a stable assignment with the configured shares, `variant` in answers, the popular
control, calls counted per variant, and what each answer held remembered by request_id."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from clients import TailorClient
from clients.client import RETRY_OPTIONS
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc, impressions, live
from server import RunningServer, ServerConfig, start_server
from server.experiments.arms import Experiment, Variant, unit_interval
from server.ranking.policy import RankingPolicy
from server.runtime.config import load_server_config
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
_NON_PERSONAL = {"popular"}


def _experiment(name: str, *shares: float, popular_first: bool = True) -> Experiment:
    names = ["control", "treatment", "third"][:len(shares)]
    return Experiment(name, tuple(Variant(n, s, RankingPolicy(category_weight=0.2 if i else 0.05),
                                          popular=popular_first and i == 0)
                                  for i, (n, s) in enumerate(zip(names, shares, strict=True))))


def _salt_putting(user: str, variant_index: int) -> str:
    """An experiment name (salt) under which `user` lands in variant `variant_index` of a 50/50 split."""
    return next(f"exp-{k}" for k in range(100) if (unit_interval(f"exp-{k}", user) >= 0.5) == bool(variant_index))


# --- assignment ------------------------------------------------------------------------------------------------


def test_assignment_matches_the_configured_shares() -> None:
    experiment = _experiment("shares", 0.2, 0.3, 0.5)
    counts = Counter(experiment.assign(f"user-{i}").name for i in range(20_000))
    for variant in experiment.variants:
        assert counts[variant.name] / 20_000 == pytest.approx(variant.share, abs=0.015), counts


def test_assignment_keys_on_the_user_then_the_session_then_the_request() -> None:
    experiment = _experiment("keys", 0.5, 0.5)
    users = [f"u{i}" for i in range(50)]
    # The user decides whatever the session or request; a visitor's session decides whatever the request.
    assert [experiment.assign(u, "s", "r") for u in users] == [experiment.assign(u, f"s{u}", f"r{u}") for u in users]
    assert [experiment.assign("", u, "r") for u in users] == [experiment.assign("", u, f"r{u}") for u in users]
    assert [experiment.assign("", "", u) for u in users] == [experiment.assign(u) for u in users]
    assert len({experiment.assign(u).name for u in users}) == 2


def test_a_zero_share_variant_gets_nobody() -> None:
    experiment = _experiment("zero", 0.5, 0.0, 0.5)
    assert "treatment" not in {experiment.assign(f"u{i}").name for i in range(2000)}


def test_assignment_is_the_same_in_another_interpreter() -> None:
    """Stable across restarts: no dependence on Python's per-process hash seed."""
    experiment = _experiment("restart", 0.5, 0.5)
    users = [f"shopper-{i}" for i in range(40)]
    code = ("from tests.server.experiments.test_experiments import _experiment\n"
            f"print(','.join(_experiment('restart', 0.5, 0.5).assign(u).name for u in {users!r}))")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                             env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout
        assert out.strip().split(",") == [experiment.assign(u).name for u in users]


# --- config ----------------------------------------------------------------------------------------------------

_GOOD = """
[ranking]
category_weight = 0.07
[experiments]
name = "home-1"
[[experiments.variants]]
name = "control"
share = 0.25
policy = "popular"
[[experiments.variants]]
name = "treatment"
share = 0.75
ranking = { brand_weight = 0.3 }
"""


def test_experiments_table_builds_one_policy_per_variant(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text('[server]\nartifacts = "/a"\n' + _GOOD)
    config = load_server_config(file, environ={})
    assert config.experiment is not None
    control, treatment = config.experiment.variants
    assert (control.name, control.share, control.popular) == ("control", 0.25, True)
    assert (treatment.name, treatment.share, treatment.popular) == ("treatment", 0.75, False)
    # Overrides apply over [ranking]: the rest of the policy is the configured one.
    assert treatment.policy == replace(config.ranking, brand_weight=0.3)
    assert treatment.policy.category_weight == 0.07


def test_the_example_experiment_is_valid(tmp_path: Path) -> None:
    """tailor.example.toml's commented [experiments] block, uncommented, loads."""
    text = (ROOT / "tailor.example.toml").read_text()
    block = text[text.index("# [experiments]"):text.index("\n[build]")]
    assert load_server_config(None, environ={}, flags={"artifacts": "/a"}).experiment is None  # none by default
    path = tmp_path / "example.toml"
    path.write_text("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    experiment = load_server_config(path, environ={}, flags={"artifacts": "/a"}).experiment
    assert experiment is not None and [v.name for v in experiment.variants] == ["control", "treatment"]


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ('[[experiments.variants]]\nname = "a"\nshare = 0.5\n', "experiments.variants: shares must sum to 1"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\nweight = 2\n', "unknown key experiments.variants[0].weight"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\npolicy = "random"\n', "experiments.variants[0].policy"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\nranking = { categroy_weight = 1 }\n',
         "experiments.variants[0].ranking.categroy_weight: unknown key"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\nranking = { category_weight = -1 }\n',
         "experiments.variants[0].ranking.category_weight: must be >= 0"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\nranking = { item_item = "maybe" }\n',
         "experiments.variants[0].ranking.item_item"),
        ('[[experiments.variants]]\nname = "a"\nshare = 1\npolicy = "popular"\nranking = { brand_weight = 1 }\n',
         "experiments.variants[0].ranking: a popular variant"),
        ('[[experiments.variants]]\nname = "a"\nshare = 0.5\n[[experiments.variants]]\nname = "a"\nshare = 0.5\n',
         "experiments.variants[1].name: 'a' is used twice"),
        ('[[experiments.variants]]\nname = "a b"\nshare = 1\n', "experiments.variants[0].name"),
        ('[[experiments.variants]]\nname = "a"\nshare = "half"\n', "experiments.variants[0].share"),
        ('[[experiments.variants]]\nshare = 1\n', "experiments.variants[0].name: required"),
        ("", "experiments.variants: required"),
    ],
)
def test_bad_experiments_name_the_key(tmp_path: Path, variants: str, message: str) -> None:
    file = tmp_path / "t.toml"
    file.write_text(f'[server]\nartifacts = "/a"\n[experiments]\nname = "e"\n{variants}')
    with pytest.raises(ValueError, match=re.escape(message)):
        load_server_config(file, environ={})


def test_at_most_64_variants() -> None:
    with pytest.raises(ValueError, match=re.escape("experiments.variants: 1 to 64 variants, got 65")):
        Experiment("many", tuple(Variant(f"v{k}", 1 / 65, RankingPolicy()) for k in range(65)))


def test_an_experiment_needs_a_name(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text('[server]\nartifacts = "/a"\n[experiments]\n[[experiments.variants]]\nname = "a"\nshare = 1\n')
    with pytest.raises(ValueError, match=re.escape("experiments.name: required")):
        load_server_config(file, environ={})


# --- one server in this process --------------------------------------------------------------------------------


@pytest.fixture
def experiment_server(own_root: Path) -> Iterator[tuple[RunningServer, Experiment]]:
    experiment = _experiment(_salt_putting(LOYAL_USER, 1), 0.5, 0.5)
    server = start_server(ServerConfig(artifacts=own_root, port=0, experiment=experiment))
    try:
        yield server, experiment
    finally:
        server.stop(grace=None)


def _calls(rpc: str, variant: str) -> float:
    return REGISTRY.get_sample_value("tailor_experiment_calls_total", {"rpc": rpc, "variant": variant}) or 0.0


def test_answers_name_their_variant_and_the_popular_control_is_not_personal(
        experiment_server: tuple[RunningServer, Experiment], built: Built) -> None:
    server, experiment = experiment_server
    control_user = next(u for u in built.store.purchased if experiment.assign(u).name == "control")
    before = {v: _calls("Recommend", v) for v in ("control", "treatment")}
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        # The answer of an anonymous visitor without a session (whichever variant it lands in).
        visitor = stub.Recommend(pb.RecommendRequest(n=10, no_exploration=True), timeout=10)
        anonymous = [i.item_id for i in visitor.items]
        treated = stub.Recommend(pb.RecommendRequest(user_id=LOYAL_USER, n=10, no_exploration=True), timeout=10)
        viewed = pb.Interaction(item_id=anonymous[0], type=pb.INTERACTION_TYPE_VIEW)
        controlled = stub.Recommend(pb.RecommendRequest(user_id=control_user, n=10, no_exploration=True,
                                                        session=[viewed]), timeout=10)
        reranked = stub.Rerank(pb.RerankRequest(user_id=control_user, candidates=[
            pb.Candidate(item_id=i, score=float(10 - k)) for k, i in enumerate(anonymous)]), timeout=10)
    assert (treated.variant, controlled.variant, reranked.variant) == ("treatment", "control", "control")
    assert [i.item_id for i in controlled.items] == anonymous  # neither the profile nor the session used
    assert {r.code for i in controlled.items for r in i.reasons} <= _NON_PERSONAL
    assert {r.code for i in treated.items for r in i.reasons} - _NON_PERSONAL, "the treatment answer is personal"
    assert [i.item_id for i in reranked.items] == anonymous  # the search order: nothing about the shopper
    counted = Counter((visitor.variant, treated.variant, controlled.variant))
    assert {v: _calls("Recommend", v) - before[v] for v in before} == {v: counted[v] for v in before}


def test_answers_with_a_request_id_are_remembered(experiment_server: tuple[RunningServer, Experiment],
                                                  own_root: Path) -> None:
    server, experiment = experiment_server
    answers = {}
    with TailorClient(f"127.0.0.1:{server.port}", timeout=10) as c:
        for k in range(6):
            decision = c.recommend(5, user_id=LOYAL_USER if k % 2 else "", session_id=f"visit-{k}",
                                   request_id=f"req-{k}")
            answers[f"req-{k}"] = [i.item_id for i in decision.items]
        c.recommend(5, user_id=LOYAL_USER)  # no request_id: nothing to attribute to, not remembered
    server.stop(grace=None)  # writes what is buffered
    files = list((own_root / live.LIVE_DIR / impressions.IMPRESSIONS_DIR).glob("*.imp"))
    assert len(files) == 1 and files[0].name.startswith(f"{experiment.name}.")
    meta, records = impressions.read_impressions(files[0])
    names = [v["name"] for v in meta["variants"]]
    remembered = {r.request_id: (names[r.variant], list(r.item_ids)) for r in records}
    expected = {rid: (experiment.assign(LOYAL_USER if k % 2 else "", f"visit-{k}").name, items)
                for k, (rid, items) in enumerate(answers.items())}
    assert remembered == expected
    assert "u_" not in files[0].read_bytes().decode(errors="replace"), "no user id is written"


# --- every worker ----------------------------------------------------------------------------------------------


def _scrape_variants(server: ServeProcess) -> dict[str, float]:
    import urllib.request

    port = server.logged(r"metrics_started port=(\d+)")
    assert port, "the server did not log its metrics port"
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'tailor_experiment_calls_total\{rpc="Recommend",variant="([^"]+)"\} (\S+)', text)}


def test_every_worker_gives_a_shopper_the_same_variant(own_root: Path, built: Built, tmp_path: Path) -> None:
    config = tmp_path / "tailor.toml"
    config.write_text('[experiments]\nname = "workers-1"\n[[experiments.variants]]\nname = "control"\nshare = 0.3\n'
                      'policy = "popular"\n[[experiments.variants]]\nname = "treatment"\nshare = 0.7\n')
    expected = load_server_config(config, environ={}, flags={"artifacts": own_root}).experiment
    assert expected is not None
    users = sorted(built.store.consent)[:10]
    seen: dict[tuple[str, int], str] = {}
    calls: Counter[str] = Counter()
    server = ServeProcess(own_root, "--workers", "2", "--threads", "2", "--metrics-port", "0", "--config", str(config))
    try:
        def every_user_on_both_workers() -> bool:
            for user in users:
                with grpc.insecure_channel(server.target, options=_FRESH) as channel:
                    reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(
                        pb.RecommendRequest(user_id=user, n=3), timeout=10)
                worker = int(dict(call.trailing_metadata() or ())["x-tailor-worker"])
                assert seen.setdefault((user, worker), reply.variant) == reply.variant
                calls[reply.variant] += 1
            workers = {w for _, w in seen}
            return len(workers) == 2 and all((u, w) in seen for u in users for w in workers)

        wait_until(every_user_on_both_workers, 120, lambda: f"each user answered by both workers: {sorted(seen)}")
        for (user, _), variant in seen.items():
            assert variant == expected.assign(user).name, user
        assert len(set(seen.values())) == 2, "both variants are in play among these users"
        wait_until(lambda: _scrape_variants(server) == dict(calls), 60,
                   lambda: f"metrics count every call per variant: {_scrape_variants(server)} vs {dict(calls)}")
    finally:
        server.stop()


def _impressions_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("tailor_impressions_total", {"outcome": outcome}) or 0.0


def test_the_impression_log_rotates_and_a_failed_write_is_dropped_not_raised(tmp_path: Path) -> None:
    from server.experiments.impressions import ImpressionLog
    from server.runtime.metrics import process_metrics

    experiment = _experiment("log", 0.5, 0.5)
    rotating = ImpressionLog(tmp_path / "a", experiment, process_metrics(), flush_seconds=3600, rotate_seconds=0)
    for k in range(3):
        rotating.add(f"r{k}", k % 2, ["i1", "i2"])
        assert rotating.flush() == 1
    rotating.close()
    files = sorted((tmp_path / "a" / live.LIVE_DIR / impressions.IMPRESSIONS_DIR).glob("*.imp"))
    assert len(files) >= 2, "a new file once the current one is older than rotate_seconds"
    assert sorted(r.request_id for f in files for r in impressions.read_impressions(f)[1]) == ["r0", "r1", "r2"]

    (tmp_path / "b" / live.LIVE_DIR).mkdir(parents=True)
    (tmp_path / "b" / live.LIVE_DIR / impressions.IMPRESSIONS_DIR).write_text("a file where the directory goes")
    dropped = _impressions_counted("dropped")
    failing = ImpressionLog(tmp_path / "b", experiment, process_metrics(), flush_seconds=3600)
    failing.add("r0", 0, ["i1"])
    assert failing.flush() == 0
    failing.close()
    assert _impressions_counted("dropped") - dropped == 1


def test_a_shopper_keeps_their_variant_when_they_withhold_consent(
        experiment_server: tuple[RunningServer, Experiment], built: Built) -> None:
    server, experiment = experiment_server
    users = sorted(built.store.purchased)[:40]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        for k, user in enumerate(users):
            answer = stub.Recommend(pb.RecommendRequest(user_id=user, n=5, personalization_consent=False,
                                                        request_id=f"r{k}"), timeout=10)
            assert answer.variant == experiment.assign(user).name, user

"""Merchandising rules through the real server and client: each action, pins, windows, reasons, preview,
and a rules file in force reloaded live (docs/rules.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clients import InvalidArgument, TailorClient
from clients.client import Preview, ScoredItem
from server import ServerConfig, start_server
from server.merchandising.schema import rules_version
from server.runtime.config import load_server_config
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER, publish_copy
from tests.waiting import wait_until


def _ids(items: tuple[ScoredItem, ...]) -> list[str]:
    return [i.item_id for i in items]


def _rule(item: ScoredItem) -> tuple[str, str]:
    return next(((r.rule, r.text) for r in item.reasons if r.code == "rule"), ("", ""))


def _preview(client: TailorClient, text: str, **call: object) -> Preview:
    preview = client.preview_rules(text, no_exploration=True, **call)  # type: ignore[arg-type]
    assert preview.rules_version == rules_version(text)
    return preview


def _baseline(client: TailorClient) -> list[str]:
    return _ids(client.recommend(10, user_id=LOYAL_USER, page="home", no_exploration=True).items)


def test_a_boost_moves_an_item_up_and_names_the_rule(client: TailorClient) -> None:
    last = _baseline(client)[-1]
    preview = _preview(client, f'[[rule]]\nname = "lift"\nitems = ["{last}"]\nboost = 1000\n', user_id=LOYAL_USER,
                       page="home")
    assert _ids(preview.without_rules)[-1] == last
    assert _ids(preview.with_rules)[0] == last
    assert _rule(preview.with_rules[0]) == ("lift", "Promoted: lift")
    assert all(_rule(i) == ("", "") for i in preview.without_rules)


def test_a_bury_moves_an_item_down(client: TailorClient) -> None:
    first = _baseline(client)[0]
    preview = _preview(client, f'[[rule]]\nname = "sink"\nitems = ["{first}"]\nbury = 0.001\n', user_id=LOYAL_USER,
                       page="home")
    assert _ids(preview.with_rules)[0] != first
    moved = [i for i in preview.with_rules if i.item_id == first]
    assert not moved or _rule(moved[0]) == ("sink", "Demoted: sink")


def test_exclude_removes_a_category_everywhere(client: TailorClient, built: Built) -> None:
    text = f'[[rule]]\nname = "hide"\ncategory = "{built.loyal_category}"\nexclude = true\n'
    preview = _preview(client, text, user_id=LOYAL_USER, page="home")
    assert built.loyal_category in {built.store.category[i] for i in _ids(preview.without_rules)}
    assert len(preview.with_rules) == 10
    assert built.loyal_category not in {built.store.category[i] for i in _ids(preview.with_rules)}


def test_include_only_and_exclude_hold_for_popular_top_up_items(client: TailorClient, built: Built) -> None:
    wanted = "coffee"
    excluded = next(i for i in built.store.items_in(wanted) if built.store.in_stock[i])
    text = (f'[[rule]]\nname = "only-coffee"\ncategory = "{wanted}"\ninclude_only = true\n'
            f'[[rule]]\nname = "not-this-one"\nitems = ["{excluded}"]\nexclude = true\n')
    preview = _preview(client, text, n=10)  # a visitor without a profile or session: popular items only
    assert not preview.personal
    assert {built.store.category[i] for i in _ids(preview.without_rules)} != {wanted}
    assert len(preview.with_rules) == 10
    assert {built.store.category[i] for i in _ids(preview.with_rules)} == {wanted}
    assert excluded not in _ids(preview.with_rules)
    assert all(_rule(i) == ("only-coffee", "Selected: only-coffee") for i in preview.with_rules)
    assert all(r.code == "popular" for i in preview.with_rules for r in i.reasons if r.code != "rule")


def test_a_pinned_item_lands_in_its_slot(client: TailorClient, built: Built) -> None:
    baseline = _baseline(client)
    pinned = next(i for i in sorted(built.store.category) if built.store.in_stock[i] and i not in baseline)
    preview = _preview(client, f'[[rule]]\nname = "hero"\npage = "home"\npin = "{pinned}"\nslot = 3\n',
                       user_id=LOYAL_USER, page="home")
    assert _ids(preview.with_rules)[2] == pinned
    assert _rule(preview.with_rules[2]) == ("hero", "Pinned: hero")
    assert [i for i in _ids(preview.with_rules) if i != pinned] == _ids(preview.without_rules)[:9]
    other_page = _preview(client, f'[[rule]]\nname = "hero"\npage = "home"\npin = "{pinned}"\nslot = 3\n',
                          user_id=LOYAL_USER, page="cart")
    assert pinned not in _ids(other_page.with_rules)


def test_two_pins_of_one_item_the_rule_listed_first_wins(client: TailorClient, built: Built) -> None:
    baseline = _baseline(client)
    pinned = next(i for i in sorted(built.store.category) if built.store.in_stock[i] and i not in baseline)
    text = (f'[[rule]]\nname = "first"\npin = "{pinned}"\nslot = 5\n'
            f'[[rule]]\nname = "second"\npin = "{pinned}"\nslot = 2\n')
    preview = _preview(client, text, user_id=LOYAL_USER, page="home")
    assert _ids(preview.with_rules).index(pinned) == 4
    assert _rule(preview.with_rules[4])[0] == "first"


def test_a_pin_of_an_out_of_stock_item_is_not_placed(client: TailorClient, built: Built) -> None:
    gone = next(i for i, ok in sorted(built.store.in_stock.items()) if not ok)
    preview = _preview(client, f'[[rule]]\nname = "gone"\npin = "{gone}"\nslot = 1\n', user_id=LOYAL_USER,
                       page="home")
    assert _ids(preview.with_rules) == _ids(preview.without_rules)


def test_a_date_window_turns_a_rule_on_and_off(client: TailorClient) -> None:
    def ms(moment: str) -> int:
        return int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp() * 1000)

    # The last of the answer inside the window, without rules (a learned ranker's order moves with time).
    last = _ids(client.recommend(10, user_id=LOYAL_USER, page="home", no_exploration=True,
                                 time_ms=ms("2030-06-03T12:00:00")).items)[-1]
    text = (f'[[rule]]\nname = "sale"\nstart = "2030-06-01T00:00:00Z"\nend = "2030-06-08T00:00:00Z"\n'
            f'items = ["{last}"]\nboost = 1000\n')

    def first_at(moment: str) -> str:
        return _ids(_preview(client, text, user_id=LOYAL_USER, page="home", time_ms=ms(moment)).with_rules)[0]

    assert first_at("2030-06-03T12:00:00") == last
    assert first_at("2030-05-31T23:59:59") != last
    assert first_at("2030-06-08T00:00:00") != last


def test_a_request_has_one_clock_for_ranking_and_rules(client: TailorClient, built: Built) -> None:
    """Without Context.time_ms a window is judged at the moment ranking judges the request at (the artifact's
    reference time under the default `ranking.clock`), not at a second clock: a sale around the build's last
    event is in force, one around the wall clock's today is not."""
    last = _baseline(client)[-1]
    reference = built.manifest.params.reference_time_ms

    def first_within(start_ms: int, end_ms: int) -> str:
        start, end = (datetime.fromtimestamp(ms / 1000, UTC).isoformat() for ms in (start_ms, end_ms))
        text = f'[[rule]]\nname = "sale"\nstart = "{start}"\nend = "{end}"\nitems = ["{last}"]\nboost = 1000\n'
        return _ids(_preview(client, text, user_id=LOYAL_USER, page="home").with_rules)[0]

    hour = 3_600_000
    assert first_within(reference - hour, reference + hour) == last
    wall = int(datetime.now(UTC).timestamp() * 1000)
    assert reference + 2 * hour < wall  # the demo store's log ends in the past
    assert first_within(wall - hour, wall + hour) != last


def test_rerank_rules_move_its_candidates(client: TailorClient, built: Built) -> None:
    candidates = [(i, float(30 - k)) for k, i in enumerate(sorted(built.store.category)[:30])]
    # The pin is a low-ranked candidate in stock (an out-of-stock pin is set aside, docs/rules.md).
    excluded, pinned = candidates[0][0], next(i for i, _ in candidates[20:] if built.store.in_stock[i])
    text = (f'[[rule]]\nname = "out"\nitems = ["{excluded}"]\nexclude = true\n'
            f'[[rule]]\nname = "up"\npin = "{pinned}"\nslot = 1\n'
            '[[rule]]\nname = "elsewhere"\npin = "not-a-candidate"\nslot = 2\n')
    with pytest.raises(InvalidArgument, match="not-a-candidate"):  # an unknown item is a problem of the draft
        client.preview_rules(text, 10, user_id=LOYAL_USER, candidates=candidates)
    text = text.rsplit("[[rule]]", 1)[0]
    preview = _preview(client, text, n=10, user_id=LOYAL_USER, candidates=candidates)
    assert excluded in _ids(preview.without_rules) and excluded not in _ids(preview.with_rules)
    assert _ids(preview.with_rules)[0] == pinned and _rule(preview.with_rules[0])[0] == "up"
    assert set(_ids(preview.with_rules)) <= {i for i, _ in candidates}


def test_preview_says_whether_the_answer_is_personal(client: TailorClient) -> None:
    text = '[[rule]]\nname = "a"\ncategory = "coffee"\nboost = 2\n'
    assert _preview(client, text, user_id=LOYAL_USER).personal
    assert not _preview(client, text, user_id="u_nobody_knows").personal
    assert not _preview(client, text, user_id=NO_CONSENT_USER).personal


def test_a_draft_with_problems_is_invalid_argument_listing_every_one(client: TailorClient) -> None:
    text = ('[[rule]]\nname = "a"\ncategory = "no-such-category"\nboost = 2\n'
            '[[rule]]\nname = "b"\nbury = 3\nsegment = "vip"\n')
    with pytest.raises(InvalidArgument) as raised:
        client.preview_rules(text, user_id=LOYAL_USER)
    assert raised.value.field == "rules_toml"
    for expected in ("3 problem(s)", "rule a: category", "rule b: bury", "rule b: segment"):
        assert expected in raised.value.details


def test_answers_carry_no_rules_version_without_rules(client: TailorClient) -> None:
    assert client.recommend(5, user_id=LOYAL_USER).rules_version == ""


# --- a rules file in force, reloaded live ------------------------------------------------------------------------


def _coffee(built: Built) -> str:
    return next(i for i in sorted(built.store.items_in("coffee")) if built.store.in_stock[i])


@pytest.fixture
def ruled(own_root: Path, tmp_path: Path, built: Built) -> Iterator[tuple[TailorClient, Path]]:
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rule]]\nname = "coffee-first"\npin = "{_coffee(built)}"\nslot = 1\n')
    server = start_server(ServerConfig(artifacts=own_root, port=0, rules=rules, poll_seconds=0.05, live=False))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=10.0) as c:
            yield c, rules
    finally:
        server.stop(grace=None)


def test_rules_in_force_apply_to_recommend_and_rerank_and_reload_live(ruled: tuple[TailorClient, Path],
                                                                      built: Built,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    client, path = ruled
    first = rules_version(path.read_text())
    answer = client.recommend(10, user_id=LOYAL_USER, page="home")
    assert answer.rules_version == first
    coffee = _coffee(built)
    assert answer.items[0].item_id == coffee
    assert _rule(answer.items[0]) == ("coffee-first", "Pinned: coffee-first")
    reranked = client.rerank([("i_unknown_x", 3.0), (sorted(built.store.category)[0], 2.0), (coffee, 1.0)],
                             user_id=LOYAL_USER)
    assert reranked.rules_version == first and reranked.items[0].item_id == coffee
    path.write_text('[[rule]]\nname = "broken"\nboost = 0.5\nsegment = "vip"\n')  # refused: the old rules stay
    wait_until(lambda: "rules_refused" in caplog.text, 60, "the broken rules file is refused")
    assert "problems=2" in caplog.text
    assert client.recommend(10, user_id=LOYAL_USER, page="home").rules_version == first
    fixed = '[[rule]]\nname = "no-coffee"\ncategory = "coffee"\nexclude = true\n'
    path.write_text(fixed)
    wait_until(lambda: client.recommend(5, user_id=LOYAL_USER).rules_version == rules_version(fixed), 60,
               "the fixed rules file is in force")
    answer = client.recommend(10, user_id=LOYAL_USER, page="home")
    assert "coffee" not in {built.store.category[i.item_id] for i in answer.items}
    assert client.preview_rules("", 10, user_id=LOYAL_USER).rules_version == rules_version(fixed)


def test_a_new_artifact_version_gets_the_rules_compiled_against_it(ruled: tuple[TailorClient, Path],
                                                                   own_root: Path, built: Built) -> None:
    client, path = ruled
    publish_copy(own_root, "v-rules-next")
    wait_until(lambda: client.recommend(5, user_id=LOYAL_USER).version == "v-rules-next", 60,
               "the new artifact version answers")
    answer = client.recommend(10, user_id=LOYAL_USER, page="home")
    assert answer.version == "v-rules-next" and answer.rules_version == rules_version(path.read_text())
    assert answer.items[0].item_id == _coffee(built) and _rule(answer.items[0])[0] == "coffee-first"


def test_the_rules_file_comes_from_the_config_file_environment_or_flag(tmp_path: Path) -> None:
    config = tmp_path / "tailor.toml"
    config.write_text('[server]\nartifacts = "a"\nrules = "from-file.toml"\n')
    assert load_server_config(config, environ={}).rules == Path("from-file.toml")
    assert load_server_config(config, environ={"TAILOR_RULES": "env.toml"}).rules == Path("env.toml")
    assert load_server_config(config, environ={"TAILOR_RULES": "env.toml"},
                              flags={"rules": Path("flag.toml")}).rules == Path("flag.toml")
    assert load_server_config(None, environ={"TAILOR_ARTIFACTS": "a"}).rules is None

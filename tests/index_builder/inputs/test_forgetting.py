"""The build honours ForgetUser's deletion records: the forgotten users' rows are dropped from users and
events (input log and live store) before anything is computed, and never come back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from clients import TailorClient
from clients.errors import NotFound
from index_builder import build_artifacts
from index_builder.errors import InputError
from index_builder.inputs.forgetting import Forgotten, drop_forgotten, read_forgotten
from index_builder.inputs.live_events import read_live_events
from protos import artifact
from tests.conftest import Built, small_config
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until


def test_drop_takes_their_rows_and_the_anonymous_rows_of_their_sessions() -> None:
    users = pa.table({"user_id": ["a", "b", "c"], "consent": [True, True, True]})
    events = pa.table({"user_id": ["a", "b", "", "", "a", None],
                       "session_id": ["s1", "s1", "s1", "s2", "", "s3"],
                       "item_id": ["i1", "i2", "i3", "i4", "i5", "i6"]})
    kept_users, kept_events, n_users, n_events = drop_forgotten(
        users, events, Forgotten(pa.array(["a", "zz"], pa.string()), 7))
    assert kept_users["user_id"].to_pylist() == ["b", "c"] and n_users == 1
    # a's own rows and the anonymous row of a's session s1; b's row in s1 is b's.
    assert kept_events["item_id"].to_pylist() == ["i2", "i4", "i6"] and n_events == 3
    assert drop_forgotten(users, events, Forgotten()) == (users, events, 0, 0)


def test_no_live_store_means_no_records(tmp_path: Path) -> None:
    assert read_forgotten(tmp_path / "live").seq == 0 and not len(read_forgotten(tmp_path / "live").users)


def test_a_damaged_live_store_is_an_input_error_naming_it(tmp_path: Path) -> None:
    """Both readers of the live store (its events and its deletion records) say which directory failed."""
    damaged = tmp_path / "live"
    damaged.mkdir()
    (damaged / "data.mdb").write_bytes(b"not an lmdb file" * 512)
    for read in (read_forgotten, read_live_events):
        with pytest.raises(InputError, match="live store") as caught:
            read(damaged)
        assert str(damaged) in str(caught.value)


def _profile_ids(version: Path) -> set[str]:
    env = artifact.open_store(version / artifact.STORE)
    try:
        with env.begin(db=env.open_db(artifact.DB_PROFILES, create=False)) as txn:
            return {bytes(k).decode() for k in txn.cursor().iternext(values=False)}
    finally:
        env.close()


def test_build_forget_rebuild_and_the_user_stays_gone(own_root: Path, built: Built) -> None:
    server = ServeProcess(own_root, "--workers", "1")
    try:
        with TailorClient(server.target, timeout=30) as client:
            assert client.get_profile(LOYAL_USER).user_id == LOYAL_USER
            forgot = client.forget_user(LOYAL_USER)
            assert not forgot.already_forgotten
            manifest = build_artifacts(small_config(built.data, own_root))
            assert (manifest.forgotten_users, manifest.users_rows_forgotten) == (1, 1)
            assert manifest.events_forgotten > 0 and manifest.forgotten_seq >= 1
            version = own_root / manifest.version
            assert LOYAL_USER not in _profile_ids(version) and len(_profile_ids(version)) > 100
            wait_until(lambda: client.recommend(3).version == manifest.version, 60, "the new version never served")
            with pytest.raises(NotFound):
                client.get_profile(LOYAL_USER)
            assert client.recommend(10, user_id=LOYAL_USER, request_id="gone").items == \
                client.recommend(10, request_id="gone").items  # one request_id: one exploration draw
            # The input log still holds their events: the next build leaves them out again.
            again = build_artifacts(small_config(built.data, own_root))
            assert again.forgotten_users == 1 and LOYAL_USER not in _profile_ids(own_root / again.version)
            assert again.counts.events == manifest.counts.events
    finally:
        server.stop()


def test_a_build_without_folding_live_events_still_honours_the_records(own_root: Path, built: Built) -> None:
    server = ServeProcess(own_root, "--workers", "1")
    try:
        with TailorClient(server.target, timeout=30) as client:
            client.forget_user(LOYAL_USER)
    finally:
        server.stop()
    manifest = build_artifacts(replace(small_config(built.data, own_root), fold_live=False))
    assert manifest.forgotten_users == 1 and LOYAL_USER not in _profile_ids(own_root / manifest.version)

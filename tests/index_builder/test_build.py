"""The builder: a complete, verified version becomes current; anything less never does."""

from __future__ import annotations

import csv
import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from index_builder import ArtifactWriteError, BuildConfig, BuildError, InputError, build, build_artifacts
from index_builder.inputs import coded
from protos import artifact
from server import ArtifactError, load_snapshot
from tests.conftest import Built, small_config
from tests.waiting import wait_until


def _copy_store(built: Built, dest: Path) -> Path:
    shutil.copytree(built.data, dest)
    return dest


def _rewrite_cell(path: Path, line: int, column: str, value: str) -> None:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def test_version_is_complete_and_verifies(built: Built) -> None:
    current = (built.root / artifact.CURRENT_LINK).resolve()
    assert current.name == built.manifest.version
    manifest = artifact.read_manifest(current)
    artifact.verify_files(current, manifest)
    listed = {f.path for f in manifest.files}
    assert built.manifest.ranker.trained, built.manifest.ranker.verdict
    ranker = {artifact.RANKER_MODEL, *(artifact.RANKER_ARRAY.format(stem) for stem in (
        "feature", "threshold", "left", "right", "default_left", "missing", "leaf_value", "root"))}
    assert listed == {*(spec.file for spec in artifact.ITEM_ARRAYS.values()), artifact.INDEX, artifact.STORE, *ranker}
    assert manifest.counts.items == len(built.store.category)
    assert manifest.counts.users_without_consent >= 1
    assert manifest.dim == 32
    assert not list(built.root.glob(".staging-*"))


def test_item_vectors_are_learned_not_noise(own_root: Path) -> None:
    snapshot = load_snapshot((own_root / artifact.CURRENT_LINK).resolve())
    vectors = np.asarray(snapshot.catalog.vectors)
    category = np.asarray(snapshot.catalog.category)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(vectors), size=(2, 5000))
    same = category[a] == category[b]
    cos = np.einsum("ij,ij->i", vectors[a], vectors[b])
    # Items of one category sit closer together than random pairs.
    assert cos[same].mean() > cos[~same].mean() + 0.2
    snapshot.close()


@pytest.mark.parametrize(
    ("table", "line", "column", "value", "message"),
    [
        ("items", 5, "price", "cheap", "cannot parse"),
        ("items", 7, "price", "-3", "must be a finite number"),
        ("items", 4, "in_stock", "maybe", "cannot parse"),
        ("items", 3, "item_id", "", "must not be empty"),
        ("events", 9, "type", "wishlist", "must be one of"),
        ("events", 6, "ts", "yesterday", "cannot parse"),
        ("users", 8, "consent", "perhaps", "cannot parse"),
    ],
)
def test_bad_cell_is_reported_with_file_line_and_column(
    built: Built, tmp_path: Path, table: str, line: int, column: str, value: str, message: str
) -> None:
    data = _copy_store(built, tmp_path / "data")
    _rewrite_cell(data / f"{table}.csv", line, column, value)
    with pytest.raises(InputError) as info:
        build_artifacts(small_config(data, tmp_path / "out"))
    error = info.value
    assert (error.path.name, error.line, error.column) == (f"{table}.csv", line, column)
    assert message in str(error)
    assert not (tmp_path / "out" / artifact.CURRENT_LINK).exists()


def test_duplicate_item_id_and_missing_column(built: Built, tmp_path: Path) -> None:
    data = _copy_store(built, tmp_path / "data")
    first_id = next(iter(built.store.category))
    _rewrite_cell(data / "items.csv", 6, "item_id", first_id)
    with pytest.raises(InputError, match="duplicate id") as info:
        build_artifacts(small_config(data, tmp_path / "out"))
    assert info.value.line == 6
    (data / "users.csv").write_text("user_id,signup_at\nu1,2026-01-01T00:00:00Z\n")
    shutil.copy(built.data / "items.csv", data / "items.csv")
    with pytest.raises(InputError, match="missing column") as info:
        build_artifacts(small_config(data, tmp_path / "out"))
    assert (info.value.line, info.value.column) == (1, "consent")


def test_parquet_inputs_build_the_same_catalog(built: Built, tmp_path: Path) -> None:
    data = tmp_path / "parquet"
    data.mkdir()
    for name in ("items", "users", "events"):
        pq.write_table(pacsv.read_csv(built.data / f"{name}.csv"), data / f"{name}.parquet")
    manifest = build_artifacts(small_config(data, tmp_path / "out"))
    assert manifest.counts.items == built.manifest.counts.items
    assert manifest.counts.profiles == built.manifest.counts.profiles


def test_corrupted_version_is_refused(built: Built, tmp_path: Path) -> None:
    version = tmp_path / "v"
    shutil.copytree((built.root / artifact.CURRENT_LINK).resolve(), version)
    with (version / artifact.ITEM_ARRAYS["price"].file).open("r+b") as f:
        f.seek(-4, os.SEEK_END)
        f.write(b"\x00\x00\x80\x7f")
    with pytest.raises(ArtifactError, match="sha256"):
        load_snapshot(version)


def _staged_or_ended(proc: subprocess.Popen[bytes], root: Path) -> bool:
    return proc.poll() is not None or any(root.glob(".staging-*/*"))


def test_interrupted_build_leaves_current_untouched(built: Built, tmp_path: Path) -> None:
    root = tmp_path / "out"
    first = build_artifacts(small_config(built.data, root))
    script = (
        "import sys; from pathlib import Path; from index_builder import BuildConfig, build_artifacts; "
        f"build_artifacts(BuildConfig(data_dir=Path({str(built.data)!r}), out_root=Path({str(root)!r}), "
        "dim=32, iterations=8, show_progress=False))"
    )
    killed = False
    for _attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-c", script])
        # The first file in the staging directory: the build is under way, and far from its rename.
        wait_until(functools.partial(_staged_or_ended, proc, root), 120,
                   "the build writes its first staged file or ends", interval=0.002)
        proc.send_signal(signal.SIGKILL)
        if proc.wait() == -signal.SIGKILL:
            killed = True
            break
    assert killed, "the build finished before it could be interrupted"
    assert (root / artifact.CURRENT_LINK).resolve().name == first.version
    load_snapshot((root / artifact.CURRENT_LINK).resolve()).close()
    second = build_artifacts(small_config(built.data, root))
    assert (root / artifact.CURRENT_LINK).resolve().name == second.version
    assert not list(root.glob(".staging-*"))


def test_config_names_the_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BuildConfig.dim"):
        BuildConfig(data_dir=tmp_path, out_root=tmp_path, dim=0)
    with pytest.raises(ValueError, match="BuildConfig.ivf_target_recall"):
        BuildConfig(data_dir=tmp_path, out_root=tmp_path, ivf_target_recall=1.5)
    with pytest.raises(ValueError, match="BuildConfig.ivf_max_nprobe"):
        BuildConfig(data_dir=tmp_path, out_root=tmp_path, ivf_max_nprobe=0)


def test_item_ids_become_fixed_width_utf8_bytes() -> None:
    ids = pa.array(["x", "i0001", "é", "", "longest-id-0009"]).slice(1)  # a sliced array keeps its offset
    packed = build._fixed_width_bytes(ids)
    assert packed.dtype == np.dtype("S15")
    assert packed.tolist() == [b"i0001", "é".encode(), b"", b"longest-id-0009"]
    assert build._fixed_width_bytes(pa.array(["a", "bc"])).tolist() == np.array(["a", "bc"], dtype=np.bytes_).tolist()


def test_training_rows_number_users_then_sessions_in_code_order() -> None:
    user = np.array([5, -1, 2, 5, 0, -1, 2, 3])
    session = np.array([9, 7, 8, 9, 1, 3, 8, 4])
    anonymous = user < 0
    consent = np.array([True, False, True, False, True, True])
    events = coded.Events(item=np.zeros(8, np.int32), user=user, session=session, kind=np.zeros(8, np.int8),
                           ts=np.zeros(8, np.int64), anonymous=anonymous, value=np.ones(8, np.float32),
                           qty=np.ones(8), paid=np.zeros(8), channel=np.zeros(8, np.uint8),
                           dropped_unknown_item=0, unknown_user=0)
    train, rows, user_rows = coded.training_rows(events, consent)
    assert train.tolist() == [True, True, True, True, True, True, True, False]  # user 3 has no consent
    assert user_rows.tolist() == [0, -1, 1, -1, -1, 2]  # users 0, 2, 5 in code order
    assert rows[train].tolist() == [2, 3 + 1, 1, 2, 0, 3 + 0, 1]  # sessions 3 and 7 after the users


def _tiny_store(data: Path, consent: str) -> None:
    data.mkdir()
    (data / "items.csv").write_text("item_id,title,category,brand,price,in_stock,created_at\n"
                                    "i1,One,shoes,b,9.5,true,2025-05-31T06:51:26Z\n"
                                    "i2,Two,shoes,b,9.5,true,2025-05-31T06:51:26Z\n")
    (data / "users.csv").write_text(f"user_id,signup_at,country,age_band,consent\nu1,2026-04-01T01:14:56Z,IT,25-34,"
                                    f"{consent}\n")
    (data / "events.csv").write_text("event_id,ts,user_id,session_id,item_id,type,qty,price,channel\n"
                                     "e1,2026-05-02T00:00:08Z,u1,s1,i1,view,1,9.5,web\n"
                                     "e2,2026-05-02T00:01:08Z,u1,s1,i2,purchase,1,9.5,web\n")


@pytest.mark.parametrize(("items", "titles"), [
    ("item_id,title,category\ni1,Café crème,shoes\ni2,,shoes\n", ["Café crème", ""]),
    ("item_id,category\ni1,shoes\ni2,shoes\n", ["", ""]),
])
def test_titles_are_stored_by_row_and_empty_where_absent(tmp_path: Path, items: str, titles: list[str]) -> None:
    _tiny_store(tmp_path / "data", consent="true")
    (tmp_path / "data" / "items.csv").write_text(items, encoding="utf-8")
    manifest = build_artifacts(small_config(tmp_path / "data", tmp_path / "out"))
    version = tmp_path / "out" / manifest.version
    stored = np.load(version / artifact.ITEM_ARRAYS["titles"].file)
    assert [t.decode("utf-8") for t in stored.tolist()] == titles
    snapshot = load_snapshot(version)
    assert [bytes(t).decode("utf-8") for t in snapshot.catalog.titles] == titles
    snapshot.close()


def test_nothing_to_learn_from_is_a_build_error(tmp_path: Path) -> None:
    _tiny_store(tmp_path / "data", consent="false")
    with pytest.raises(BuildError, match="no usable interactions") as info:
        build_artifacts(small_config(tmp_path / "data", tmp_path / "out"))
    assert type(info.value) is BuildError
    assert not (tmp_path / "out" / artifact.CURRENT_LINK).exists()


def test_an_unwritable_root_is_an_artifact_write_error(tmp_path: Path) -> None:
    _tiny_store(tmp_path / "data", consent="true")
    (tmp_path / "out").write_text("a file where the artifact root should be")
    with pytest.raises(ArtifactWriteError, match="cannot create staging directory"):
        build_artifacts(small_config(tmp_path / "data", tmp_path / "out"))


def test_popularity_of_a_years_old_log_still_orders_every_item() -> None:
    """Items whose events are years older than the newest one decay below float32's range; they must
    still be ordered by their evidence, not tie at zero in catalog order."""
    year_ms = 365 * 86_400_000
    newest = 10 * year_ms
    # item 0: one event now; items 1..3: 1, 3 and 2 events five years ago; item 4: never.
    item = np.array([0, 1, 2, 2, 2, 3, 3], dtype=np.int32)
    ts = np.array([newest] + [newest - 5 * year_ms] * 6, dtype=np.int64)
    n = len(item)
    events = coded.Events(item=item, user=np.zeros(n, np.int64), session=np.zeros(n, np.int64),
                           kind=np.zeros(n, np.int8), ts=ts, anonymous=np.zeros(n, bool),
                           value=np.ones(n, np.float32), qty=np.ones(n), paid=np.zeros(n),
                           channel=np.zeros(n, np.uint8), dropped_unknown_item=0, unknown_user=0)
    order = coded.popularity_order(events, 5, np.array([1.0, 4.0, 10.0]), 14.0, newest)
    assert order.tolist() == [0, 2, 3, 1, 4]

"""The recordings store: generated keys, sha256 checked on read, no way out of its folder (R12)."""

from __future__ import annotations

import hashlib
import io

import pytest

from rights_portal.access.storage import (
    IntegrityError,
    LocalStorage,
    MissingFile,
    storage_from_config,
)


def test_a_stored_file_comes_back_identical_and_verified(tmp_path):
    store = LocalStorage(tmp_path / "recordings")
    content = b"frame" * 300_000  # more than one chunk
    stored = store.put(io.BytesIO(content))

    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert store.exists(stored.key)
    with store.open(stored.key, stored.sha256, stored.size) as reader:
        assert reader.read() == content
        assert reader.verified


def test_a_file_changed_behind_the_stores_back_is_refused_on_read(tmp_path):
    store = LocalStorage(tmp_path)
    stored = store.put(io.BytesIO(b"the original recording"))
    store.local_path(stored.key).write_bytes(b"the tampered recording")

    with (
        store.open(stored.key, stored.sha256, stored.size) as reader,
        pytest.raises(IntegrityError),
    ):
        reader.read()


def test_a_truncated_file_is_refused_on_read(tmp_path):
    store = LocalStorage(tmp_path)
    stored = store.put(io.BytesIO(b"0123456789"))
    store.local_path(stored.key).write_bytes(b"01234")

    with (
        store.open(stored.key, stored.sha256, stored.size) as reader,
        pytest.raises(IntegrityError),
    ):
        while reader.read(3):
            pass


def test_a_range_read_skips_verification_instead_of_failing(tmp_path):
    store = LocalStorage(tmp_path)
    stored = store.put(io.BytesIO(b"0123456789"))
    with store.open(stored.key, stored.sha256, stored.size) as reader:
        reader.seek(4)
        assert reader.read(3) == b"456"
        assert not reader.verifying


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "ab/cd", "", "A" * 32, "0" * 31 + "/"]
)
def test_keys_that_are_not_generated_keys_reach_nothing(tmp_path, key):
    store = LocalStorage(tmp_path)
    assert not store.exists(key)
    with pytest.raises(MissingFile):
        store.open(key, "0" * 64)
    with pytest.raises(MissingFile):
        store.delete(key)


def test_keys_are_random_and_never_derived_from_content_or_names(tmp_path):
    store = LocalStorage(tmp_path)
    first = store.put(io.BytesIO(b"same"))
    second = store.put(io.BytesIO(b"same"))
    assert first.key != second.key
    assert first.sha256 == second.sha256


def test_deleting_is_idempotent(tmp_path):
    store = LocalStorage(tmp_path)
    stored = store.put(io.BytesIO(b"x"))
    assert store.delete(stored.key) is True
    assert store.delete(stored.key) is False
    assert not store.exists(stored.key)
    with pytest.raises(MissingFile):
        store.open(stored.key, stored.sha256)


def test_no_work_file_is_left_behind_after_a_put(tmp_path):
    store = LocalStorage(tmp_path)
    store.put(io.BytesIO(b"x" * 10))
    assert list((tmp_path / ".incoming").iterdir()) == []


def test_configuring_s3_refuses_loudly_until_the_backend_exists(tmp_path):
    # The S3-compatible backend is a documented stub: it must never silently fall back to disk.
    config = {
        "RECORDINGS_S3_BUCKET": "recordings",
        "RECORDINGS_DIR": str(tmp_path),
        "PACKAGES_DIR": str(tmp_path),
    }
    with pytest.raises(NotImplementedError, match="S3"):
        storage_from_config(config, "recordings")
    assert isinstance(
        storage_from_config({**config, "RECORDINGS_S3_BUCKET": None}, "packages"), LocalStorage
    )

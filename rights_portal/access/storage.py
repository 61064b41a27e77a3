"""Where recordings and access packages are kept: one small interface, two backends.

Every file goes in through :meth:`Storage.put` (a stream in, a generated key, its sha256 and size
out) and comes out through :meth:`Storage.open`, whose reader recomputes the sha256 while it is
read and raises :class:`IntegrityError` at the end if the bytes are not the ones stored (R12:
what a requester receives is provably what was recorded). Keys are random and generated here,
never derived from a file name somebody supplied, so no name can reach outside the store.

:class:`LocalStorage` keeps files in a folder (``instance/recordings/`` and
``instance/packages/`` by default). :class:`S3Storage` is the S3-compatible backend selected by
``RECORDINGS_S3_BUCKET``; it is a documented stub until it can be tested against a real object
store (boto3 is not a dependency yet). This module does not know about cases or recordings.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class IntegrityError(Exception):
    """A stored file did not have the sha256 (or size) it was stored with."""


class MissingFile(Exception):
    """No file is stored under this key."""


@dataclass(frozen=True)
class StoredObject:
    """What :meth:`Storage.put` stored: the key to find it again, its sha256 and size."""

    key: str
    sha256: str
    size: int


class Storage(Protocol):
    """The interface every backend offers."""

    def put(self, stream: BinaryIO) -> StoredObject:
        """Store everything ``stream`` yields under a new key; the stream is read in chunks."""
        ...

    def put_file(self, path: Path) -> StoredObject:
        """Store (and take over) a local file, e.g. a package built in a work folder."""
        ...

    def new_work_file(self) -> Path:
        """A fresh local path to build a file in before :meth:`put_file` takes it over."""
        ...

    def open(self, key: str, sha256: str, size: int | None = None) -> VerifyingReader:
        """Open a stored file for reading; reading it to the end checks ``sha256``."""
        ...

    def delete(self, key: str) -> bool:
        """Remove a stored file; return whether there was one."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        ...


class VerifyingReader(io.RawIOBase):
    """A read-only file that hashes what is read and checks it at end of file.

    Reading from the start to the end verifies the sha256 and size and raises
    :class:`IntegrityError` on a difference. A seek (an HTTP Range request) stops verification for
    this reader: a part of a file cannot be checked against the hash of the whole.
    """

    def __init__(self, raw: BinaryIO, sha256: str, size: int | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._expected = sha256
        self._expected_size = size
        self._hash = hashlib.sha256()
        self._position = 0
        self.verifying = True
        self.verified = False

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Seekable when the underlying file is (HTTP Range support)."""
        return bool(getattr(self._raw, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the read position; anything but staying put ends verification."""
        position = self._raw.seek(offset, whence)
        if position != self._position:
            self.verifying = False
        self._position = position
        return position

    def tell(self) -> int:
        """The current read position."""
        return self._position

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer`` (used by ``read``), hashing as it goes."""
        data = self._raw.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self._position += count
        if self.verifying:
            if count:
                self._hash.update(data)
            elif len(buffer):
                self._check()
        return count

    def _check(self) -> None:
        self.verifying = False
        actual = self._hash.hexdigest()
        if actual != self._expected or (
            self._expected_size is not None and self._position != self._expected_size
        ):
            raise IntegrityError(
                f"stored file differs: sha256 {actual} ({self._position} bytes), "
                f"expected {self._expected} ({self._expected_size} bytes)"
            )
        self.verified = True

    def close(self) -> None:
        """Close the underlying file."""
        if not self.closed:
            self._raw.close()
        super().close()


def copy_hashing(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in chunks; return the sha256 and size of what was copied."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class LocalStorage:
    """Files in a local folder, two levels of fan-out: ``ab/cd/abcd…``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # The key is the whole name: anything but 32 hex digits is refused, so no "../".
        if not _KEY_RE.fullmatch(key or ""):
            raise MissingFile(f"not a storage key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def local_path(self, key: str) -> Path:
        """The file's path on disk (for efficient streaming by the web server)."""
        return self._path(key)

    def _work_dir(self) -> Path:
        work = self.root / ".incoming"
        work.mkdir(parents=True, exist_ok=True)
        return work

    def new_work_file(self) -> Path:
        """A fresh path in this store's work folder, on the same disk, for building a file."""
        return self._work_dir() / uuid.uuid4().hex

    def put(self, stream: BinaryIO) -> StoredObject:
        """Write ``stream`` to a work file, then move it into place under a new key."""
        work = self.new_work_file()
        try:
            with open(work, "xb") as target:
                sha256, size = copy_hashing(stream, target)
                target.flush()
                os.fsync(target.fileno())
            return self._move_in(work, sha256, size)
        finally:
            work.unlink(missing_ok=True)

    def put_file(self, path: Path) -> StoredObject:
        """Hash a local file and move it into place (a rename on the same disk, no copy)."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
        try:
            return self._move_in(Path(path), digest.hexdigest(), size)
        finally:
            Path(path).unlink(missing_ok=True)

    def _move_in(self, work: Path, sha256: str, size: int) -> StoredObject:
        key = uuid.uuid4().hex
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(work, final)
        except OSError:  # another disk: copy, then the caller removes the work file
            with open(work, "rb") as source, open(final, "xb") as target:
                copy_hashing(source, target)
        final.chmod(0o600)
        return StoredObject(key=key, sha256=sha256, size=size)

    def open(self, key: str, sha256: str, size: int | None = None) -> VerifyingReader:
        """Open for reading with verification of ``sha256`` (and ``size``) at end of file."""
        path = self._path(key)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
        except FileNotFoundError as exc:
            raise MissingFile(key) from exc
        return VerifyingReader(raw, sha256, size)

    def delete(self, key: str) -> bool:
        """Remove the file; a missing file is not an error (deletion is idempotent)."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        try:
            return self._path(key).is_file()
        except MissingFile:
            return False


class S3Storage:
    """S3-compatible object storage — NOT IMPLEMENTED YET (a deliberate, documented stub).

    Selected when ``RECORDINGS_S3_BUCKET`` is set (with ``RECORDINGS_S3_ENDPOINT_URL``,
    ``RECORDINGS_S3_REGION``, ``RECORDINGS_S3_ACCESS_KEY_ID``, ``RECORDINGS_S3_SECRET_ACCESS_KEY``).
    It is a stub because it could not be tested against a real object store here (no S3 endpoint
    is reachable and boto3 is not a dependency), and an untested storage backend for students'
    recordings is worse than a loud refusal. The intended design: ``put`` as a multipart upload
    hashing the parts as they stream, key ``<prefix>/<uuid4 hex>``; ``open`` as a ranged
    ``GetObject`` body wrapped in :class:`VerifyingReader`; ``delete``/``exists`` as
    ``DeleteObject``/``HeadObject``. Until then, configuring it stops the portal from using
    storage at all rather than silently writing to the local disk.
    """

    def __init__(self, config: Mapping[str, Any], prefix: str) -> None:
        raise NotImplementedError(
            "the S3-compatible recordings store is not implemented yet; unset RECORDINGS_S3_BUCKET "
            "to use the local folder store (see rights_portal/access/storage.py)"
        )


def storage_from_config(config: Mapping[str, Any], area: str) -> Storage:
    """The store for ``area`` ("recordings" or "packages") as configured."""
    if config.get("RECORDINGS_S3_BUCKET"):
        return S3Storage(config, prefix=area)  # type: ignore[return-value]
    folder = config["RECORDINGS_DIR"] if area == "recordings" else config["PACKAGES_DIR"]
    return LocalStorage(folder)


def recordings_storage() -> Storage:
    """The store of recordings' files and redacted copies, for the current app."""
    from flask import current_app

    return storage_from_config(current_app.config, "recordings")


def packages_storage() -> Storage:
    """The store of built access packages, for the current app."""
    from flask import current_app

    return storage_from_config(current_app.config, "packages")

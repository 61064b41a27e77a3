"""Where recordings and access packages are kept: the local backend and the choice of backend.

:class:`LocalStorage` keeps files in a folder (``instance/recordings/`` and
``instance/packages/`` by default). :class:`~.s3.S3Storage` is the S3-compatible backend
selected by ``RECORDINGS_S3_BUCKET`` (boto3; both areas in one bucket under the prefixes
``recordings/`` and ``packages/``). Both offer the interface of :mod:`.blobs` (a stream in, a
generated key, its sha256 and size out; a reader that checks the sha256). This module does not
know about cases or recordings.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from .blobs import (
    CHUNK_SIZE,
    KEY_RE,
    MissingFile,
    Storage,
    StoredObject,
    VerifyingReader,
    copy_hashing,
)
from .s3 import S3Storage


class LocalStorage:
    """Files in a local folder, two levels of fan-out: ``ab/cd/abcd…``."""

    def __init__(self, root: str | Path, area: str | None = None) -> None:
        self.root = Path(root)
        #: "recordings", "packages" or "exports": the folder's name behind the web server's
        #: internal location (X-Accel-Redirect, :mod:`.streaming`).
        self.area = area

    def _path(self, key: str) -> Path:
        # The key is the whole name: anything but 32 hex digits is refused, so no "../".
        if not KEY_RE.fullmatch(key or ""):
            raise MissingFile(f"not a storage key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def local_path(self, key: str) -> Path:
        """The file's path on disk (for efficient streaming by the web server)."""
        return self._path(key)

    def relative_path(self, key: str) -> str:
        """The file's path below the store's folder, as a URL path (``ab/cd/abcd…``)."""
        self._path(key)  # refuses anything but a key
        return f"{key[:2]}/{key[2:4]}/{key}"

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

    def put_file(
        self, path: Path, sha256: str | None = None, size: int | None = None
    ) -> StoredObject:
        """Move a local file into place (a rename on the same disk, no copy).

        Without the ``sha256`` and ``size`` its writer took, the file is read once to hash it.
        """
        try:
            if sha256 is None or size is None:
                digest = hashlib.sha256()
                size = 0
                with open(path, "rb") as source:
                    while chunk := source.read(CHUNK_SIZE):
                        digest.update(chunk)
                        size += len(chunk)
                sha256 = digest.hexdigest()
            elif Path(path).stat().st_size != size:
                raise OSError(f"{path} has {Path(path).stat().st_size} bytes, not {size}")
            return self._move_in(Path(path), sha256, size)
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


_AREA_FOLDERS = {
    "recordings": "RECORDINGS_DIR",
    "packages": "PACKAGES_DIR",
    "exports": "EXPORTS_DIR",
}


def storage_from_config(config: Mapping[str, Any], area: str) -> Storage:
    """The store for ``area`` ("recordings", "packages" or "exports") as configured."""
    folder = config[_AREA_FOLDERS[area]]
    if config.get("RECORDINGS_S3_BUCKET"):
        # The areas share the bucket under their own prefix; packages and exports are built in
        # a local work file in the area's folder before they are uploaded.
        return S3Storage(config, prefix=area, work_dir=folder)
    return LocalStorage(folder, area=area)


def recordings_storage() -> Storage:
    """The store of recordings' files and redacted copies, for the current app."""
    from flask import current_app

    return storage_from_config(current_app.config, "recordings")


def packages_storage() -> Storage:
    """The store of built access packages, for the current app."""
    from flask import current_app

    return storage_from_config(current_app.config, "packages")


def exports_storage() -> Storage:
    """The store of finished exports (audit trail CSV, the DPO's report), for the current app."""
    from flask import current_app

    return storage_from_config(current_app.config, "exports")

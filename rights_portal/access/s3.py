"""The S3-compatible storage backend (boto3), selected by ``RECORDINGS_S3_BUCKET``.

Both areas share one bucket under the prefixes ``recordings/`` and ``packages/``. Reads are
streamed and verified like the local backend's (:class:`~.blobs.VerifyingReader`); a dropped
connection is resumed with a range request. boto3 is imported only when a bucket is configured.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from .blobs import KEY_RE, IntegrityError, MissingFile, StoredObject, VerifyingReader


class _S3ObjectReader(io.RawIOBase):
    """A seekable, read-only view of one S3 object, streamed with ranged ``GetObject`` calls.

    The body is fetched lazily from the current position (``Range: bytes=<position>-``), so a
    seek (an HTTP Range request) costs one new request instead of reading the skipped bytes.
    Every request is pinned to the ETag seen when the file was opened (``IfMatch``), so a file
    replaced mid-read fails instead of mixing two versions.
    """

    def __init__(self, client: Any, bucket: str, key: str, size: int, etag: str | None) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._etag = etag
        self._body: Any = None
        self._position = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Seekable: a seek becomes a ranged request."""
        return True

    def tell(self) -> int:
        """The current read position."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the read position; the next read starts a new ranged request."""
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence: {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        if position != self._position:
            self._drop_body()
            self._position = position
        return position

    def _open_body(self) -> Any:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._position:
            arguments["Range"] = f"bytes={self._position}-"
        if self._etag:
            arguments["IfMatch"] = self._etag
        try:
            return self._client.get_object(**arguments)["Body"]
        except Exception as exc:
            if _s3_error_code(exc) in _MISSING_CODES:
                raise MissingFile(self._key) from exc
            if _s3_error_code(exc) == "PreconditionFailed":
                raise IntegrityError(f"stored file {self._key} changed while it was read") from exc
            raise

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left for -1) from the current position."""
        if self._body is None:
            if self._position >= self._size:
                # At or past the end: S3 answers a range beyond the object with 416.
                return b""
            self._body = self._open_body()
        data: bytes = self._body.read() if size is None or size < 0 else self._body.read(size)
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        """Close the open response body, if any."""
        if not self.closed:
            self._drop_body()
        super().close()


class _HashingReader(io.RawIOBase):
    """Passes a stream through unchanged, hashing and counting what is read from it."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Read from the source and hash it; never seekable, so every byte is read once."""
        data = self._source.read(size if size is not None else -1)
        self.hash.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _s3_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) or None
    return None


@functools.lru_cache(maxsize=8)
def _s3_client(
    endpoint_url: str | None, region: str | None, access_key: str | None, secret_key: str | None
) -> Any:
    # One client per configuration: clients are thread-safe, and building one per request
    # (storage_from_config runs per request) would cost tens of milliseconds each time.
    import boto3
    from botocore.config import Config

    config = Config(
        # Path-style addressing works with every S3-compatible server (MinIO, Ceph, Garage…);
        # virtual-host style needs wildcard DNS that a self-hosted endpoint rarely has.
        s3={"addressing_style": "path"} if endpoint_url else {},
        retries={"max_attempts": 5, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


class S3Storage:
    """Files as objects in an S3-compatible bucket, under ``<prefix>/<32 hex digits>``.

    Selected when ``RECORDINGS_S3_BUCKET`` is set (with ``RECORDINGS_S3_ENDPOINT_URL``,
    ``RECORDINGS_S3_REGION``, ``RECORDINGS_S3_ACCESS_KEY_ID``, ``RECORDINGS_S3_SECRET_ACCESS_KEY``;
    without the keys boto3's usual credential chain applies). Uploads stream through boto3's
    managed transfer (a multipart upload above 8 MB) while being hashed, so a recording of
    gigabytes never sits in memory; reads stream ranged ``GetObject`` bodies through
    :class:`VerifyingReader`, so a full read checks the sha256 exactly as on local disk.
    Packages are built in a local work file (``work_dir``) and then uploaded.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        prefix: str,
        work_dir: str | Path | None = None,
        client: Any = None,
    ) -> None:
        self.bucket: str = config["RECORDINGS_S3_BUCKET"]
        self.prefix = prefix.strip("/")
        self.client = client or _s3_client(
            config.get("RECORDINGS_S3_ENDPOINT_URL"),
            config.get("RECORDINGS_S3_REGION"),
            config.get("RECORDINGS_S3_ACCESS_KEY_ID"),
            config.get("RECORDINGS_S3_SECRET_ACCESS_KEY"),
        )
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.gettempdir())

    def object_key(self, key: str) -> str:
        """The object's name in the bucket; anything but a generated key is refused."""
        if not KEY_RE.fullmatch(key or ""):
            raise MissingFile(f"not a storage key: {key!r}")
        return f"{self.prefix}/{key}"

    def new_work_file(self) -> Path:
        """A fresh local path to build a file in before :meth:`put_file` uploads it."""
        work = self.work_dir / ".incoming"
        work.mkdir(parents=True, exist_ok=True)
        return work / uuid.uuid4().hex

    def put(self, stream: BinaryIO) -> StoredObject:
        """Upload ``stream`` under a new key, hashing it as it streams (multipart when large)."""
        key = uuid.uuid4().hex
        hashing = _HashingReader(stream)
        # Not seekable on purpose: boto3 then reads the stream once, in order, part by part.
        self.client.upload_fileobj(hashing, self.bucket, self.object_key(key))
        return StoredObject(key=key, sha256=hashing.hash.hexdigest(), size=hashing.size)

    def put_file(
        self, path: Path, sha256: str | None = None, size: int | None = None
    ) -> StoredObject:
        """Upload a local file under a new key, then remove the local file.

        The upload reads the file once anyway and hashes it on the way; a given ``sha256`` is
        not needed.
        """
        try:
            with open(path, "rb") as source:
                return self.put(source)
        finally:
            Path(path).unlink(missing_ok=True)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self.object_key(key)
            )
        except Exception as exc:
            if _s3_error_code(exc) in _MISSING_CODES:
                return None
            raise
        return head

    def open(self, key: str, sha256: str, size: int | None = None) -> VerifyingReader:
        """Open for streaming with verification of ``sha256`` (and ``size``) at end of file."""
        head = self._head(key)
        if head is None:
            raise MissingFile(key)
        raw = _S3ObjectReader(
            self.client,
            self.bucket,
            self.object_key(key),
            int(head["ContentLength"]),
            head.get("ETag"),
        )
        return VerifyingReader(cast(BinaryIO, raw), sha256, size)

    def presigned_download(
        self, key: str, *, filename: str, media_type: str, attachment: bool, seconds: int
    ) -> str | None:
        """A short-lived signed GET address of the object for the browser; None if it is gone.

        The answer's type, disposition and no-store caching are signed into the address (S3's
        ``response-*`` parameters), so the bucket sends them as the portal would.
        """
        if self._head(key) is None:
            return None
        disposition = "attachment" if attachment else "inline"
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.object_key(key),
                "ResponseContentType": media_type,
                "ResponseContentDisposition": f'{disposition}; filename="{filename}"',
                "ResponseCacheControl": "private, no-store",
            },
            ExpiresIn=seconds,
        )
        return url

    def delete(self, key: str) -> bool:
        """Remove the object; a missing object is not an error (deletion is idempotent)."""
        existed = self._head(key) is not None
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        return existed

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        try:
            return self._head(key) is not None
        except MissingFile:
            return False

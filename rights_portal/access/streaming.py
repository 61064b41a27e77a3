"""Serving stored files over HTTP: Range requests, a verified full read, no caching.

The access pages (and the media pages beside them, and the exports page) hand out recordings,
packages and exports through :func:`stream_stored`; the audit event of an opening is recorded by
the view before the body streams (the request's unit of work commits it when the view returns).

With ``SENDFILE_VIA_ACCEL`` (behind the compose file's nginx) a locally stored file is not sent
by the app at all: the view has checked permissions and audited the opening, and the answer is an
empty response with ``X-Accel-Redirect`` naming the file under nginx's internal location; nginx
sends the bytes (Range included) with the headers set here. A slow client then holds no app
thread. With the S3 backend and ``RECORDINGS_S3_PRESIGNED_SECONDS`` the answer is instead a
redirect to a short-lived signed address of the object, and the bucket sends it. What nginx or
the bucket sends is not re-hashed on the way (R12's check on a full read); the package
builder and the integrity checks still verify every stored file when they read it.
"""

from __future__ import annotations

from typing import IO, cast

from flask import abort, current_app, redirect, render_template, request
from werkzeug.wrappers import Response
from werkzeug.wsgi import FileWrapper

from . import blobs
from .s3 import S3Storage
from .storage import LocalStorage


def allow_large_upload() -> None:
    """Raise the upload limit for this request only, before the body is parsed.

    Recordings are large. The upload views are exempt from the global CSRF check (which would
    parse the body first under the small default limit); their FlaskForm checks the token itself.
    """
    request.max_content_length = current_app.config["RECORDINGS_UPLOAD_MAX_BYTES"]


def stream_stored(
    store: blobs.Storage,
    key: str,
    *,
    sha256: str,
    size: int,
    mimetype: str,
    download_name: str,
    attachment: bool,
    missing_message: str | None = None,
) -> Response:
    """Stream a stored file with HTTP Range support; a full read verifies its sha256.

    A file missing from storage answers 404, with ``missing_message`` if one is given.
    """
    if isinstance(store, S3Storage) and current_app.config.get("RECORDINGS_S3_PRESIGNED_SECONDS"):
        return _presigned_redirect(
            store, key, mimetype, download_name, attachment, missing_message=missing_message
        )
    accel = _accel_location(store, key)
    try:
        if accel is not None:
            if not isinstance(store, LocalStorage) or not store.local_path(key).is_file():
                raise blobs.MissingFile(key)
        else:
            reader = store.open(key, sha256, size)
    except blobs.MissingFile:
        if missing_message is None:
            abort(404)
        page = render_template("errors/error.html", code=404, message=missing_message)
        return current_app.make_response((page, 404))
    if accel is not None:
        # nginx answers Range and conditional requests itself and keeps these headers.
        response = current_app.response_class(b"", mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = accel
        response.headers["X-Accel-Buffering"] = "no"
        _download_headers(response, sha256, download_name, attachment)
        return response
    response = current_app.response_class(
        FileWrapper(cast(IO[bytes], reader), blobs.CHUNK_SIZE),
        mimetype=mimetype,
        direct_passthrough=True,
    )
    response.content_length = size
    _download_headers(response, sha256, download_name, attachment)
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)


def _presigned_redirect(
    store: S3Storage,
    key: str,
    mimetype: str,
    download_name: str,
    attachment: bool,
    *,
    missing_message: str | None,
) -> Response:
    """Send the browser to a short-lived signed address of the object (the bucket serves it)."""
    url = store.presigned_download(
        key,
        filename=download_name,
        media_type=mimetype,
        attachment=attachment,
        seconds=int(current_app.config["RECORDINGS_S3_PRESIGNED_SECONDS"]),
    )
    if url is None:
        if missing_message is None:
            abort(404)
        page = render_template("errors/error.html", code=404, message=missing_message)
        return current_app.make_response((page, 404))
    response = redirect(url, code=303)
    response.headers["Cache-Control"] = "private, no-store"  # the address is a credential
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _accel_location(store: blobs.Storage, key: str) -> str | None:
    """The internal nginx location of a local file, when nginx sends files; else None."""
    if not current_app.config.get("SENDFILE_VIA_ACCEL"):
        return None
    if not isinstance(store, LocalStorage) or store.area is None:
        return None  # S3 and unnamed folders: the app streams (nginx cannot reach them)
    try:
        relative = store.relative_path(key)
    except blobs.MissingFile:
        return None
    return f"{current_app.config['SENDFILE_ACCEL_PREFIX']}/{store.area}/{relative}"


def _download_headers(
    response: Response, sha256: str, download_name: str, attachment: bool
) -> None:
    response.headers.set(
        "Content-Disposition", "attachment" if attachment else "inline", filename=download_name
    )
    response.set_etag(sha256)
    response.cache_control.private = True
    response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "no-referrer"


def request_range() -> str | None:
    """The request's Range header, cut to a length fit for the audit trail."""
    value = request.headers.get("Range")
    return value[:100] if value else None


def starts_playback() -> bool:
    """Whether this request starts a reading (a first range or the whole file).

    A video element fetches many ranges while playing; one opening is logged, not every chunk.
    """
    byte_range = request_range()
    return byte_range is None or byte_range.replace(" ", "").startswith("bytes=0-")

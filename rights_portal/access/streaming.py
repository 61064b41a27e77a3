"""Serving stored files over HTTP: Range requests, a verified full read, no caching.

The access pages (and the media pages beside them) hand out recordings and packages through
:func:`stream_stored`; the audit event of an opening is recorded by the view before the body
streams (the request's unit of work commits it when the view returns).
"""

from __future__ import annotations

from typing import IO, cast

from flask import abort, current_app, render_template, request
from werkzeug.wrappers import Response
from werkzeug.wsgi import FileWrapper

from . import blobs


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
    try:
        reader = store.open(key, sha256, size)
    except blobs.MissingFile:
        if missing_message is None:
            abort(404)
        page = render_template("errors/error.html", code=404, message=missing_message)
        return current_app.make_response((page, 404))
    response = current_app.response_class(
        FileWrapper(cast(IO[bytes], reader), blobs.CHUNK_SIZE),
        mimetype=mimetype,
        direct_passthrough=True,
    )
    response.content_length = size
    response.headers.set(
        "Content-Disposition", "attachment" if attachment else "inline", filename=download_name
    )
    response.set_etag(sha256)
    response.cache_control.private = True
    response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "no-referrer"
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)


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

"""What a letter or e-mail uploaded at intake may be, decided by its content (R1).

A scan (PDF, PNG, JPEG or TIFF) or an e-mail saved as ``.eml``. The file name and the browser's
content type are not trusted: the first bytes decide. Nothing here stores anything.
"""

from __future__ import annotations

import re
from typing import BinaryIO

__all__ = ["ACCEPTED", "sniff"]

#: Content type -> file extension, for the types accepted.
ACCEPTED = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "message/rfc822": "eml",
}

_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_HEAD_BYTES = 8192
# RFC 5322 header field: a name of printable ASCII without a colon, then a colon.
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_MAIL_HEADERS = {b"from", b"date", b"subject", b"to", b"message-id", b"received"}


def _looks_like_email(head: bytes) -> bool:
    """An RFC 5322 message: starts with header fields, among them From and Date or Subject."""
    header_block = head.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names: set[bytes] = set()
    for line in header_block.split(b"\n"):
        if not line or line[:1] in (b" ", b"\t"):  # folded continuation
            continue
        if not _HEADER_LINE.match(line):
            return False
        names.add(line.split(b":", 1)[0].lower())
    return b"from" in names and len(names & _MAIL_HEADERS) >= 2


def sniff(stream: BinaryIO) -> str | None:
    """Return the content type of ``stream`` by its first bytes, or None if not accepted.

    The stream is rewound to where it was.
    """
    start = stream.tell()
    head = stream.read(_HEAD_BYTES)
    stream.seek(start)
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if _looks_like_email(head):
        return "message/rfc822"
    return None

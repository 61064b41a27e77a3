"""The vendor connectors' credentials, encrypted at rest with a key from the environment.

Credentials (Zoom's client id and secret and webhook secret token, ProctorExam's API token and
secret key) are one JSON object, stored as a Fernet token (AES-128-CBC with HMAC-SHA256, from
``cryptography``) in ``vendor_connectors.credentials``. The key is ``VENDOR_CREDENTIALS_KEY``
(``Fernet.generate_key()``; required outside development, see :mod:`rights_portal.config`). In
development and tests a key is derived from ``SECRET_KEY`` and a warning is logged, so that a
fresh checkout works; a database copied to production cannot be read with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

log = logging.getLogger(__name__)
_warned = False


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted with the configured key."""


def _fernet() -> Fernet:
    global _warned
    key = current_app.config.get("VENDOR_CREDENTIALS_KEY")
    if not key:
        if not _warned:
            log.warning(
                "VENDOR_CREDENTIALS_KEY is not set: vendor credentials are encrypted with a key "
                "derived from SECRET_KEY (development only)"
            )
            _warned = True
        digest = hashlib.sha256(b"vendor-credentials:" + current_app.config["SECRET_KEY"].encode())
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key)


def seal(values: dict[str, str]) -> str:
    """Encrypt ``values`` (empty ones dropped) for storage."""
    kept = {name: value for name, value in values.items() if value}
    if not kept:
        return ""
    return _fernet().encrypt(json.dumps(kept, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    """Decrypt stored credentials; raise :class:`CredentialsUnreadable` with the wrong key."""
    if not token:
        return {}
    try:
        return dict(json.loads(_fernet().decrypt(token.encode())))
    except (InvalidToken, ValueError) as exc:
        raise CredentialsUnreadable("the vendor credentials cannot be decrypted") from exc

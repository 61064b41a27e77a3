"""Talking to the OpenID provider of the institutional-login tests (``oidc_provider`` fixture).

Tests set each person's claims with :func:`set_claims`, the provider's own HTTP API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests


def set_claims(provider: str, sub: str, **claims: Any) -> None:
    response = requests.put(f"{provider}/users/{quote(sub, safe='')}", json=claims, timeout=5)
    assert response.status_code == 204, response.text

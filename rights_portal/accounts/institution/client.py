"""The OpenID Connect client for the institution's login (SURFconext), built with Authlib.

Configured by environment (``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET``,
``OIDC_SCOPES``, ``OIDC_ACCEPTED_ORGANIZATIONS``, ``OIDC_STAFF_ACR``); without an issuer the
portal has no institutional login and nothing here runs. The provider's metadata is read by
discovery (``/.well-known/openid-configuration``) at the first login, not at start, so a
provider that is down never stops the portal from starting. Authlib does the protocol: the
authorization code flow with PKCE (S256), state and nonce kept in the session, and the ID
token's signature (JWKS), issuer, audience, expiry and nonce checked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from .services import LoginPolicy

EXTENSION = "institution_login"
#: Set in the session of a person logged in through the institution: logout ends theirs too.
LOGIN_METHOD_KEY = "login_method"
#: Seconds the portal waits for the provider's token, userinfo and metadata answers.
PROVIDER_TIMEOUT = 10


def init_app(app: Flask) -> None:
    """Register the provider when ``OIDC_ISSUER`` is set."""
    issuer = (app.config.get("OIDC_ISSUER") or "").rstrip("/")
    if not issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        "institution",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "timeout": PROVIDER_TIMEOUT,
        },
    )
    app.extensions[EXTENSION] = oauth.create_client("institution")


def enabled() -> bool:
    """Whether this installation offers the institutional login."""
    return EXTENSION in current_app.extensions


def client() -> Any:
    """Authlib's Flask client for the provider (only when :func:`enabled`)."""
    return current_app.extensions[EXTENSION]


def policy() -> LoginPolicy:
    """The settings :func:`services.sign_in` decides with."""
    config = current_app.config
    return LoginPolicy(
        issuer=(config.get("OIDC_ISSUER") or "").rstrip("/"),
        accepted_organizations=frozenset(
            part.strip().lower()
            for part in (config.get("OIDC_ACCEPTED_ORGANIZATIONS") or "").split(",")
            if part.strip()
        ),
        staff_acr=(config.get("OIDC_STAFF_ACR") or "").strip(),
    )


def logout_url(post_logout_redirect_uri: str) -> str | None:
    """The provider's RP-initiated logout address, when it offers one (else None)."""
    if not enabled():
        return None
    try:
        metadata = client().load_server_metadata()
    except Exception:  # the provider is unreachable: the portal's own logout still happened
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode(
        {
            "client_id": current_app.config["OIDC_CLIENT_ID"],
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

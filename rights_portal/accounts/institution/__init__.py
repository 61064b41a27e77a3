"""Logging in with the institution's account (SURFconext, OpenID Connect).

``claims`` reads what the provider says, ``services`` decides who may enter, ``client`` speaks
the protocol through Authlib, ``views`` are the pages, ``models`` the link to the account.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the provider (when configured), the pages and the login page's switch."""
    from . import client
    from .views import bp

    client.init_app(app)
    app.register_blueprint(bp)

    @app.context_processor
    def institution_login() -> dict[str, Any]:
        return {"institution_login": client.EXTENSION in app.extensions}

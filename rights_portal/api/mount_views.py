"""Mounting the API on the app (called by ``create_app``).

flask-smorest with the portal's settings, the reference page, the admin's pages of clients and
webhooks.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .views import bp

API_CONFIG = {
    "API_TITLE": "Rights Portal API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # No Swagger UI or ReDoc: they load scripts from a CDN, which the CSP forbids and this
    # installation may not reach; /api/v1/docs is rendered on the server instead.
    "OPENAPI_REDOC_PATH": None,
    "OPENAPI_SWAGGER_UI_PATH": None,
    "OPENAPI_RAPIDOC_PATH": None,
}


class PortalApi(Api):
    """flask-smorest's Api, whose errors stay inside the API (the pages keep theirs)."""

    def _register_error_handlers(self) -> None:
        # flask-smorest answers every HTTP error of the whole app with JSON; the API's
        # blueprint has its own problem handlers instead (``init_app``).
        return None


def init_app(app: Flask) -> None:
    """Mount the API, its document at /api/v1/openapi.json and its reference page."""
    from ..extensions import csrf
    from ..webhooks.views import bp as webhooks_bp
    from . import docs_views
    from .admin_views import bp as admin_bp

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": (
                    "File and follow privacy requests from the institution's own systems. "
                    "Authenticate with the client's token: `Authorization: Bearer rp_…`."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "rp_…"}
                }
            },
        },
    )

    csrf.exempt(bp)  # bearer tokens, not cookies: no cross-site request can carry one
    api = PortalApi(app)
    api.register_blueprint(bp)
    app.extensions["rights_portal_api"] = api
    docs_views.init_app(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(webhooks_bp)

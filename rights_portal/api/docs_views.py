"""The API's reference page, rendered on the server from the generated OpenAPI document.

No script, no CDN: the same CSP and accessibility as every page of the portal.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, render_template

bp = Blueprint("api_docs", __name__, template_folder="templates")


def spec() -> dict[str, Any]:
    """The OpenAPI document as the API serves it."""
    document: dict[str, Any] = current_app.extensions["rights_portal_api"].spec.to_dict()
    return document


@bp.route("/api/v1/docs")
def reference() -> Any:
    """Every operation with its parameters, body, answers and scopes, from the document."""
    document = spec()
    operations = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append({"path": path, "method": method.upper(), **operation})
    return render_template(
        "api/reference.html",
        info=document.get("info", {}),
        operations=operations,
        schemas=document.get("components", {}).get("schemas", {}),
    )


def init_app(app: Flask) -> None:
    """Register the reference page."""
    app.register_blueprint(bp)

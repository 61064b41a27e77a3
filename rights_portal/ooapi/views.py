"""The admin's page of the OOAPI connector: its settings, last runs, errors, counts, "sync now".

The settings come from the environment (OOAPI_*; the secret never reaches a page); the page
shows them with the runs of :mod:`rights_portal.ooapi.sync` and queues a run on request.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..permissions import can_manage_ooapi
from . import sync
from .labels import ERROR_KIND_LABELS, STATUS_LABELS, TRIGGER_LABELS, describe

bp = Blueprint("ooapi", __name__, template_folder="templates")


def _admin_only() -> None:
    if not can_manage_ooapi(current_user):
        abort(403)


@bp.route("/staff/integrations/ooapi")
@login_required
def connector() -> ResponseReturnValue:
    """The connector's settings, its last runs with errors and counts, and the removed exams."""
    _admin_only()
    config = current_app.config
    return render_template(
        "ooapi/connector.html",
        configured=sync.settings_from(config) is not None,
        settings={
            "OOAPI_BASE_URL": config.get("OOAPI_BASE_URL") or "",
            "OOAPI_TOKEN_URL": config.get("OOAPI_TOKEN_URL") or "",
            "OOAPI_CLIENT_ID": config.get("OOAPI_CLIENT_ID") or "",
            "OOAPI_ORGANIZATION_ID": config.get("OOAPI_ORGANIZATION_ID") or "",
            "OOAPI_SYNC_MINUTES": config.get("OOAPI_SYNC_MINUTES"),
        },
        secret_set=bool(config.get("OOAPI_CLIENT_SECRET")),
        overview=sync.overview(),
        error_labels=ERROR_KIND_LABELS,
        status_labels=STATUS_LABELS,
        trigger_labels=TRIGGER_LABELS,
        describe=describe,
    )


@bp.route("/staff/integrations/ooapi/sync", methods=["POST"])
@login_required
def sync_now() -> ResponseReturnValue:
    """Queue one sync now (CSRF-checked like every form); its outcome appears on the page."""
    _admin_only()
    if sync.settings_from(current_app.config) is None:
        flash(_("Set OOAPI_BASE_URL and the other OOAPI settings first."), "error")
        return redirect(url_for("ooapi.connector"))
    sync.request_sync(current_user)
    flash(_("A sync has been queued; its outcome appears below when it has run."), "success")
    return redirect(url_for("ooapi.connector"))

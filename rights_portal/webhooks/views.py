"""The admin's webhook pages: endpoints, their secret (once), their delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import RuleViolation
from ..extensions import db
from ..permissions import can_manage_api_clients
from . import services
from .events import EVENT_LABELS
from .forms import EndpointForm
from .models import WebhookEndpoint

bp = Blueprint("webhooks", __name__, template_folder="templates")


def _admin_only() -> None:
    if not can_manage_api_clients(current_user):
        abort(403)


@bp.route("/staff/webhooks", methods=["GET", "POST"])
@login_required
def endpoints() -> ResponseReturnValue:
    """Register an endpoint; the list of endpoints with their state."""
    _admin_only()
    form = EndpointForm()
    status = 200
    if form.validate_on_submit():
        try:
            endpoint = services.register_endpoint(
                form.url.data or "",
                form.events.data or [],
                description=form.description.data or "",
                actor=current_user,
            )
        except RuleViolation as refused:
            form.url.errors = [str(refused.message)]
            status = 400
        else:
            return render_template("webhooks/secret.html", endpoint=endpoint), 201
    elif form.is_submitted():
        status = 400
    return (
        render_template(
            "webhooks/endpoints.html",
            form=form,
            endpoints=services.endpoints(),
            event_labels=EVENT_LABELS,
        ),
        status,
    )


@bp.route("/staff/webhooks/<int:endpoint_id>")
@login_required
def log(endpoint_id: int) -> ResponseReturnValue:
    """One endpoint's delivery log."""
    _admin_only()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) or abort(404)
    return render_template(
        "webhooks/log.html", endpoint=endpoint, deliveries=services.deliveries(endpoint)
    )


@bp.route("/staff/webhooks/<int:endpoint_id>/enable", methods=["POST"])
@login_required
def enable(endpoint_id: int) -> ResponseReturnValue:
    """Send to a disabled endpoint again."""
    _admin_only()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) or abort(404)
    services.enable(endpoint, actor=current_user)
    flash(_("The endpoint receives events again."), "success")
    return redirect(url_for("webhooks.log", endpoint_id=endpoint.id))

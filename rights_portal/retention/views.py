"""The DPO's retention page: upcoming deletions, everything held and why, legal holds (R25)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..permissions import RETENTION_ROLES, recording_for_hold_or_404, roles_required
from . import holds
from .forms import PlaceHoldForm, ReleaseHoldForm
from .models import LegalHold
from .plan import UPCOMING_DAYS, overview

bp = Blueprint("retention", __name__, template_folder="templates")


def _render(
    place_form: PlaceHoldForm | None = None,
    release_form: ReleaseHoldForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "retention/index.html",
            overview=overview(),
            days=UPCOMING_DAYS,
            place_form=place_form or PlaceHoldForm(),
            release_form=release_form or ReleaseHoldForm(),
            failed_hold_id=release_form.hold_id.data if release_form else None,
        ),
        status,
    )


@bp.route("")
@roles_required(*RETENTION_ROLES)
def index() -> ResponseReturnValue:
    """Deletions in the next 30 days, and every recording held with the reason."""
    return _render()


@bp.route("/holds", methods=["POST"])
@roles_required(*RETENTION_ROLES)
def place_hold() -> ResponseReturnValue:
    """Place a legal hold on a recording, with a reason."""
    form = PlaceHoldForm()
    if not form.validate_on_submit():
        return _render(place_form=form, status=400)
    recording = recording_for_hold_or_404(form.recording_id.data)
    holds.place_hold(recording, reason=form.reason.data or "", actor=current_user)
    flash(_("The recording is kept under a legal hold."), "success")
    return redirect(url_for("retention.index"))


@bp.route("/holds/release", methods=["POST"])
@roles_required(*RETENTION_ROLES)
def release_hold() -> ResponseReturnValue:
    """Release a legal hold, with a reason; the retention date applies again."""
    form = ReleaseHoldForm()
    if not form.validate_on_submit():
        return _render(release_form=form, status=400)
    try:
        hold = db.session.get(LegalHold, int(form.hold_id.data or 0))
    except ValueError:
        hold = None
    if hold is None:
        abort(404)
    holds.release_hold(hold, reason=form.reason.data or "", actor=current_user)
    flash(_("The legal hold has been released."), "success")
    return redirect(url_for("retention.index"))

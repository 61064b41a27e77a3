"""The DPO's view of the whole audit trail: filters, keyset pages and the CSV export (R24).

The export is built in the background (:mod:`rights_portal.exports`); this page asks for it.

Only the DPO may open it (:data:`rights_portal.permissions.AUDIT_TRAIL_ROLES`); opening a page
and exporting are themselves recorded on the trail, with the filters used.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..audit.services import record
from ..clock import today_local
from ..exports import views as export_views
from ..exports.forms import StartExportForm
from ..exports.models import ExportKind
from ..permissions import AUDIT_TRAIL_ROLES, roles_required
from .forms import TrailFilterForm
from .trail import conditions, known_actions, page

bp = Blueprint("audit", __name__, template_folder="templates")
PAGE_SIZE = 50


def _cursor() -> int | None:
    raw = request.args.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        abort(400)
    return int(raw)


def _invalid(form: TrailFilterForm) -> ResponseReturnValue:
    return (
        render_template(
            "audit/trail.html",
            form=form,
            rows=[],
            next_before=None,
            filters={},
            actions=known_actions(),
            is_first_page=True,
        ),
        400,
    )


@bp.route("/")
@roles_required(*AUDIT_TRAIL_ROLES)
def trail() -> ResponseReturnValue:
    """One page of the trail, newest first, with the filters applied."""
    form = TrailFilterForm(formdata=request.args)
    before = _cursor()
    if not form.validate():
        return _invalid(form)
    trail_filter = form.to_filter()
    rows, next_before = page(conditions(trail_filter), before, PAGE_SIZE)
    # Recorded after reading, so the chain lock is held only from the append to the commit that
    # ends the request.
    record(
        "audit.trail_viewed",
        actor=current_user,
        object_type="audit_trail",
        after={"filters": trail_filter.as_dict(), "before": before},
    )
    return render_template(
        "audit/trail.html",
        form=form,
        rows=rows,
        next_before=next_before,
        filters=trail_filter.as_dict(),
        actions=known_actions(),
        is_first_page=before is None,
        export_form=StartExportForm(),
    )


@bp.route("/export.csv", methods=["GET", "POST"])
@roles_required(*AUDIT_TRAIL_ROLES)
def export() -> ResponseReturnValue:
    """Ask for every event matching the filters as CSV: built in the background (issue 23).

    A POST (the trail page's button) queues the export and goes to the exports page; a GET
    (the old download address, a bookmark) shows the button. Asking is logged with the filters.
    """
    form = TrailFilterForm(formdata=request.args)
    if not form.validate():
        return _invalid(form)
    trail_filter = form.to_filter()
    if request.method == "GET":
        filters: dict[str, Any] = trail_filter.as_dict()
        return export_views.confirm(
            ExportKind.AUDIT_TRAIL,
            _("Export the audit trail as CSV"),
            url_for("audit.export", **filters),
        )
    return export_views.start(
        ExportKind.AUDIT_TRAIL,
        trail_filter.as_dict(),
        filename=f"audit-trail-{today_local().isoformat()}.csv",
        media_type="text/csv",
    )

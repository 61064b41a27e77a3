"""The DPO's view of the whole audit trail: filters, keyset pages and the CSV export (R24).

Only the DPO may open it (:data:`rights_portal.permissions.AUDIT_TRAIL_ROLES`); opening a page
and exporting are themselves recorded on the trail, with the filters used.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..audit.services import record
from ..clock import today_local
from ..permissions import AUDIT_TRAIL_ROLES, roles_required
from .forms import TrailFilterForm
from .trail import conditions, csv_chunks, known_actions, page

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
    )


@bp.route("/export.csv")
@roles_required(*AUDIT_TRAIL_ROLES)
def export() -> ResponseReturnValue:
    """Every event matching the filters, newest first as on the pages, streamed as CSV."""
    form = TrailFilterForm(formdata=request.args)
    if not form.validate():
        return _invalid(form)
    trail_filter = form.to_filter()
    record(
        "audit.trail_exported",
        actor=current_user,
        object_type="audit_trail",
        after={"filters": trail_filter.as_dict()},
    )
    clauses = conditions(trail_filter)
    filename = f"audit-trail-{today_local().isoformat()}.csv"
    return Response(
        stream_with_context(csv_chunks(clauses)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )

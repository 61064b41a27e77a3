"""The DPO's dashboard at /staff/dpo: figures, their CSV exports and the PDF report.

The report is built in the background (:mod:`rights_portal.exports`); this page asks for it.

Thin: reads the filters (period in Amsterdam dates, programme), asks
:mod:`rights_portal.dpo.figures` for the figures and renders them. Who may look is decided in
:mod:`rights_portal.permissions` (``DASHBOARD_ROLES``, ``REPORT_ROLES``). Bad filters re-render
the page with the errors and status 400.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..clock import today_local
from ..csvexport import csv_text
from ..exports import views as export_views
from ..exports.forms import StartExportForm
from ..exports.models import ExportKind
from ..permissions import DASHBOARD_ROLES, REPORT_ROLES, can_read_report, roles_required
from . import figures, queries
from .queries import Filters

bp = Blueprint("dpo", __name__, template_folder="templates")

#: The longest period the dashboard accepts (keeps one request's work bounded).
MAX_PERIOD_YEARS = 10


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    return (today.replace(day=1) - relativedelta(months=11)), today


def read_filters(args: Any) -> tuple[Filters | None, dict[str, str], dict[str, str]]:
    """Parse ``from``, ``to`` and ``programme``; return the filters, the raw values and errors."""
    today = today_local()
    default_start, default_end = default_period(today)
    raw = {key: (args.get(key) or "").strip() for key in ("from", "to", "programme")}
    errors: dict[str, str] = {}
    start, end, programme_id = default_start, default_end, None
    try:
        start = date.fromisoformat(raw["from"]) if raw["from"] else default_start
    except ValueError:
        errors["from"] = _("Give the start date as a date, for example 2026-01-31.")
    try:
        end = date.fromisoformat(raw["to"]) if raw["to"] else default_end
    except ValueError:
        errors["to"] = _("Give the end date as a date, for example 2026-12-31.")
    if raw["programme"]:
        known = {str(row.id) for row in queries.programmes()}
        if raw["programme"] in known:
            programme_id = int(raw["programme"])
        else:
            errors["programme"] = _("Choose a programme from the list.")
    if not errors and start > end:
        errors["to"] = _("The end date must not be before the start date.")
    if not errors and start < end - relativedelta(years=MAX_PERIOD_YEARS):
        errors["from"] = _("Choose a period of at most ten years.")
    raw["from"], raw["to"] = raw["from"] or start.isoformat(), raw["to"] or end.isoformat()
    if errors:
        return None, raw, errors
    return Filters(start=start, end=end, programme_id=programme_id, today=today), raw, {}


def _filter_args(raw: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in raw.items() if value}


@bp.route("")
@roles_required(*DASHBOARD_ROLES)
def dashboard() -> ResponseReturnValue:
    """Every figure with its chart, its table and its CSV link."""
    filters, raw, errors = read_filters(request.args)
    context = {
        "raw": raw,
        "errors": errors,
        "programmes": queries.programmes(),
        "filter_args": _filter_args(raw),
        "may_report": _may_report(),
        "export_form": StartExportForm(),
    }
    if filters is None:
        return render_template("dpo/dashboard.html", figures=[], **context), 400
    return render_template(
        "dpo/dashboard.html", figures=figures.build(filters), filters=filters, **context
    )


def _may_report() -> bool:
    return can_read_report(current_user)


@bp.route("/export/<key>.csv")
@roles_required(*DASHBOARD_ROLES)
def export_csv(key: str) -> ResponseReturnValue:
    """One figure's table as CSV, with the same filters (the overdue list complete)."""
    filters, _raw, _errors = read_filters(request.args)
    if filters is None:
        abort(400)
    figure = figures.build_one(key, filters, complete=True)
    if figure is None:
        abort(404)
    filename = f"{key}_{filters.start.isoformat()}_{filters.end.isoformat()}.csv"
    return Response(
        csv_text(figure.columns, figure.rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/report.pdf", methods=["GET", "POST"])
@roles_required(*REPORT_ROLES)
def report_pdf() -> ResponseReturnValue:
    """Ask for the accountability report for the period: built as PDF in the background.

    R24: the report carries the breach register's free text and handler names out of the
    portal; asking for it is logged with the period, and so is every download. A GET (the old
    address) shows the button that asks.
    """
    filters, raw, _errors = read_filters(request.args)
    if filters is None:
        abort(400)
    if request.method == "GET":
        args: dict[str, Any] = _filter_args(raw)
        return export_views.confirm(
            ExportKind.DPO_REPORT,
            _("Accountability report for this period (PDF)"),
            url_for("dpo.report_pdf", **args),
        )
    return export_views.start(
        ExportKind.DPO_REPORT,
        {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "programme_id": filters.programme_id,
        },
        filename=f"accountability_{filters.start.isoformat()}_{filters.end.isoformat()}.pdf",
        media_type="application/pdf",
    )

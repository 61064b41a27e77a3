"""Cross-cutting web pieces: error pages, template helpers and the health endpoints."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    has_request_context,
    jsonify,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from .accounts.labels import LABEL_GLOBALS
from .cases.display import badges_html, due_html, requester_due_html
from .cases.labels import (
    CASE_TYPE_INTROS,
    CASE_TYPE_LABELS,
    CHANNEL_LABELS,
    DUE_CHANGE_LABELS,
    EXTENSION_REASON_LABELS,
    MESSAGE_KIND_LABELS,
    OUTCOME_LABELS,
    STATUS_LABELS,
)
from .cases.redress import gdpr_redress, gdpr_redress_after_refusal, gdpr_redress_route
from .clock import to_local, today_local
from .delivery.status import DeliveryStatus, delivery_status
from .errors import RuleViolation
from .extensions import db
from .permissions import can_see_delivery_status
from .transactions import discard

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: database, broker and store reachable, worker and scheduler seen, outbox moving.

    503 when one is not, with the figures (last heartbeats, age of the oldest unsent e-mail).
    """
    from .health import readiness

    report, ready = readiness()
    return jsonify(status="ok" if ready else "unavailable", **report), 200 if ready else 503


def _error_page(code: int, message: object) -> ResponseReturnValue:
    """The error page; if rendering it fails too, a plain-text answer, never an empty 500.

    The page extends the layout, which reads the logged-in user: after a failed statement the
    session must be rolled back first, or that read fails in turn.
    """
    try:
        return render_template("errors/error.html", code=code, message=message), code
    except Exception:  # the handler of last resort must not fail itself
        log.exception("the error page %s could not be rendered", code)
        db.session.rollback()
        return Response(f"{code}: {message}\n", status=code, mimetype="text/plain")


def _seconds_to_wait() -> int:
    """How long the rate limit that refused this request still holds (0 when unknown)."""
    import math
    import time

    from .extensions import limiter

    try:
        current = limiter.current_limit
    except Exception:  # the limiter's storage may be what failed
        return 0
    if current is None:
        return 0
    return max(1, math.ceil(current.reset_at - time.time()))


def register_error_handlers(app: Flask) -> None:
    """Friendly error pages in the user's language; rule violations become 409 pages."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        message = _("The form has expired. Go back, reload the page and try again.")
        return _error_page(400, message)

    @app.errorhandler(RuleViolation)
    def rule_violation(error: RuleViolation) -> ResponseReturnValue:
        discard()
        return _error_page(409, str(error.message))

    @app.errorhandler(DataError)
    def data_error(error: DataError) -> ResponseReturnValue:
        # The database refused a value (a NUL byte the form checks missed, a number out of
        # range): the request's fault, answered 400 and logged so the missed check gets fixed.
        discard()
        log.warning("the database refused a value: %s", error.orig)
        if "NUL" in str(error.orig):
            from .forms import CONTROL_MESSAGE

            return _error_page(400, CONTROL_MESSAGE)
        return _error_page(400, _("The request could not be understood."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        # An aborted request keeps nothing it wrote; after a failed statement the rollback also
        # keeps the page from failing in turn.
        discard()
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("This page does not exist, or you do not have access to it."),
            405: _("This action is not possible here."),
            413: _("The upload is too large."),
            429: _("Too many attempts. Wait a minute and try again."),
        }
        message = messages.get(code, _("Something went wrong."))
        if code == 429:
            seconds = _seconds_to_wait()
            if seconds:
                message = _(
                    "Too many attempts. Wait %(seconds)d seconds and try again.", seconds=seconds
                )
                response = app.make_response(_error_page(code, message))
                response.headers["Retry-After"] = str(seconds)
                return response
        return _error_page(code, message)


class TranslatedLabels(Mapping[Any, str]):
    """A table of labels for templates, translated once per locale rather than at every use.

    The tables hold lazy strings, which Flask-Babel translates anew each time one is shown
    (~12 µs); the staff queue shows two a row. Translations are fixed for the life of the
    process, so a table per locale is safe to keep.
    """

    def __init__(self, labels: Mapping[Any, Any]) -> None:
        self._labels = labels
        self._by_locale: dict[str, dict[Any, str]] = {}

    def _table(self) -> dict[Any, str]:
        locale = str(get_locale() or "nl")
        table = self._by_locale.get(locale)
        if table is None:
            table = {key: str(label) for key, label in self._labels.items()}
            self._by_locale[locale] = table
        return table

    def __getitem__(self, key: Any) -> str:
        table = self._table()
        if key in table:
            return table[key]
        # A case type registered after the table was made (rights_portal.cases.registry).
        return str(self._labels[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


def delivery_alert(status: DeliveryStatus) -> str | None:
    """The staff banner's sentence while e-mail and reminders are not going out, else None."""
    if status.flowing:
        return None
    since = status.stalled_since
    if since is None:
        return _(
            "E-mail and reminders are not going out: no worker or scheduler is running. "
            "Tell the application administrator."
        )
    local = to_local(since)
    moment = (
        format_time(local, "HH:mm")
        if local.date() == today_local()
        else format_datetime(local, "d MMMM yyyy HH:mm")
    )
    return _(
        "E-mail and reminders have not gone out since %(moment)s. "
        "Tell the application administrator.",
        moment=moment,
    )


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share."""

    @app.template_filter("date")
    def date_filter(value: date | None, style: str = "medium") -> str:
        return "" if value is None else format_date(value, style)

    @app.template_filter("datetime")
    def datetime_filter(value: datetime | None, style: str = "medium") -> str:
        return "" if value is None else format_datetime(value, style)

    label_tables: dict[str, Mapping[Any, Any]] = {
        "case_type_labels": CASE_TYPE_LABELS,
        "case_type_intros": CASE_TYPE_INTROS,
        "status_labels": STATUS_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "extension_reason_labels": EXTENSION_REASON_LABELS,
        "message_kind_labels": MESSAGE_KIND_LABELS,
        "due_change_labels": DUE_CHANGE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        **LABEL_GLOBALS,
    }
    # Globals, not a context processor, so imported macros (which get no context) see them too.
    app.jinja_env.globals.update(
        due_html=due_html,
        requester_due_html=requester_due_html,
        gdpr_redress=gdpr_redress,
        gdpr_redress_after_refusal=gdpr_redress_after_refusal,
        gdpr_redress_route=gdpr_redress_route,
        badges_html=badges_html,
        **{name: TranslatedLabels(labels) for name, labels in label_tables.items()},
    )

    @app.context_processor
    def locale_() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or "nl")}

    @app.context_processor
    def delivery_alert_() -> dict[str, Any]:
        # Pages only (mails are rendered by tasks, without a request): staff are told when
        # e-mail and reminders have stopped going out, so nobody trusts a notice that never left.
        if not has_request_context() or request.blueprint == "web" or not (
            current_user.is_authenticated and can_see_delivery_status(current_user)
        ):
            return {}
        return {"delivery_alert": delivery_alert(delivery_status(app.config))}

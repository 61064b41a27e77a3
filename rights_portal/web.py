"""Cross-cutting web pieces: error pages, template helpers and the health endpoints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from .access.labels import FILE_KIND_LABELS
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
    STAFF_STATUS_LABELS,
    STATUS_LABELS,
)
from .cases.redress import gdpr_redress, gdpr_redress_after_refusal, gdpr_redress_route
from .clock import now_utc, to_local, today_local
from .delivery.status import DeliveryStatus, delivery_status
from .errors import RuleViolation
from .extensions import db
from .formatting import format_clock, format_day, format_file_size, format_moment
from .labels import (
    ROLE_LABELS,
    TranslatedLabels,
    audit_action_label,
    data_category_label,
    flag_kind_label,
    recording_offset,
)
from .permissions import can_see_delivery_status, home_endpoint
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


ERROR_HEADINGS = {
    400: _l("Something in the request was not right"),
    403: _l("No access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not possible here"),
    409: _l("This step is not possible now"),
    413: _l("The file is too large"),
    429: _l("Too many attempts for now"),
}


def _way_forward() -> tuple[str, str]:
    """Where the person can go from an error page: their own start page, or the login page."""
    try:
        if current_user.is_authenticated:
            endpoint = home_endpoint(current_user)
            words = {
                "staff.queue": _("Back to the case queue"),
                "staff.admin_home": _("Back to administration"),
            }
            return url_for(endpoint), words.get(endpoint, _("Back to my requests"))
    except Exception:  # the error may be that the session or database is unreachable
        log.warning("the error page could not read the logged-in user", exc_info=True)
    return url_for("accounts.login"), _("Go to the login page")


def _error_page(code: int, message: object, *, retry_after: int = 0) -> ResponseReturnValue:
    """The error page; if rendering it fails too, a plain-text answer, never an empty 500.

    A heading in words (never "Error 429"), what happened, and a way forward: the person's own
    start page, going back, and for 429 when to try again. The page extends the layout, which
    reads the logged-in user: after a failed statement the session must be rolled back first, or
    that read fails in turn.
    """
    try:
        heading = ERROR_HEADINGS.get(code, _l("Something went wrong"))
        forward_url, forward_label = _way_forward()
        return render_template(
            "errors/error.html",
            code=code,
            heading=heading,
            message=message,
            retry_after=retry_after,
            retry_at=now_utc() + timedelta(seconds=retry_after),
            forward_url=forward_url,
            forward_label=forward_label,
        ), code
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
                response = app.make_response(_error_page(code, message, retry_after=seconds))
                response.headers["Retry-After"] = str(seconds)
                return response
        return _error_page(code, message)


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
    moment = (
        format_clock(since) if to_local(since).date() == today_local() else format_moment(since)
    )
    return _(
        "E-mail and reminders have not gone out since %(moment)s. "
        "Tell the application administrator.",
        moment=moment,
    )


def flag_summary(flag: Any, *, with_offset: bool = True) -> Markup:
    """An automated flag in words: what was flagged, when in the recording, the vendor's text.

    The vendor's own description is quoted as theirs (it is in whatever language they wrote).
    """
    text = Markup("<strong>{}</strong>").format(flag_kind_label(flag.code))
    if with_offset and flag.offset_seconds is not None:
        text += Markup(" ({})").format(
            _("at %(time)s in the recording", time=recording_offset(flag.offset_seconds))
        )
    if flag.description:
        # Quoted as written (data-verbatim: the page checks leave the vendor's words alone).
        text += Markup(" — {}: <q data-verbatim>{}</q>").format(
            _("the software's description"), flag.description
        )
    return text


LANGUAGE_COOKIE = "language"
# Set beside the language cookie when a visitor who is not logged in picks a language (on the
# login page, say); gone when the browser closes. Only such a fresh choice is carried into the
# account at login, so a cookie left on a shared computer never changes someone's account.
CHOSEN_BEFORE_LOGIN_COOKIE = "language_chosen"
SUPPORTED_LOCALES = ("nl", "en")


def register_language_cookie(app: Flask) -> None:
    """Keep the person's language in a cookie, before login as well as after.

    Before login the cookie decides the language (``create_app``'s locale selector asks it
    before the browser's Accept-Language). At login a language chosen just before is stored
    on the account; afterwards the cookie follows the account, so the next login page is in
    the language the person uses, not the browser's.
    """
    from flask_login import user_logged_in

    @user_logged_in.connect_via(app)
    def adopt_choice_made_before_login(sender: Flask, user: Any, **extra: Any) -> None:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if request.cookies.get(CHOSEN_BEFORE_LOGIN_COOKIE) and chosen in SUPPORTED_LOCALES:
            from .accounts.services import change_locale

            change_locale(user, chosen)  # flushed; the login's own commit stores it

    @app.after_request
    def keep_language_cookie(response: Response) -> Response:
        if request.endpoint in (None, "static") or request.blueprint == "web":
            return response
        try:
            return _keep_language_cookie(response)
        except Exception:  # the session store may be what failed: never break the answer
            log.warning("the language cookie could not be brought up to date", exc_info=True)
            return response

    def _keep_language_cookie(response: Response) -> Response:
        secure = bool(app.config["SESSION_COOKIE_SECURE"])
        if request.endpoint == "accounts.set_language":
            chosen = request.form.get("language")
            if chosen in SUPPORTED_LOCALES and not current_user.is_authenticated:
                response.set_cookie(
                    CHOSEN_BEFORE_LOGIN_COOKIE, "1", httponly=True, samesite="Lax", secure=secure
                )
            return response
        if not current_user.is_authenticated:
            return response
        locale = current_user.locale
        if request.cookies.get(CHOSEN_BEFORE_LOGIN_COOKIE):
            response.delete_cookie(CHOSEN_BEFORE_LOGIN_COOKIE)
        if locale in SUPPORTED_LOCALES and request.cookies.get(LANGUAGE_COOKIE) != locale:
            response.set_cookie(
                LANGUAGE_COOKIE,
                locale,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=secure,
            )
        return response


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share."""

    # One date format and one time format per language (formatting.py): the style argument
    # older templates pass ("long", "short", a pattern) is accepted and deliberately ignored.
    @app.template_filter("date")
    def date_filter(value: date | None, style: str = "") -> str:
        return format_day(value)

    @app.template_filter("datetime")
    def datetime_filter(value: datetime | None, style: str = "") -> str:
        return format_moment(value)

    @app.template_filter("time")
    def time_filter(value: datetime | None, style: str = "") -> str:
        return format_clock(value)

    # Jinja's own filesizeformat says "Bytes" and uses an English decimal point.
    app.add_template_filter(format_file_size, "filesizeformat")
    app.add_template_filter(audit_action_label, "audit_action")
    app.add_template_filter(flag_kind_label, "flag_kind")
    app.add_template_filter(data_category_label, "data_category")
    app.add_template_filter(lambda code: (code, audit_action_label(code)), "audit_action_pair")
    app.add_template_filter(recording_offset, "offset")

    label_tables: dict[str, Mapping[Any, Any]] = {
        "case_type_labels": CASE_TYPE_LABELS,
        "case_type_intros": CASE_TYPE_INTROS,
        "status_labels": STATUS_LABELS,
        "staff_status_labels": STAFF_STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "file_kind_labels": FILE_KIND_LABELS,
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
        flag_summary=flag_summary,
        **{name: TranslatedLabels(labels) for name, labels in label_tables.items()},
    )

    @app.context_processor
    def locale_() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or "nl")}

    @app.context_processor
    def delivery_alert_() -> dict[str, Any]:
        # Pages only (mails are rendered by tasks, without a request): staff are told when
        # e-mail and reminders have stopped going out, so nobody trusts a notice that never left.
        if (
            not has_request_context()
            or request.blueprint == "web"
            or not (current_user.is_authenticated and can_see_delivery_status(current_user))
        ):
            return {}
        return {"delivery_alert": delivery_alert(delivery_status(app.config))}

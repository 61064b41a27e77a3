"""Password reset, the TOTP second factor, the account security page (routes on the accounts bp)."""

from __future__ import annotations

import time

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..audit.services import record
from ..extensions import db, limiter
from ..permissions import STAFF_AREA_ROLES, may_end_session, roles_required
from .forms import (
    EndSessionsForm,
    ForgotPasswordForm,
    LoginCodeForm,
    RecoveryCodesForm,
    ResetPasswordForm,
    TotpCodeForm,
    TotpDisableForm,
)
from .models import User, UserSession
from .security import (
    disable_totp,
    enrol_totp,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
    recovery_codes_left,
    request_password_reset,
    reset_password,
    use_recovery_code,
    user_from_reset_token,
    verify_totp,
)
from .sessions import (
    current_session,
    describe_device,
    end_all_sessions,
    end_one_session,
    open_sessions,
    start_session,
)
from .views import _login_key, bp, home_for, safe_next

PENDING_USER = "totp_pending_user"
PENDING_AT = "totp_pending_at"
PENDING_NEXT = "totp_pending_next"
ENROL_SECRET = "totp_enrol_secret"  # noqa: S105  (a session key, not a secret)
# The password step is good for this long while the second factor is asked.
PENDING_SECONDS = 300


def _limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_login_key)
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data or "")
        flash(
            _(
                "If an account uses this e-mail address, we have sent it a link to choose a new"
                " password. The link works once and for a limited time."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def reset_password_page(token: str) -> ResponseReturnValue:
    """Choose a new password through the e-mailed link (signed, expiring, single use)."""
    state, user = user_from_reset_token(token)
    if user is None:
        message = (
            _("This link has expired. Ask for a new one.")
            if state == "expired"
            else _("This link is not valid, or has been used already. Ask for a new one.")
        )
        code = 410 if state == "expired" else 404
        return render_template("errors/error.html", code=code, message=message), code
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset_password(user, form.password.data or "")
        flash(_("Your password has been changed. Log in with your new password."), "success")
        return redirect(url_for("accounts.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/reset_password.html", form=form), status


def begin_second_factor(user: User, next_url: str | None) -> ResponseReturnValue:
    """After a correct password for a user with TOTP: remember who, and ask for the code."""
    session.clear()
    session[PENDING_USER] = user.id
    session[PENDING_AT] = time.time()
    session[PENDING_NEXT] = next_url or ""
    return redirect(url_for("accounts.login_code"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def login_code() -> ResponseReturnValue:
    """The second login step for staff with TOTP enrolled."""
    pending = session.get(PENDING_USER)
    started = session.get(PENDING_AT)
    fresh = isinstance(started, int | float) and time.time() - started < PENDING_SECONDS
    user = db.session.get(User, pending) if isinstance(pending, int) and fresh else None
    if user is None or not user.is_active or not user.totp_secret:
        session.pop(PENDING_USER, None)
        return redirect(url_for("accounts.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        by_totp = verify_totp(user, code)
        # A recovery code stands in for a lost phone; it is tried only when the TOTP code failed.
        recovery_left = None if by_totp else use_recovery_code(user, code)
        if by_totp or recovery_left is not None:
            next_url = safe_next(session.get(PENDING_NEXT))
            start_session(user)
            after: dict[str, bool] = {"second_factor": True}
            if recovery_left is not None:
                after["recovery_code"] = True
            record("user.login", actor=user, object_type="user", object_id=user.id, after=after)
            if recovery_left is not None:
                flash(
                    _(
                        "You logged in with a recovery code, which now stops working."
                        " Recovery codes left: %(count)d. Make a new set on the second factor"
                        " page when you run low.",
                        count=recovery_left,
                    ),
                    "info",
                )
            return redirect(next_url or home_for(user))
        record(
            "user.login_failed",
            actor=None,
            object_type="user",
            object_id=user.id,
            after={"second_factor": True},
        )
        form.code.errors = [_("This code is not correct. Enter the current code.")]
        return render_template("accounts/login_code.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/login_code.html", form=form), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@roles_required(*STAFF_AREA_ROLES)
def two_factor() -> ResponseReturnValue:
    """Staff turn on the second factor: scan or type the secret, confirm with a code."""
    user = current_user._get_current_object()
    form = TotpCodeForm()
    secret = session.get(ENROL_SECRET)
    if not isinstance(secret, str) or user.totp_secret:
        secret = new_totp_secret()
        session[ENROL_SECRET] = secret
    if not user.totp_secret and form.validate_on_submit():
        if enrol_totp(user, secret, form.code.data or ""):
            session.pop(ENROL_SECRET, None)
            codes = new_recovery_codes(user)
            flash(_("The second factor is on. Login now also asks for a code."), "success")
            return _show_recovery_codes(codes)
        form.code.errors = [_("This code is not correct. Enter the current code.")]
    return _render_two_factor(user, secret, form=form, status=400 if form.is_submitted() else 200)


def _render_two_factor(
    user: User,
    secret: str | None,
    *,
    form: TotpCodeForm | None = None,
    disable_form: TotpDisableForm | None = None,
    recovery_form: RecoveryCodesForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    # Two forms of the page have a code field: prefixes keep their ids and names apart.
    return (
        render_template(
            "accounts/two_factor.html",
            form=form or TotpCodeForm(),
            disable_form=disable_form or TotpDisableForm(prefix="disable"),
            recovery_form=recovery_form or RecoveryCodesForm(prefix="recovery"),
            recovery_left=recovery_codes_left(user) if user.totp_secret else 0,
            enrolled=bool(user.totp_secret),
            secret=secret,
            uri=provisioning_uri(user, secret) if secret else "",
        ),
        status,
    )


def _confirmed_by_code(user: User, form: TotpCodeForm) -> bool:
    """Whether ``form`` is valid and carries a current, unused code of the user's app.

    Turning the factor off or replacing the recovery codes asks for one: a session alone (a
    borrowed or stolen one) must not be enough to weaken the second factor.
    """
    if not (form.validate_on_submit() and user.totp_secret):
        return False
    if verify_totp(user, form.code.data or ""):
        return True
    form.code.errors = [_("This code is not correct. Enter the current code.")]
    return False


@bp.route("/account/two-factor/disable", methods=["POST"])
@roles_required(*STAFF_AREA_ROLES)
@limiter.limit(_limit, methods=["POST"])
def disable_two_factor() -> ResponseReturnValue:
    """Staff turn the second factor off again, confirmed with a current code."""
    form = TotpDisableForm(prefix="disable")
    user = current_user._get_current_object()
    if not user.totp_secret:
        return redirect(url_for("accounts.two_factor"))
    if not _confirmed_by_code(user, form):
        return _render_two_factor(user, None, disable_form=form, status=400)
    disable_totp(user)
    flash(_("The second factor is off."), "info")
    return redirect(url_for("accounts.two_factor"))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@roles_required(*STAFF_AREA_ROLES)
@limiter.limit(_limit, methods=["POST"])
def regenerate_recovery_codes() -> ResponseReturnValue:
    """Staff with the second factor make a new set of recovery codes; the old set stops working."""
    form = RecoveryCodesForm(prefix="recovery")
    user = current_user._get_current_object()
    if not user.totp_secret:
        return redirect(url_for("accounts.two_factor"))
    if not _confirmed_by_code(user, form):
        return _render_two_factor(user, None, recovery_form=form, status=400)
    codes = new_recovery_codes(user)
    return _show_recovery_codes(codes)


def _show_recovery_codes(codes: list[str]) -> ResponseReturnValue:
    # Shown in this response only: not carried through the session cookie, not cached.
    response = make_response(render_template("accounts/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/security")
@login_required
def account_security() -> ResponseReturnValue:
    """The user's own security page: open sessions, log out everywhere; staff: second factor."""
    user = current_user._get_current_object()
    this = current_session()
    sessions = [
        (row, describe_device(row.user_agent), this is not None and row.id == this.id)
        for row in open_sessions(user)
    ]
    return render_template("accounts/security.html", end_form=EndSessionsForm(), sessions=sessions)


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_one_session_page(session_id: int) -> ResponseReturnValue:
    """End one of the person's own open sessions; ending this browser's one logs out here."""
    form = EndSessionsForm()
    user = current_user._get_current_object()
    row = db.session.get(UserSession, session_id)
    if row is None or not may_end_session(user, row):
        abort(404)  # another person's session: as if it did not exist
    if not form.validate_on_submit():
        return redirect(url_for("accounts.account_security"))
    this = current_session()
    is_this = this is not None and this.id == row.id
    end_one_session(user, row)
    if is_this:
        logout_user()
        flash(_("You have been logged out."), "info")
        return redirect(url_for("accounts.login"))
    flash(_("That session has been ended."), "success")
    return redirect(url_for("accounts.account_security"))


@bp.route("/account/sessions/end", methods=["POST"])
@login_required
def end_sessions() -> ResponseReturnValue:
    """End every session of the account; this browser's session is re-issued and stays."""
    form = EndSessionsForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        end_all_sessions(user)
        # The session keeps its login and last-seen times (the timeouts still count from the
        # login); only the generation it carries in "_user_id" is renewed.
        login_user(user)
        flash(
            _("You have been logged out everywhere else. This browser stays logged in."),
            "success",
        )
    return redirect(url_for("accounts.account_security"))

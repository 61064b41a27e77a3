"""The pages of the institutional login: start, the provider's answer, and the refusals.

Thin: the protocol is Authlib's (``client``), the decision is :func:`services.sign_in`. A
cancelled or failed login gets a page in the person's language that says what to do next, and
is on the audit trail; the provider being unreachable is a 503, never a 500.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from joserfc.errors import JoseError

from ...audit.services import record
from ...errors import RuleViolation
from ...extensions import db
from ...permissions import can_confirm_student_age, can_link_staff_accounts
from ..models import User
from ..sessions import start_session
from ..views import home_for, safe_next
from . import client as provider
from .claims import read_claims
from .forms import ConfirmAgeForm, LinkStaffForm
from .models import InstitutionIdentity
from .services import (
    Refusal,
    awaiting_age_confirmation,
    confirm_age,
    link_staff_account,
    linked_identities,
    sign_in,
    staff_users,
)

log = logging.getLogger(__name__)
bp = Blueprint("institution", __name__, template_folder="templates")

NEXT_KEY = "institution_next"
STEP_UP_KEY = "institution_step_up"

REFUSALS: dict[Refusal, Any] = {
    Refusal.INCOMPLETE: _l(
        "Your institution did not tell us who you are. Try again, or contact the service desk."
    ),
    Refusal.UNKNOWN_ORGANIZATION: _l(
        "This portal is for the students and staff of one institution, and your institution "
        "account is not one of them. Parents and guardians log in with e-mail and password."
    ),
    Refusal.NO_ACCOUNT: _l(
        "Your institution account is not linked to an account here. Staff: ask the portal's "
        "administrator to link your account. Former students: write to the privacy desk."
    ),
    Refusal.ACCOUNT_CONFLICT: _l(
        "Your institution account matches an account here that is linked to someone else, or "
        "your e-mail address is in use already. The privacy desk can sort this out."
    ),
    Refusal.AFFILIATION_ENDED: _l(
        "According to your institution you are no longer a student or employee, so you can no "
        "longer log in here this way. You keep your privacy rights: write to the privacy desk."
    ),
    Refusal.DEACTIVATED: _l("This account has been deactivated."),
    Refusal.ASSURANCE_TOO_LOW: _l(
        "Staff log in with a second factor (SURFsecureID). Your login did not include one. "
        "Register a second factor with your institution and try again."
    ),
}


def _refused(message: Any, status: int) -> ResponseReturnValue:
    return render_template("institution/refused.html", message=message), status


def _redirect_uri() -> str:
    return url_for("institution.callback", _external=True)


def _authorize(**extra: str) -> ResponseReturnValue:
    return provider.client().authorize_redirect(
        _redirect_uri(), nonce=secrets.token_urlsafe(24), **extra
    )


@bp.route("/login/institution")
def start() -> ResponseReturnValue:
    """Send the person to the institution's login (code flow with PKCE, state and nonce)."""
    if not provider.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    session[NEXT_KEY] = safe_next(request.args.get("next")) or ""
    session.pop(STEP_UP_KEY, None)
    try:
        return _authorize()
    except requests.RequestException:
        log.warning("the institution's login could not be reached", exc_info=True)
        return _unavailable()


def _unavailable() -> ResponseReturnValue:
    return _refused(
        _l("Your institution's login cannot be reached right now. Try again in a few minutes."),
        503,
    )


def _failed(reason: str, message: Any, status: int) -> ResponseReturnValue:
    record(
        "user.login_failed",
        actor=None,
        object_type="user",
        after={"method": "institution", "reason": reason},
    )
    return _refused(message, status)


@bp.route("/login/institution/callback")
def callback() -> ResponseReturnValue:
    """The provider's answer: check it, decide, and start the session or say why not."""
    if not provider.enabled():
        abort(404)
    if request.args.get("error"):
        cancelled = request.args["error"] == "access_denied"
        return _failed(
            "cancelled" if cancelled else "provider_error",
            _l("You cancelled the login. You can try again whenever you like.")
            if cancelled
            else _l("Your institution could not log you in. Try again, or ask the service desk."),
            401,
        )
    client = provider.client()
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if client.load_server_metadata().get("userinfo_endpoint"):
            userinfo = client.userinfo(token=token)
            if userinfo.get("sub") != claims.get("sub"):
                raise AuthlibBaseError(description="userinfo is about another subject")
            claims = {**userinfo, **claims}
    except requests.RequestException:
        log.warning("the institution's login could not be reached", exc_info=True)
        return _unavailable()
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as error:
        # A forged or replayed answer, a tampered ID token, a lost session: nothing is trusted.
        log.warning("institutional login refused: %s", error)
        return _failed(
            "invalid_response",
            _l("The answer from your institution's login could not be verified. Log in again."),
            401,
        )
    outcome = sign_in(
        read_claims(claims), provider.policy(), stepped_up=bool(session.pop(STEP_UP_KEY, False))
    )
    if outcome.needs_step_up:
        session[STEP_UP_KEY] = True
        return _authorize(acr_values=provider.policy().staff_acr)
    if outcome.user is None:
        return _refused(REFUSALS[outcome.refusal or Refusal.NO_ACCOUNT], 403)
    user = outcome.user
    next_url = session.pop(NEXT_KEY, "") or None
    if user.is_staff and not provider.policy().staff_acr and user.totp_secret:
        from ..security_views import begin_second_factor

        return begin_second_factor(user, next_url)  # the portal's own second factor
    start_session(user)
    session[provider.LOGIN_METHOD_KEY] = "institution"
    return redirect(next_url or home_for(user))


# --- staff pages: link staff accounts (admins), confirm ages (R20) -------------------------------


def _allowed_or_403(allowed: bool) -> None:
    if not current_user.is_authenticated:
        abort(401)
    if not allowed:
        abort(403)


@bp.route("/staff/institution/links", methods=["GET", "POST"])
@login_required
def staff_links() -> ResponseReturnValue:
    """Admins link staff accounts to their institution login; the role stays the admin's choice."""
    _allowed_or_403(can_link_staff_accounts(current_user))
    form = LinkStaffForm()
    staff = staff_users()
    form.user_id.choices = [(user.id, f"{user.full_name} <{user.email}>") for user in staff]
    status = 200
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        if user is None:
            abort(400)
        try:
            link_staff_account(
                user,
                form.principal_name.data or "",
                issuer=provider.policy().issuer,
                actor=current_user,
            )
        except RuleViolation as refused:
            form.principal_name.errors = [str(refused.message)]
            status = 400
        else:
            flash(_("The account has been linked."), "success")
            return redirect(url_for("institution.staff_links"))
    elif form.is_submitted():
        status = 400
    identities = {identity.user_id: identity for identity in linked_identities()}
    return (
        render_template(
            "institution/staff_links.html", form=form, staff=staff, identities=identities
        ),
        status,
    )


@bp.route("/staff/institution/ages", methods=["GET", "POST"])
@login_required
def pending_ages() -> ResponseReturnValue:
    """R20: students the login created without a date of birth, for staff to confirm."""
    _allowed_or_403(can_confirm_student_age(current_user))
    form = ConfirmAgeForm()
    if form.validate_on_submit():
        identity = db.session.get(InstitutionIdentity, int(form.identity_id.data or 0))
        if identity is None or not identity.awaits_age_confirmation:
            abort(404)
        confirm_age(identity, actor=current_user, date_of_birth=form.date_of_birth.data)
        flash(_("The age of %(name)s has been confirmed.", name=identity.user.full_name), "success")
        return redirect(url_for("institution.pending_ages"))
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "institution/pending_ages.html", form=form, identities=awaiting_age_confirmation()
        ),
        status,
    )


def init_app(app: Flask) -> None:
    """Register the provider (when configured), the pages and the login page's switch."""
    provider.init_app(app)
    app.register_blueprint(bp)

    @app.context_processor
    def institution_login() -> dict[str, Any]:
        return {"institution_login": provider.EXTENSION in app.extensions}

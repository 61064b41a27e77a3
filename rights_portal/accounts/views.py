"""Login, logout, the language switch, and the public guardian pages (registration, invitation)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ..audit.services import record
from ..extensions import db, limiter, login_manager
from ..permissions import asks_second_factor, home_endpoint
from . import throttle
from .forms import AcceptInvitationForm, GuardianRegistrationForm, LanguageForm, LoginForm
from .institution import client as institution_client
from .models import User
from .registration import (
    InvitationState,
    accept_invitation,
    invitation_from_token,
    register_guardian,
    verify_email,
)
from .services import authenticate, change_locale, normalise_email
from .sessions import current_session, end_session, start_session

bp = Blueprint("accounts", __name__, template_folder="templates")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: a server-side session, and an "id:generation" that matches now.

    Logout deletes the server-side session (:func:`.security.end_session`), so a copy of the
    cookie opens nothing afterwards. A password reset, a deactivation or "log out everywhere"
    bumps the generation as well, so every session issued before it is refused even before its
    row is gone. A deactivated account is refused too.
    """
    id_part, _, generation = user_id.partition(":")
    if not (id_part.isdigit() and generation.isdigit()):
        return None
    server_side = current_session()  # logged out, ended elsewhere or timed out: None
    if server_side is None or server_side.user_id != int(id_part):
        return None
    user = db.session.get(User, int(id_part))  # loaded with the session: no second query
    if user is None or not user.is_active or user.session_generation != int(generation):
        return None
    if not user.email_verified:
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this site as a redirect target (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def home_for(user: User) -> str:
    """Where a user lands after login."""
    return url_for(home_endpoint(user))


def _login_key() -> str:
    return normalise_email(request.form.get("email", ""))


def _wait_page(form: LoginForm, wait: throttle.Wait) -> ResponseReturnValue:
    if wait.locked:
        minutes = max(1, (wait.seconds + 59) // 60)
        message = _(
            "After many failed attempts, logging in to this account is locked for %(minutes)d"
            " more minutes. If the account is yours: the e-mail we sent it has a link that lifts"
            " the lock at once.",
            minutes=minutes,
        )
    else:
        message = _(
            "Too many failed attempts for this account. Wait %(seconds)d seconds and try again.",
            seconds=wait.seconds,
        )
    flash(message, "error")
    response = make_response(render_template("accounts/login.html", form=form), 429)
    response.headers["Retry-After"] = str(wait.seconds)
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], methods=["POST"])
def login() -> ResponseReturnValue:
    """Show and handle the login form; unknown e-mail and wrong password get one answer.

    Failed attempts slow down and then lock the address they were for (``throttle``), whether
    or not it has an account; the owner can lift the lock by e-mail.
    """
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        key = throttle.attempt_key(
            form.email.data or "", request.cookies.get(throttle.TRUST_COOKIE)
        )
        wait = throttle.waiting(key)
        if wait is not None:
            return _wait_page(form, wait)
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            throttle.record_failure(key, form.email.data or "")
        else:
            throttle.clear(key)
        if user is not None and not user.email_verified:
            # The password was right, so telling this does not reveal the account to a prober.
            record(
                "user.login_failed",
                actor=None,
                object_type="user",
                object_id=user.id,
                after={"email_verified": False},
            )
            flash(
                _(
                    "Confirm your e-mail address first, with the link we sent you. No e-mail?"
                    " Register again with the same address to get a new link."
                ),
                "error",
            )
            return render_template("accounts/login.html", form=form), 401
        if user is not None:
            if asks_second_factor(user):
                from .security_views import begin_second_factor

                return begin_second_factor(user, safe_next(form.next.data))
            start_session(user)
            record("user.login", actor=user, object_type="user", object_id=user.id)
            return redirect(safe_next(form.next.data) or home_for(user))
        record(
            "user.login_failed",
            actor=None,
            object_type="user",
            after={"email": normalise_email(form.email.data or "")},
        )
        flash(_("The e-mail address or password is not correct."), "error")
        return render_template("accounts/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    """Log out (POST only, so a link elsewhere cannot log someone out)."""
    record("user.logout", actor=current_user, object_type="user", object_id=current_user.id)
    through_institution = session.get(institution_client.LOGIN_METHOD_KEY) == "institution"
    end_session()
    logout_user()
    flash(_("You have been logged out."), "info")
    login_page = url_for("accounts.login", _external=through_institution)
    # Logged in through the institution: end the provider's session too (RP-initiated logout).
    provider_logout = institution_client.logout_url(login_page) if through_institution else None
    return redirect(provider_logout or login_page)


@bp.route("/language", methods=["POST"])
def set_language() -> ResponseReturnValue:
    """Switch language: stored on the account, and in a cookie for visitors."""
    form = LanguageForm()
    target = safe_next(request.form.get("next")) or url_for("index")
    if not form.validate_on_submit():
        return redirect(target)
    language = form.language.data or "nl"
    if current_user.is_authenticated:
        change_locale(current_user, language)
    response = redirect(target)
    response.set_cookie(
        "language",
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _current_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nl")


@bp.route("/login/unlock/<token>")
def unlock_login(token: str) -> ResponseReturnValue:
    """The owner's e-mailed link: the lock goes, and this browser counts as the owner's."""
    key = throttle.unlock(token)
    if key is None:
        message = _("This link is not valid or has expired. Wait until the lock ends.")
        return render_template("errors/error.html", code=404, message=message), 404
    flash(_("The lock is lifted. You can log in now."), "success")
    response = redirect(url_for("accounts.login"))
    response.set_cookie(
        throttle.TRUST_COOKIE,
        throttle.trust_cookie_value(key),
        max_age=throttle.TRUST_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def register() -> ResponseReturnValue:
    """A parent or guardian creates an account (students and staff get theirs elsewhere).

    The answer is "check your e-mail" for every address, so nobody learns here whether an
    address has an account; the e-mail says what happens next (``register_guardian``).
    """
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = GuardianRegistrationForm()
    if form.validate_on_submit():
        register_guardian(
            email=form.email.data or "",
            password=form.password.data or "",
            full_name=form.full_name.data or "",
            locale=_current_locale(),
        )
        flash(
            _(
                "Check your e-mail. We have sent a message to %(email)s with the next step. No"
                " message? Look in your spam folder, or register again.",
                email=normalise_email(form.email.data or ""),
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/register/verify/<token>")
def verify_email_page(token: str) -> ResponseReturnValue:
    """The e-mailed link of a registration: the address is verified, the account usable."""
    state, _user = verify_email(token)
    if state is InvitationState.VALID:
        flash(_("Your e-mail address is confirmed. You can log in now."), "success")
        return redirect(url_for("accounts.login"))
    if state is InvitationState.USED:
        flash(_("Your e-mail address was confirmed already. Log in."), "info")
        return redirect(url_for("accounts.login"))
    message = (
        _("This link has expired. Register again to get a new one.")
        if state is InvitationState.EXPIRED
        else _("This link is not valid, or a newer one has been sent. Use the newest e-mail.")
    )
    code = 410 if state is InvitationState.EXPIRED else 404
    return render_template("errors/error.html", code=code, message=message), code


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def invitation(token: str) -> ResponseReturnValue:
    """An invited parent sets a password through the e-mailed link (signed, expiring, once)."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    state, found = invitation_from_token(token)
    if state is not InvitationState.VALID or found is None:
        messages = {
            InvitationState.EXPIRED: _(
                "This invitation link has expired. Ask the privacy office for a new invitation."
            ),
            InvitationState.USED: _("This invitation link has been used already. Log in instead."),
        }
        message = messages.get(state, _("This invitation link is not valid."))
        code = 404 if state is InvitationState.INVALID else 410
        return render_template("errors/error.html", code=code, message=message), code
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.full_name.data = found.full_name
    if form.validate_on_submit():
        user = accept_invitation(
            found, full_name=form.full_name.data or "", password=form.password.data or ""
        )
        start_session(user)
        flash(_("Your account is ready. Now ask to be linked to your child."), "success")
        return redirect(url_for("portal.request_link"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/invitation.html", form=form, invitation=found), status

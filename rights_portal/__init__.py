"""Rights Portal: privacy-rights cases around online proctoring, for Dutch schools and universities.

:func:`create_app` only wires things up: configuration, extensions, blueprints, CLI commands and
Celery. It runs no queries, no migrations and opens no network connection.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from celery import Celery, Task
from flask import Flask, flash, g, has_request_context, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, logout_user

from .config import DEFAULT_INSTANCE, build_config
from .extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; ``overrides`` wins over environment and defaults."""
    instance_path = Path(os.environ.get("RIGHTS_PORTAL_INSTANCE", DEFAULT_INSTANCE))
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping(build_config(instance_path, dict(overrides or {})))

    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        # Only as many X-Forwarded-* entries as there are proxies we run are believed; the
        # rest could be typed by anyone (and would let one client pose as many addresses).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if app.config["LOG_FORMAT"] == "json":
        from .health import configure_logging

        configure_logging()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)
    celery_init_app(app)

    _register_models()
    _register_blueprints(app)
    _register_cli(app)
    _register_request_hooks(app)
    _register_domain_wiring(app)
    from .web import register_error_handlers, register_language_cookie, register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)
    register_language_cookie(app)
    return app


def celery_init_app(app: Flask) -> Celery:
    """Bind Celery to the app so every task runs inside an application context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    from workers import schedule, tasks  # noqa: F401  (registers the tasks and the beat schedule)

    celery_app.conf.beat_schedule = schedule.beat_schedule(app.config)
    return celery_app


def _select_locale() -> str:
    supported = ["nl", "en"]
    if not has_request_context():  # CLI and tasks render in an explicitly forced locale
        return "nl"
    if current_user and current_user.is_authenticated and current_user.locale in supported:
        return str(current_user.locale)
    cookie = request.cookies.get("language")
    if cookie in supported:
        return str(cookie)
    return request.accept_languages.best_match(supported) or "nl"


def _register_models() -> None:
    # Importing the models registers their tables on the shared metadata (Alembic reads it).
    from .access import models as _access  # noqa: F401
    from .accounts import models as _accounts  # noqa: F401
    from .accounts.institution import models as _institution  # noqa: F401
    from .api import models as _api  # noqa: F401
    from .audit import models as _audit  # noqa: F401
    from .breaches import models as _breaches  # noqa: F401
    from .cases import models as _cases  # noqa: F401
    from .delivery import models as _delivery  # noqa: F401
    from .dpo import models as _dpo  # noqa: F401  (indexes for the dashboard)
    from .examboard import models as _examboard  # noqa: F401
    from .exams import models as _exams  # noqa: F401
    from .exports import models as _exports  # noqa: F401
    from .intake import models as _intake  # noqa: F401
    from .media import models as _media  # noqa: F401
    from .notifications import models as _notifications  # noqa: F401
    from .ooapi import models as _ooapi  # noqa: F401
    from .register import models as _register  # noqa: F401
    from .retention import models as _retention  # noqa: F401
    from .vendors import models as _vendors  # noqa: F401
    from .webhooks import events as _webhook_events  # noqa: F401  (turns audit events into deliveries)
    from .webhooks import models as _webhooks  # noqa: F401


def _register_domain_wiring(app: Flask) -> None:
    # The audit core knows no user: it is told here who receives its checks (the DPO, R24).
    from .accounts.directory import dpo_recipients
    from .audit.anchors import register_alert_recipients

    register_alert_recipients(app, dpo_recipients)
    # The purge deletes the letters kept with registered requests, without knowing intake (R25).
    from .intake.services import purge_due_documents
    from .retention.runner import register_document_purger

    register_document_purger(app, purge_due_documents)
    # Access asks media about automatic redactions without importing it (media builds on access).
    from .access import redaction
    from .media.services import record_for_decision, unreviewed

    redaction.register(app, record_for_decision=record_for_decision, unreviewed=unreviewed)
    # A verified identity on the case page checks a requester without an account too (R22).
    from .identity.services import register_verified_hook
    from .intake.requesters import take_over_case_identity_check

    register_verified_hook(app, take_over_case_identity_check)
    # The vendors' panel on an access request's staff page (vendors builds on access).
    from .cases.registry import add_staff_panel
    from .vendors import panel as vendors_panel

    add_staff_panel("access", vendors_panel.TEMPLATE, vendors_panel.build)


def _register_blueprints(app: Flask) -> None:
    from .access import package_views as _access_package_views  # noqa: F401  (on the access bp)
    from .access.views import bp as access_bp
    from .accounts import security_views as _security_views  # noqa: F401  (on the accounts bp)
    from .accounts.institution import views as institution_views
    from .accounts.views import bp as accounts_bp
    from .api import mount_views as api_mount
    from .audit_pages.views import bp as audit_bp
    from .breaches.views import bp as breaches_bp
    from .dpo.views import bp as dpo_bp
    from .examboard.views import bp as examboard_bp
    from .exports.views import bp as exports_bp
    from .intake.views import bp as intake_bp
    from .media.views import bp as media_bp
    from .notifications.blueprint import bp as notifications_bp
    from .ooapi.views import bp as ooapi_bp
    from .portal import guardians as _portal_guardians  # noqa: F401  (routes on the portal bp)
    from .portal import identity as _portal_identity  # noqa: F401
    from .portal import privacy as _portal_privacy  # noqa: F401  (the exam privacy notice)
    from .portal.views import bp as portal_bp
    from .register.views import bp as register_bp
    from .retention.views import bp as retention_bp
    from .staff import board as _staff_board  # noqa: F401
    from .staff import guardians as _staff_guardians  # noqa: F401  (routes on the staff bp)
    from .staff import identity as _staff_identity  # noqa: F401
    from .staff.views import bp as staff_bp
    from .vendors.views import bp as vendors_bp
    from .web import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(accounts_bp)
    institution_views.init_app(app)  # /login/institution, when OIDC_ISSUER is set
    api_mount.init_app(app)  # /api/v1 with its OpenAPI document
    app.register_blueprint(notifications_bp)
    app.register_blueprint(portal_bp, url_prefix="/my")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(examboard_bp, url_prefix="/staff")
    app.register_blueprint(register_bp, url_prefix="/staff")
    app.register_blueprint(retention_bp, url_prefix="/staff/retention")
    app.register_blueprint(audit_bp, url_prefix="/staff/audit")
    app.register_blueprint(access_bp)  # its routes live under /staff/… and /my/…
    app.register_blueprint(media_bp)  # under /staff/cases/…/access/, beside the workspace
    app.register_blueprint(dpo_bp, url_prefix="/staff/dpo")
    app.register_blueprint(breaches_bp, url_prefix="/staff/breaches")
    app.register_blueprint(intake_bp, url_prefix="/staff/intake")
    app.register_blueprint(ooapi_bp)  # /staff/integrations/ooapi
    app.register_blueprint(vendors_bp)  # /staff/integrations/vendors, case buttons, Zoom's webhook
    app.register_blueprint(exports_bp, url_prefix="/staff/exports")

    @app.route("/")
    def index() -> ResponseReturnValue:
        from .accounts.views import home_for

        if current_user.is_authenticated:
            return redirect(home_for(current_user))
        return redirect(url_for("accounts.login"))


def _register_cli(app: Flask) -> None:
    from .access.cli import recordings_cli
    from .accounts.cli import users_cli
    from .accounts.institution.cli import institution_cli
    from .audit.cli import audit_cli
    from .cases.cli import deadlines_cli
    from .demo.cli import demo_cli
    from .intake.cli import intake_cli
    from .media.cli import media_cli
    from .ooapi.cli import ooapi_cli
    from .register.cli import register_cli
    from .retention.cli import retention_cli

    for group in (
        users_cli,
        institution_cli,
        audit_cli,
        deadlines_cli,
        demo_cli,
        intake_cli,
        register_cli,
        recordings_cli,
        retention_cli,
        media_cli,
        ooapi_cli,
    ):
        app.cli.add_command(group)


# Pages that hand out files (or links to them): their responses get Referrer-Policy no-referrer.
DOWNLOAD_ENDPOINTS = frozenset(
    {
        "access.download",
        "access.staff_download",
        "access.open_file",
        "access.open_redacted",
        "access.package_page",
        "access.latest_package",
        "exports.download",
    }
)


def _logged_in() -> bool:
    # g._login_user is Flask-Login's cache: a page that logged the user out still counts.
    user = g.get("_login_user")
    return bool(user is not None and user.is_authenticated) or "_user_id" in session


def _register_request_hooks(app: Flask) -> None:
    from . import transactions

    transactions.init_app(app)

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        ok = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else secrets.token_hex(8)

    @app.before_request
    def refuse_control_characters_in_the_query() -> ResponseReturnValue | None:
        # Forms check their own fields (rights_portal/forms.py); query parameters that no form
        # reads (queue and dashboard filters, cursors) are checked here, before any view.
        from .forms import CONTROL_MESSAGE, query_has_control_characters

        if query_has_control_characters(request.args.items(multi=True)):
            from flask import render_template

            return render_template("errors/error.html", code=400, message=CONTROL_MESSAGE), 400
        return None

    @app.before_request
    def end_expired_session() -> None:
        # The session must exist on the server (logout deletes it) and be within its idle and
        # absolute timeouts, counted from the server's times, not from the cookie.
        from .accounts.sessions import SessionState, check_session

        if request.endpoint == "static" or "_user_id" not in session:
            return
        state = check_session()
        if state in (SessionState.ENDED, SessionState.EXPIRED):
            logout_user()
            session.clear()
            flash(gettext("Your session has ended. Log in again."), "info")

    # Logging out of an institutional login is a form whose answer redirects to the provider's
    # end-session page; CSP's form-action governs that redirect, so it names the provider.
    issuer = urlsplit(app.config.get("OIDC_ISSUER") or "")
    form_action = "'self'" + (f" {issuer.scheme}://{issuer.netloc}" if issuer.netloc else "")
    # Recordings played from signed S3 addresses (RECORDINGS_S3_PRESIGNED_SECONDS): the video
    # element follows the redirect to the bucket, which CSP must allow as a media source.
    bucket = urlsplit(app.config.get("RECORDINGS_S3_ENDPOINT_URL") or "")
    media_src = ""
    if app.config.get("RECORDINGS_S3_BUCKET") and app.config.get("RECORDINGS_S3_PRESIGNED_SECONDS"):
        origin = f"{bucket.scheme}://{bucket.netloc}" if bucket.netloc else "https://*.amazonaws.com"
        media_src = f"media-src 'self' {origin}; "

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"{media_src}"
            f"frame-ancestors 'none'; form-action {form_action}; base-uri 'none'; "
            "object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # A download's address carries a case reference or package id: never pass it on.
        download = "attachment" in response.headers.get("Content-Disposition", "") or (
            request.endpoint in DOWNLOAD_ENDPOINTS
        )
        response.headers.setdefault("Referrer-Policy", "no-referrer" if download else "same-origin")
        # A logged-in page or a download holds case data: no browser or proxy cache may keep
        # it (the back button on a shared computer after logout). Overrides send_file's
        # "no-cache", which still stores the response.
        cache = response.headers.get("Cache-Control", "")
        if request.endpoint != "static" and "no-store" not in cache and (download or _logged_in()):
            response.headers["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

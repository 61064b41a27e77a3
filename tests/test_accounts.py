"""Accounts over HTTP and CLI: login, logout, cookies, languages, the users command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from rights_portal import create_app
from rights_portal.accounts.models import Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def student(app_ctx):
    user = UserFactory(email="sanne@uni.example", locale="nl")
    db.session.commit()
    return user


def test_unknown_email_and_wrong_password_get_the_same_answer(app, student):
    client = app.test_client()
    unknown = post_form(
        client, "/login", {"email": "nobody@uni.example", "password": "whatever-123"}
    )
    wrong = post_form(
        client, "/login", {"email": "sanne@uni.example", "password": "wrong-password"}
    )
    assert unknown.status_code == wrong.status_code == 401
    text = "Het e-mailadres of het wachtwoord klopt niet."
    assert text in unknown.get_data(as_text=True)
    assert text in wrong.get_data(as_text=True)
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.login_failed")
    ).all()
    assert len(failed) == 2


def test_login_sets_a_httponly_samesite_session_cookie_and_logout_ends_it(app, student):
    client = app.test_client()
    response = login(client, "sanne@uni.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/my/cases").status_code == 200
    assert client.get("/logout").status_code == 405  # a link cannot log you out
    assert post_form(client, "/logout", {}, token_from="/my/cases").status_code == 302
    assert client.get("/my/cases").status_code == 302


def test_session_cookie_is_secure_outside_development(monkeypatch, instance_dir):
    monkeypatch.setenv("RIGHTS_PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("VENDOR_CREDENTIALS_KEY", "y" * 43 + "=")
    # Flask-Limiter keeps its on/off switch on the shared extension: keep it off as in the suite.
    quiet = {"RATELIMIT_ENABLED": False}
    app = create_app(quiet)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(quiet)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_never_redirects_off_site(app, student, target):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "email": "sanne@uni.example",
            "password": "correct-horse-battery",
            "next": target,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/my/cases"


def test_login_follows_a_local_next(app, student):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "email": "sanne@uni.example",
            "password": "correct-horse-battery",
            "next": "/my/cases/new/access",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/my/cases/new/access"


def test_pages_are_dutch_by_default_and_the_choice_is_kept_on_the_account(app, student):
    client = app.test_client()
    assert 'lang="nl"' in client.get("/login").get_data(as_text=True)
    english = app.test_client()
    page = english.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert 'lang="en"' in page and "Log in" in page
    login(client, "sanne@uni.example")
    assert "Mijn verzoeken" in client.get("/my/cases").get_data(as_text=True)
    post_form(client, "/language", {"language": "en", "next": "/my/cases"}, token_from="/my/cases")
    assert db.session.get(User, student.id).locale == "en"
    assert "My requests" in client.get("/my/cases").get_data(as_text=True)


def test_users_create_command_creates_a_hashed_account(app, app_ctx):
    result = CliRunner().invoke(
        app.cli,
        [
            "users",
            "create",
            "--email",
            "New.Handler@Uni.example",
            "--name",
            "New Handler",
            "--role",
            "case_handler",
            "--password",
            "a-long-password",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.email == "new.handler@uni.example")).one()
    assert user.role is Role.CASE_HANDLER
    assert user.password_hash.startswith("$argon2id$")
    client = app.test_client()
    login(client, "new.handler@uni.example", "a-long-password")
    again = CliRunner().invoke(
        app.cli,
        [
            "users",
            "create",
            "--email",
            "new.handler@uni.example",
            "--name",
            "X",
            "--role",
            "student",
            "--password",
            "a-long-password",
        ],
    )
    assert again.exit_code != 0
    assert "exists already" in again.output


def test_users_create_refuses_a_short_password(app, app_ctx):
    result = CliRunner().invoke(
        app.cli,
        [
            "users",
            "create",
            "--email",
            "x@uni.example",
            "--name",
            "X",
            "--role",
            "dpo",
            "--password",
            "short",
        ],
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert db.session.scalars(select(User)).all() == []

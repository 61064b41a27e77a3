"""Authentication under attack: reset links, session lifetimes, TOTP for staff, rate limits.

- a password reset link is signed, expires, and works once; the answer is the same whether the
  address has an account; both requests and the reset are on the trail (R24);
- login starts a new session (nothing from before login survives: no session fixation);
- a password reset, "log out everywhere" and deactivating the account end every session issued
  before (a session generation on the account; "log out everywhere" keeps its own session);
- a session ends after SESSION_IDLE_MINUTES without requests and after PERMANENT_SESSION_LIFETIME
  in any case, checked on the server;
- staff may turn on a TOTP second factor; login then asks for a current, unused code;
- enrolment shows ten recovery codes once (stored hashed); each logs in once instead of a TOTP
  code, and a new set replaces the old one;
- the login rate limit triggers per account and per IP, with its counters in Redis.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
import redis
import time_machine
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import select

from rights_portal import create_app
from rights_portal.accounts.models import (
    NO_PASSWORD,
    LoginThrottle,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from rights_portal.accounts.security import recovery_code_hash, reset_token
from rights_portal.audit.models import AuditEvent
from rights_portal.extensions import db, limiter
from tests import conftest
from tests.conftest import IsolatedClient, csrf_token, login, post_form
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
LINK_RE = re.compile(r"/password/reset/(\S+)")


def actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def reset_link(smtp_sink, address: str) -> str:
    mails = smtp_sink.to(address)
    assert len(mails) == 1
    body = mails[0].get_payload(decode=True).decode()
    match = LINK_RE.search(body)
    assert match, body
    return f"/password/reset/{match.group(1)}"


# --- Password reset ---------------------------------------------------------------------------


def test_a_reset_link_is_mailed_only_to_a_known_address_and_the_answer_is_the_same(
    app, app_ctx, smtp_sink
):
    UserFactory(email="known@uni.example")
    db.session.commit()
    answers = []
    for address in ("known@uni.example", "nobody@uni.example"):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the answer's wording is asserted
        response = post_form(client, "/password/forgot", {"email": address})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"], "we have sent" in page))
    assert answers[0] == answers[1] == (302, "/login", True)
    assert len(smtp_sink.to("known@uni.example")) == 1
    assert smtp_sink.to("nobody@uni.example") == []
    requested = actions("user.password_reset_requested")
    assert sorted(e.after["known"] for e in requested) == [False, True]


def test_an_institution_account_is_told_to_log_in_there_and_gets_no_password(
    app, app_ctx, smtp_sink
):
    """A reset link would let an SSO account around the institution's login (and its end)."""
    user = UserFactory(email="sso@uni.example", password_hash=NO_PASSWORD, locale="en")
    db.session.commit()
    client = app.test_client()
    response = post_form(client, "/password/forgot", {"email": "sso@uni.example"})
    assert response.status_code == 302
    (mail,) = smtp_sink.to("sso@uni.example")
    body = mail.get_payload(decode=True).decode()
    assert "institution account" in body and "/password/reset/" not in body
    assert body.rstrip().count("/login") == 1
    (requested,) = actions("user.password_reset_requested")
    assert requested.after == {"known": True, "institution_login": True}

    # Even a link made for the account by hand sets no password.
    link = f"/password/reset/{reset_token(user)}"
    assert client.get(link).status_code == 404
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == NO_PASSWORD


def test_a_reset_link_works_once_and_the_old_password_stops_working(app, app_ctx, smtp_sink):
    UserFactory(email="forgetful@uni.example")
    db.session.commit()
    client = app.test_client()
    post_form(client, "/password/forgot", {"email": "forgetful@uni.example"})
    link = reset_link(smtp_sink, "forgetful@uni.example")

    assert client.get(link).status_code == 200
    new = {"password": "a brand new sentence", "confirm": "a brand new sentence"}
    response = post_form(client, link, new)
    assert response.status_code == 302
    assert len(actions("user.password_reset")) == 1

    assert client.get(link).status_code == 404  # used: the password hash changed
    assert post_form(client, link, new, token_from="/login").status_code == 404
    old = post_form(
        app.test_client(),
        "/login",
        {"email": "forgetful@uni.example", "password": "correct-horse-battery"},
    )
    assert old.status_code == 401
    login(app.test_client(), "forgetful@uni.example", "a brand new sentence")


def test_a_reset_link_expires_and_a_forged_one_is_refused(app, app_ctx, smtp_sink):
    UserFactory(email="late@uni.example")
    db.session.commit()
    with time_machine.travel(START, tick=False) as traveller:
        post_form(app.test_client(), "/password/forgot", {"email": "late@uni.example"})
        link = reset_link(smtp_sink, "late@uni.example")
        traveller.shift(timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"] + 1))
        assert app.test_client().get(link).status_code == 410
    assert app.test_client().get(link[:-3] + "abc").status_code == 404
    assert app.test_client().get("/password/reset/<script>").status_code == 404


def test_a_short_password_is_refused_on_the_reset_form(app, app_ctx, smtp_sink):
    UserFactory(email="short@uni.example")
    db.session.commit()
    client = app.test_client()
    post_form(client, "/password/forgot", {"email": "short@uni.example"})
    link = reset_link(smtp_sink, "short@uni.example")
    response = post_form(client, link, {"password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert actions("user.password_reset") == []


# --- Sessions ---------------------------------------------------------------------------------


def test_login_starts_a_new_session_without_anything_planted_before(app, app_ctx):
    UserFactory(email="fixated@uni.example")
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "yes"
        planted["_user_id"] = "999999"
        planted["sid"] = "chosen-by-the-attacker"
    login(client, "fixated@uni.example")
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
        assert session["_user_id"] != "999999"
        assert session["sid"] != "chosen-by-the-attacker"
    [row] = db.session.scalars(select(UserSession)).all()
    assert row.token_hash != hashlib.sha256(b"chosen-by-the-attacker").hexdigest()


def test_a_session_ends_after_the_idle_timeout(app, app_ctx):
    UserFactory(email="idle@uni.example")
    db.session.commit()
    idle = app.config["SESSION_IDLE_MINUTES"]
    with time_machine.travel(START, tick=False) as traveller:
        client = app.test_client()
        login(client, "idle@uni.example")
        traveller.shift(timedelta(minutes=idle - 1))
        assert client.get("/my/cases").status_code == 200  # activity keeps it alive
        traveller.shift(timedelta(minutes=idle - 1))
        assert client.get("/my/cases").status_code == 200
        traveller.shift(timedelta(minutes=idle + 1))
        response = client.get("/my/cases")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        assert client.get("/my/cases").status_code == 302  # it stays ended


def test_a_session_ends_after_the_absolute_timeout_even_when_active(app, app_ctx):
    UserFactory(email="busy@uni.example")
    db.session.commit()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    seconds = lifetime.total_seconds() if hasattr(lifetime, "total_seconds") else lifetime
    with time_machine.travel(START, tick=False) as traveller:
        client = app.test_client()
        login(client, "busy@uni.example")
        for _ in range(int(seconds // 1200)):
            traveller.shift(timedelta(minutes=20))
            assert client.get("/my/cases").status_code == 200
        traveller.shift(timedelta(minutes=20))
        assert client.get("/my/cases").status_code == 302


# --- Ending every session (password reset, log out everywhere, deactivation) ---------------


def logged_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_password_reset_ends_the_sessions_open_elsewhere(app, app_ctx, smtp_sink):
    UserFactory(email="stolen@uni.example")
    db.session.commit()
    a, b = app.test_client(), app.test_client()
    login(a, "stolen@uni.example")  # say, a session left open on a library computer
    login(b, "stolen@uni.example")
    assert a.get("/my/cases").status_code == 200

    post_form(b, "/password/forgot", {"email": "stolen@uni.example"}, token_from="/my/cases")
    link = reset_link(smtp_sink, "stolen@uni.example")
    new = {"password": "a brand new sentence", "confirm": "a brand new sentence"}
    assert post_form(b, link, new).status_code == 302
    assert [e.after for e in actions("user.password_reset")] == [{"sessions_ended": True}]

    assert logged_out(a.get("/my/cases"))
    assert logged_out(a.get("/my/cases"))  # and it stays so
    assert logged_out(b.get("/my/cases"))  # the resetting browser logs in again too
    login(b, "stolen@uni.example", "a brand new sentence")
    assert b.get("/my/cases").status_code == 200
    assert logged_out(a.get("/my/cases"))


def test_log_out_everywhere_ends_other_sessions_and_keeps_this_one(app, app_ctx):
    UserFactory(email="careful@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    a, b = app.test_client(), app.test_client()
    login(a, "careful@uni.example")
    login(b, "careful@uni.example")
    assert a.get("/staff/queue").status_code == 200

    response = post_form(b, "/account/sessions/end", {}, token_from="/account/security")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security"
    assert len(actions("user.sessions_ended")) == 1

    assert logged_out(a.get("/staff/queue"))
    assert b.get("/staff/queue").status_code == 200  # re-issued with the new generation
    assert b.get("/account/security").status_code == 200
    login(a, "careful@uni.example")  # a fresh login works again
    assert a.get("/staff/queue").status_code == 200
    assert b.get("/staff/queue").status_code == 200


def test_log_out_everywhere_needs_the_csrf_token(app, app_ctx):
    UserFactory(email="csrf@uni.example")
    db.session.commit()
    a, b = app.test_client(), app.test_client()
    login(a, "csrf@uni.example")
    login(b, "csrf@uni.example")
    assert b.post("/account/sessions/end", data={}).status_code == 400
    assert actions("user.sessions_ended") == []
    assert a.get("/my/cases").status_code == 200


def test_deactivating_an_account_ends_its_sessions(app, app_ctx):
    user = UserFactory(email="leaver@uni.example")
    db.session.commit()
    client = app.test_client()
    login(client, "leaver@uni.example")
    assert client.get("/my/cases").status_code == 200
    user.is_active_account = False
    db.session.commit()
    assert user.session_generation == 1
    assert logged_out(client.get("/my/cases"))
    user.is_active_account = True  # reactivated: the old session still does not come back
    db.session.commit()
    assert logged_out(client.get("/my/cases"))


def test_a_session_from_before_the_generation_is_refused(app, app_ctx):
    user = UserFactory(email="legacy@uni.example")
    db.session.commit()
    client = app.test_client()
    login(client, "legacy@uni.example")
    with client.session_transaction() as session:
        assert session["_user_id"] == f"{user.id}:0"
        session["_user_id"] = str(user.id)  # the plain id of a session issued before this change
    assert logged_out(client.get("/my/cases"))


# --- TOTP -------------------------------------------------------------------------------------


RECOVERY_RE = re.compile(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>")


def enrol(app: Flask) -> tuple[str, object, list[str]]:
    """A case handler turns TOTP on; the answer shows the recovery codes, once."""
    UserFactory(email="handler2fa@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    client = app.test_client()
    login(client, "handler2fa@uni.example")
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    assert f"secret={secret}" in page  # the otpauth URI
    response = post_form(
        client, "/account/two-factor", {"code": pyotp.TOTP(secret).now()}, token_from="/my/cases"
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.headers["Cache-Control"] == "no-store"
    codes = RECOVERY_RE.findall(response.get_data(as_text=True))
    return secret, client, codes


def next_code(secret: str) -> str:
    """A code of the next 30-second step: the enrolment code's own step is spent (no replay)."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30)


def enrolled_handler(app: Flask) -> tuple[str, object]:
    secret, client, _ = enrol(app)
    return secret, client


def test_staff_enrol_a_second_factor_and_login_then_asks_for_a_code(app, app_ctx):
    with time_machine.travel(START, tick=False) as traveller:
        secret, _ = enrolled_handler(app)
        user = db.session.scalars(select(User).where(User.email == "handler2fa@uni.example")).one()
        assert user.totp_secret == secret
        assert len(actions("user.totp_enrolled")) == 1
        traveller.shift(timedelta(seconds=60))

        client = app.test_client()
        response = post_form(
            client,
            "/login",
            {"email": "handler2fa@uni.example", "password": "correct-horse-battery"},
        )
        assert response.headers["Location"] == "/login/code"
        assert client.get("/staff/queue").status_code == 302  # not logged in yet
        wrong = post_form(client, "/login/code", {"code": "000000"})
        assert wrong.status_code == 401
        assert [e.after for e in actions("user.login_failed")] == [{"second_factor": True}]
        code = pyotp.TOTP(secret).now()
        right = post_form(client, "/login/code", {"code": code})
        assert right.status_code == 302
        assert client.get("/staff/queue").status_code == 200
        assert any(e.after == {"second_factor": True} for e in actions("user.login"))

        # The same code cannot be used again (an overheard code is worthless).
        other = app.test_client()
        post_form(
            other,
            "/login",
            {"email": "handler2fa@uni.example", "password": "correct-horse-battery"},
        )
        assert post_form(other, "/login/code", {"code": code}).status_code == 401


def test_staff_can_turn_the_second_factor_off_with_a_current_code(app, app_ctx):
    secret, client = enrolled_handler(app)
    # A session alone is not enough: no code, or a wrong one, leaves the factor on.
    for code in ("", "000000"):
        refused = post_form(
            client, "/account/two-factor/disable", {"disable-code": code}, token_from="/my/cases"
        )
        assert refused.status_code == 400
        assert 'id="disable-code"' in refused.get_data(as_text=True)
    assert actions("user.totp_disabled") == []
    assert (
        post_form(
            app.test_client(),
            "/login",
            {"email": "handler2fa@uni.example", "password": "correct-horse-battery"},
        ).headers["Location"]
        == "/login/code"
    )

    response = post_form(
        client,
        "/account/two-factor/disable",
        {"disable-code": next_code(secret)},
        token_from="/my/cases",
    )
    assert response.status_code == 302
    assert len(actions("user.totp_disabled")) == 1
    login(app.test_client(), "handler2fa@uni.example")  # password alone again


def test_the_code_step_without_a_password_step_goes_back_to_login(app, app_ctx):
    client = app.test_client()
    assert client.get("/login/code").headers["Location"] == "/login"
    token = csrf_token(client)
    response = client.post("/login/code", data={"code": "123456", "csrf_token": token})
    assert response.headers["Location"] == "/login"


def test_students_cannot_enrol_a_second_factor(app, app_ctx):
    UserFactory(email="student2fa@uni.example")
    db.session.commit()
    client = app.test_client()
    login(client, "student2fa@uni.example")
    assert client.get("/account/two-factor").status_code == 403


# --- Rate limits ------------------------------------------------------------------------------


@pytest.fixture
def limited_portal(app, database_url, smtp_sink, redis_url) -> Iterator[Any]:
    """Build portals with the limiter on, counting in Redis (the shared limiter is restored)."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        config = conftest.test_config(database_url, smtp_sink)
        config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, **settings)
        portal = create_app(config)
        portal.test_client_class = IsolatedClient
        redis.Redis.from_url(redis_url).flushdb()
        made.append(portal)
        return portal

    yield make
    for portal in made:
        with portal.app_context():
            db.session.remove()
            db.engine.dispose()
    limiter.enabled = False
    app.extensions["celery"].set_default()


def attempt(portal: Flask, email: str, ip: str, forwarded: str | None = None) -> int:
    client = portal.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post(
        "/login",
        data={"email": email, "password": "wrong-password!", "csrf_token": token},
        headers=headers,
    )
    return int(response.status_code)


def test_a_campus_behind_one_address_is_not_locked_out_by_its_own_logins(limited_portal):
    portal = limited_portal()  # the default LOGIN_ADDRESS_RATE_LIMIT (300 per minute)
    with portal.app_context():
        codes = [attempt(portal, f"student{n}@uni.example", "145.0.0.1") for n in range(60)]
    assert set(codes) == {401}  # 60 logins a minute from one address: none refused


def test_the_address_limit_tells_how_long_to_wait_and_counts_in_redis(limited_portal, redis_url):
    portal = limited_portal(LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
    with portal.app_context():
        codes = [attempt(portal, f"guess{n}@uni.example", "10.9.9.9") for n in range(4)]
        assert codes == [401, 401, 401, 429]
        client = portal.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
        token = csrf_token(client)
        refused = client.post(
            "/login",
            data={"email": "x@uni.example", "csrf_token": token},
            headers={"Accept-Language": "en"},
        )
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert "Wait" in refused.get_data(as_text=True) and "seconds" in refused.get_data(as_text=True)
    assert redis.Redis.from_url(redis_url).keys("LIMITS*"), "the counters are not in Redis"


@pytest.mark.parametrize(("hops", "expected"), [(0, [401, 401, 401, 429]), (1, [401] * 4)])
def test_x_forwarded_for_counts_only_with_configured_proxy_hops(limited_portal, hops, expected):
    portal = limited_portal(LOGIN_ADDRESS_RATE_LIMIT="3 per minute", TRUSTED_PROXY_HOPS=hops)
    with portal.app_context():
        # Four clients behind one proxy (10.0.0.1), each with its own forwarded address.
        codes = [
            attempt(portal, f"user{n}@uni.example", "10.0.0.1", forwarded=f"203.0.113.{n}")
            for n in range(4)
        ]
    assert codes == expected


# --- Per account: growing delays and a lock the owner lifts (issue 20, finding 4) ------------


def try_password(client, email: str, password: str = "wrong-password!"):
    return post_form(
        client,
        "/login",
        {"email": email, "password": password},
        token_from="/login",
        headers={"Accept-Language": "en"},
    )


def fail_until_locked(client, email: str, traveller) -> list[tuple[int, str]]:
    """Fail as fast as allowed until the lock: each answer's status and what it says."""
    seen: list[tuple[int, str]] = []
    for _ in range(40):
        response = try_password(client, email)
        text = response.get_data(as_text=True)
        seen.append((response.status_code, text))
        if response.status_code == 429:
            if "locked" in text:
                return seen
            traveller.shift(timedelta(seconds=int(response.headers["Retry-After"])))
    raise AssertionError("never locked")


def test_wrong_passwords_slow_down_then_lock_and_the_owner_lifts_the_lock_by_email(
    app, app_ctx, smtp_sink
):
    UserFactory(email="target@uni.example", role=Role.CASE_HANDLER, full_name="Target")
    db.session.commit()
    with time_machine.travel(START, tick=False) as traveller:
        attacker = app.test_client()
        seen = fail_until_locked(attacker, "target@uni.example", traveller)
        statuses = [status for status, _text in seen]
        failures = statuses.count(401)
        assert failures == app.config["LOGIN_LOCK_AFTER"] == 10
        assert statuses[:3] == [401, 401, 401]  # the first three: no delay
        waits = [
            int(re.search(r"Wait (\d+) seconds", text).group(1))
            for status, text in seen
            if status == 429 and "Wait" in text
        ]
        assert waits == [1, 2, 4, 8, 16, 32, 60]  # growing, then capped
        assert "locked for 15 more minutes" in seen[-1][1]
        # The right password does not get through the lock either, from any browser...
        owner = app.test_client()
        assert try_password(owner, "target@uni.example", conftest_password()).status_code == 429
        # ...until the owner opens the e-mailed link in that browser.
        [mail] = smtp_sink.to("target@uni.example")
        assert "locked" in mail["Subject"]
        link = re.search(r"/login/unlock/(\S+)", mail.get_payload(decode=True).decode())
        opened = owner.get(f"/login/unlock/{link.group(1)}")
        assert opened.headers["Location"] == "/login"
        assert try_password(owner, "target@uni.example", conftest_password()).status_code == 302
        assert {"user.login_locked", "user.login_unlocked"} <= {e.action for e in all_events()}
        # The stranger goes on failing: the owner's browser counts apart and stays usable.
        owner.post("/logout", data={"csrf_token": csrf_token(owner, "/staff/queue")})
        traveller.shift(timedelta(minutes=16))
        fail_until_locked(attacker, "target@uni.example", traveller)
        assert try_password(owner, "target@uni.example", conftest_password()).status_code == 302


def test_an_unknown_address_is_throttled_alike_and_no_mail_is_sent(app, app_ctx, smtp_sink):
    UserFactory(email="known@uni.example")
    db.session.commit()
    with time_machine.travel(START, tick=False) as traveller:
        known = [s for s, _ in fail_until_locked(app.test_client(), "known@uni.example", traveller)]
        traveller.shift(timedelta(minutes=30))
        unknown = [
            s for s, _ in fail_until_locked(app.test_client(), "nobody@uni.example", traveller)
        ]
    assert known == unknown
    assert smtp_sink.to("nobody@uni.example") == []


def test_failures_are_forgotten_after_the_window_and_a_success_clears_them(app, app_ctx):
    UserFactory(email="forgetful2@uni.example")
    db.session.commit()
    client = app.test_client()
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(3):
            assert try_password(client, "forgetful2@uni.example").status_code == 401
        assert try_password(client, "forgetful2@uni.example").status_code == 429
        traveller.shift(timedelta(minutes=16))
        assert try_password(client, "forgetful2@uni.example").status_code == 401  # forgotten
        assert (
            try_password(client, "forgetful2@uni.example", conftest_password()).status_code == 302
        )
    assert db.session.scalars(select(LoginThrottle)).all() == []


def conftest_password() -> str:
    from tests.factories import PASSWORD

    return PASSWORD


def all_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


# --- Recovery codes ---------------------------------------------------------------------------


def code_step(app: Flask, code: str):
    """Password, then ``code`` at the second step, in a new browser: the code step's answer."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = post_form(
        client, "/login", {"email": "handler2fa@uni.example", "password": "correct-horse-battery"}
    )
    assert response.headers["Location"] == "/login/code"
    return client, post_form(client, "/login/code", {"code": code})


def test_enrolment_gives_ten_recovery_codes_stored_only_as_hashes(app, app_ctx):
    _, client, codes = enrol(app)
    assert len(codes) == len(set(codes)) == 10
    user = db.session.scalars(select(User).where(User.email == "handler2fa@uni.example")).one()
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert sorted(r.code_hash for r in stored) == sorted(recovery_code_hash(c) for c in codes)
    assert not any(
        c in r.code_hash or c.replace("-", "") in r.code_hash for c in codes for r in stored
    )
    assert len(actions("user.recovery_codes_generated")) == 1
    # Shown once: the second factor page afterwards only counts them.
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert RECOVERY_RE.findall(page) == []


def test_a_recovery_code_logs_in_once_instead_of_a_totp_code(app, app_ctx):
    _, _, codes = enrol(app)
    client, response = code_step(app, codes[3].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert client.get("/staff/queue").status_code == 200
    used = actions("user.recovery_code_used")
    assert [e.after for e in used] == [{"left": 9}]
    assert any(
        e.after == {"second_factor": True, "recovery_code": True} for e in actions("user.login")
    )
    row = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.code_hash == recovery_code_hash(codes[3]))
    ).one()
    assert row.used_at is not None

    again_client, again = code_step(app, codes[3])
    assert again.status_code == 401
    assert again_client.get("/staff/queue").status_code == 302
    assert len(actions("user.recovery_code_used")) == 1

    _, other = code_step(app, codes[4])  # another code of the set still works
    assert other.status_code == 302
    assert [e.after for e in actions("user.recovery_code_used")][-1] == {"left": 8}


def test_the_login_after_a_recovery_code_tells_how_many_are_left(app, app_ctx):
    _, _, codes = enrol(app)
    client, response = code_step(app, codes[0])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recovery codes left: 9." in page


def test_a_new_set_of_recovery_codes_replaces_the_old_one(app, app_ctx):
    secret, client, old = enrol(app)
    refused = post_form(
        client,
        "/account/two-factor/recovery-codes",
        {"recovery-code": "000000"},
        token_from="/account/two-factor",
    )
    assert refused.status_code == 400  # a current code from the app is needed
    assert len(actions("user.recovery_codes_generated")) == 1
    response = post_form(
        client,
        "/account/two-factor/recovery-codes",
        {"recovery-code": next_code(secret)},
        token_from="/account/two-factor",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new = RECOVERY_RE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert len(actions("user.recovery_codes_generated")) == 2

    assert code_step(app, old[0])[1].status_code == 401
    assert code_step(app, new[0])[1].status_code == 302


def test_recovery_codes_end_with_the_second_factor(app, app_ctx):
    secret, client, _codes = enrol(app)
    post_form(
        client,
        "/account/two-factor/disable",
        {"disable-code": next_code(secret)},
        token_from="/my/cases",
    )
    assert db.session.scalars(select(RecoveryCode)).all() == []


# --- Server-side sessions (issue 20, finding 1) ----------------------------------------------

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0 Mobile Safari/537.36"
)


def copy_cookie(source, target) -> None:
    """What an attacker does with a stolen session cookie: present it from another client."""
    with source.session_transaction() as stolen, target.session_transaction() as forged:
        forged.update(dict(stolen))


def test_a_session_cookie_copied_before_logout_opens_nothing_afterwards(app, app_ctx):
    UserFactory(email="logout@uni.example")
    db.session.commit()
    victim, attacker = app.test_client(), app.test_client()
    login(victim, "logout@uni.example")
    assert victim.get("/my/cases").status_code == 200
    copy_cookie(victim, attacker)
    assert attacker.get("/my/cases").status_code == 200  # the copy works while logged in...

    post_form(victim, "/logout", {}, token_from="/my/cases")

    assert db.session.scalars(select(UserSession)).all() == []  # deleted on the server
    assert logged_out(attacker.get("/my/cases"))  # ...and not after logout
    assert logged_out(attacker.get("/account/security"))


def test_the_security_page_lists_open_sessions_and_ends_one_of_them(app, app_ctx):
    user = UserFactory(email="two-devices@uni.example")
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    login(laptop, "two-devices@uni.example")
    login(phone, "two-devices@uni.example")
    page = laptop.get("/account/security").get_data(as_text=True)
    assert "Firefox on Linux" in page and "(this browser)" in page
    assert "Chrome on Android" in page
    phone_row = db.session.scalars(select(UserSession).where(UserSession.user_agent == PHONE)).one()
    path = f"/account/sessions/{phone_row.id}/end"

    assert laptop.post(path, data={}).status_code == 400  # no CSRF token: nothing ends
    assert phone.get("/my/cases").status_code == 200
    response = post_form(laptop, path, {}, token_from="/account/security")

    assert response.headers["Location"] == "/account/security"
    assert logged_out(phone.get("/my/cases"))
    assert laptop.get("/my/cases").status_code == 200
    [event] = actions("user.session_ended")
    assert event.actor_id == user.id
    assert event.after == {"session_id": phone_row.id, "device": "Chrome on Android"}


def test_nobody_can_end_another_persons_session(app, app_ctx):
    UserFactory(email="owner@uni.example")
    UserFactory(email="meddler@uni.example")
    db.session.commit()
    owner, meddler = app.test_client(), app.test_client()
    login(owner, "owner@uni.example")
    login(meddler, "meddler@uni.example")
    [owner_row] = [
        r for r in db.session.scalars(select(UserSession)) if r.user.email == "owner@uni.example"
    ]
    path = f"/account/sessions/{owner_row.id}/end"
    assert post_form(meddler, path, {}, token_from="/account/security").status_code == 404
    assert owner.get("/my/cases").status_code == 200
    assert actions("user.session_ended") == []


def test_ending_this_browsers_own_session_logs_out_here(app, app_ctx):
    UserFactory(email="self@uni.example")
    db.session.commit()
    client = app.test_client()
    login(client, "self@uni.example")
    row = db.session.scalars(select(UserSession)).one()
    path = f"/account/sessions/{row.id}/end"
    response = post_form(client, path, {}, token_from="/account/security")
    assert response.headers["Location"] == "/login"
    assert logged_out(client.get("/my/cases"))


def test_last_seen_is_written_at_most_once_a_minute_per_session(app, app_ctx):
    UserFactory(email="busy-reader@uni.example")
    db.session.commit()
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            statements.append(statement)

    with time_machine.travel(START, tick=False) as traveller:
        client = app.test_client()
        login(client, "busy-reader@uni.example")
        sa_event.listen(db.engine, "before_cursor_execute", capture)
        try:
            for _ in range(30):  # 30 pages in 30 seconds: no write
                traveller.shift(timedelta(seconds=1))
                assert client.get("/my/cases").status_code == 200
            assert statements == []
            traveller.shift(timedelta(seconds=31))
            assert client.get("/my/cases").status_code == 200
            assert client.get("/my/cases").status_code == 200
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", capture)
    assert len(statements) == 1
    row = db.session.scalars(select(UserSession)).one()
    assert row.last_seen_at == START.astimezone(row.last_seen_at.tzinfo) + timedelta(seconds=61)


def test_the_idle_timeout_is_counted_by_the_server_whatever_the_cookie_says(app, app_ctx):
    UserFactory(email="idle-server@uni.example")
    db.session.commit()
    idle = app.config["SESSION_IDLE_MINUTES"]
    with time_machine.travel(START, tick=False) as traveller:
        client = app.test_client()
        login(client, "idle-server@uni.example")
        traveller.shift(timedelta(minutes=idle + 1))
        assert logged_out(client.get("/my/cases"))
    assert db.session.scalars(select(UserSession)).all() == []  # the timed-out row is gone


def test_a_password_reset_deletes_every_server_side_session(app, app_ctx, smtp_sink):
    UserFactory(email="reset-rows@uni.example")
    db.session.commit()
    a, b = app.test_client(), app.test_client()
    login(a, "reset-rows@uni.example")
    login(b, "reset-rows@uni.example")
    assert len(db.session.scalars(select(UserSession)).all()) == 2
    post_form(b, "/password/forgot", {"email": "reset-rows@uni.example"}, token_from="/my/cases")
    new = {"password": "a brand new sentence", "confirm": "a brand new sentence"}
    assert post_form(b, reset_link(smtp_sink, "reset-rows@uni.example"), new).status_code == 302
    assert db.session.scalars(select(UserSession)).all() == []
    assert logged_out(a.get("/my/cases")) and logged_out(b.get("/my/cases"))


def test_log_out_everywhere_deletes_the_other_sessions_on_the_server(app, app_ctx):
    UserFactory(email="everywhere-rows@uni.example")
    db.session.commit()
    a, b, c = app.test_client(), app.test_client(), app.test_client()
    for client in (a, b, c):
        login(client, "everywhere-rows@uni.example")
    post_form(c, "/account/sessions/end", {}, token_from="/account/security")
    assert len(db.session.scalars(select(UserSession)).all()) == 1
    assert c.get("/my/cases").status_code == 200

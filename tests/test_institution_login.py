"""Logging in with the institution's account (SURFconext, OpenID Connect), against a real provider.

The provider is oidc-provider-mock running as its own server process on this machine; tests set
each person's claims over its HTTP API, answer its authorization form over HTTP as the browser
would, and the portal talks to it over real HTTP (discovery, token, JWKS, userinfo). A tampering
proxy in front of it changes the ID token to show a forged answer is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from rights_portal.accounts.institution.claims import read_claims, student_number
from rights_portal.accounts.institution.models import InstitutionIdentity
from rights_portal.accounts.models import Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.extensions import db
from tests import conftest
from tests.conftest import IsolatedClient, free_port
from tests.factories import UserFactory
from tests.oidc_support import set_claims

pytestmark = pytest.mark.postgres

ORG = "uni.example"
STAFF_ACR = "http://test.surfconext.nl/assurance/loa2"
STUDENT_CODE = "urn:schac:personalUniqueCode:nl:local:uni.example:studentid:{}"


def _config(issuer: str, database_url: str, smtp_sink: Any, **extra: Any) -> dict[str, Any]:
    config = conftest.test_config(database_url, smtp_sink)
    config.update(
        OIDC_ISSUER=issuer,
        OIDC_CLIENT_ID="rights-portal",
        OIDC_CLIENT_SECRET="a-client-secret",
        OIDC_SCOPES="openid email profile",
        OIDC_ACCEPTED_ORGANIZATIONS=ORG,
        **extra,
    )
    return config


class EnglishClient(IsolatedClient):
    """A browser that asks for English (the tests read the pages' English texts)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def sso_app(app: Flask, make_other_app: Any, oidc_provider: str, database_url: str, smtp_sink):
    other = make_other_app(_config(oidc_provider, database_url, smtp_sink))
    other.test_client_class = EnglishClient
    return other


@pytest.fixture
def acr_app(app: Flask, make_other_app: Any, oidc_provider: str, database_url: str, smtp_sink):
    other = make_other_app(
        _config(oidc_provider, database_url, smtp_sink, OIDC_STAFF_ACR=STAFF_ACR)
    )
    other.test_client_class = EnglishClient
    return other


def _answer_provider(authorize_url: str, sub: str, *, deny: bool = False) -> str:
    """Fill in the provider's authorization form as the browser would; the redirect back."""
    form = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorize_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def institution_login(client: Any, provider: str, sub: str, *, deny: bool = False) -> Any:
    """Start at the portal, pass the provider, come back; the portal's last answer."""
    start = client.get("/login/institution")
    assert start.status_code == 302
    location = start.headers["Location"]
    assert location.startswith(f"{provider}/oauth2/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]  # PKCE
    assert query["state"] and query["nonce"]
    for _hop in range(2):  # at most one step-up to a second factor
        back = urlsplit(_answer_provider(location, sub, deny=deny))
        response = client.get(f"{back.path}?{back.query}")
        location = response.headers.get("Location", "")
        if not location.startswith(f"{provider}/oauth2/authorize?"):
            return response
    return response


def _student_claims(number: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": f"{number}@student.uni.example",
        "name": f"Student {number}",
        "schac_home_organization": ORG,
        "eduperson_affiliation": ["student", "member"],
        "eduperson_principal_name": f"{number}@uni.example",
        "schac_personal_unique_code": [STUDENT_CODE.format(number)],
        **extra,
    }


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- the claim mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"eduperson_affiliation": ["student", "member"]},
        {"eduperson_affiliation": "student"},
        {"eduperson_scoped_affiliation": ["student@uni.example"]},
        {"edu_person_affiliations": ["student"]},  # the older spelling
        {"edu_person_scoped_affiliations": ["Student@uni.example"]},
    ],
)
def test_every_spelling_of_the_affiliation_is_read(claims: dict[str, Any]) -> None:
    read = read_claims({"sub": "x", "schac_home_organization": "Uni.Example", **claims})
    assert read.is_student and not read.is_employee
    assert read.organization == ORG


def test_the_student_number_comes_only_from_the_own_organizations_code() -> None:
    codes = [
        "urn:schac:personalUniqueCode:nl:local:other.example:studentid:999",
        "urn:schac:personalUniqueCode:nl:local:uni.example:employeeid:555",
        STUDENT_CODE.format("1234567"),
    ]
    assert student_number(codes, ORG) == "1234567"
    assert student_number(codes[:2], ORG) == ""
    assert student_number("not a code", ORG) == ""


# --- students ----------------------------------------------------------------------------------


def test_a_new_student_gets_an_account_but_files_only_after_staff_confirm_the_age(
    sso_app: Flask, oidc_provider: str
) -> None:
    set_claims(oidc_provider, "sub-new-student", **_student_claims("7000001"))
    client = sso_app.test_client()
    response = institution_login(client, oidc_provider, "sub-new-student")
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/cases")
    with sso_app.app_context():
        user = db.session.scalars(select(User).where(User.student_number == "7000001")).one()
        assert user.role is Role.STUDENT and user.date_of_birth is None
        assert user.email == "7000001@student.uni.example"
        identity = db.session.scalars(select(InstitutionIdentity)).one()
        assert identity.subject == "sub-new-student" and identity.created_account
        assert identity.issuer == oidc_provider
        created = _events("user.created")
        assert created and created[0].after["via"] == "institution_login"
        assert _events("user.login")[0].after["method"] == "institution"
        handler_id = UserFactory(role=Role.CASE_HANDLER, email="handler@uni.example").id
        db.session.commit()

    # R20: the birth date is never guessed; until staff confirm, the student does not file alone.
    page = client.get("/my/cases/new/objection")
    assert page.status_code == 403
    assert "We controleren je geboortedatum" in page.get_data(as_text=True)  # in their language

    result = sso_app.test_cli_runner().invoke(
        args=[
            "institution",
            "confirm-age",
            "7000001",
            "--by",
            "handler@uni.example",
            "--date-of-birth",
            "2004-03-01",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert client.get("/my/cases/new/objection").status_code == 200
    with sso_app.app_context():
        event = _events("user.age_confirmed")[0]
        assert event.actor_id == handler_id and event.after["date_of_birth"] == "2004-03-01"


def test_a_known_student_is_matched_by_student_number_and_keeps_the_record(
    sso_app: Flask, oidc_provider: str
) -> None:
    with sso_app.app_context():
        known = UserFactory(email="known@uni.example", student_number="7000002")
        known.date_of_birth = date(2003, 5, 5)
        db.session.commit()
        known_id = known.id
    set_claims(oidc_provider, "sub-known", **_student_claims("7000002"))
    client = sso_app.test_client()
    assert institution_login(client, oidc_provider, "sub-known").status_code == 302
    assert client.get("/my/cases/new/objection").status_code == 200  # born 2003: acts alone
    with sso_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1
        identity = db.session.scalars(select(InstitutionIdentity)).one()
        assert identity.user_id == known_id and not identity.created_account
    # The next login finds the account by the subject, whatever else changed.
    set_claims(oidc_provider, "sub-known", **_student_claims("7000002", email="new@uni.example"))
    other = sso_app.test_client()
    assert institution_login(other, oidc_provider, "sub-known").status_code == 302
    with sso_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_an_unknown_organization_is_refused_and_nothing_is_created(
    sso_app: Flask, oidc_provider: str
) -> None:
    set_claims(
        oidc_provider,
        "sub-elsewhere",
        **_student_claims("7000003", schac_home_organization="other.example"),
    )
    response = institution_login(sso_app.test_client(), oidc_provider, "sub-elsewhere")
    assert response.status_code == 403
    assert "not one of them" in response.get_data(as_text=True)
    with sso_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0
        refused = _events("user.login_failed")[0]
        assert refused.after == {
            "method": "institution",
            "reason": "unknown_organization",
            "organization": "other.example",
        }


def test_a_student_whose_affiliation_ended_loses_access_at_the_next_login(
    sso_app: Flask, oidc_provider: str
) -> None:
    set_claims(oidc_provider, "sub-leaving", **_student_claims("7000004"))
    open_session = sso_app.test_client()
    assert institution_login(open_session, oidc_provider, "sub-leaving").status_code == 302
    assert open_session.get("/my/cases").status_code == 200
    set_claims(
        oidc_provider, "sub-leaving", **_student_claims("7000004", eduperson_affiliation=["alum"])
    )
    response = institution_login(sso_app.test_client(), oidc_provider, "sub-leaving")
    assert response.status_code == 403
    assert "no longer a student" in response.get_data(as_text=True)
    # The session still open elsewhere ends with the affiliation.
    assert open_session.get("/my/cases").status_code == 302


def test_a_cancelled_login_says_so_in_the_persons_language(
    sso_app: Flask, oidc_provider: str
) -> None:
    client = sso_app.test_client()
    client.set_cookie("language", "nl")
    response = institution_login(client, oidc_provider, "anyone", deny=True)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert 'lang="nl"' in page and "Je hebt het inloggen afgebroken" in page
    with sso_app.app_context():
        assert _events("user.login_failed")[0].after["reason"] == "cancelled"


# --- staff -------------------------------------------------------------------------------------


def _employee_claims(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": f"{name}@uni.example",
        "name": name.title(),
        "schac_home_organization": ORG,
        "eduperson_affiliation": ["employee", "member"],
        "eduperson_principal_name": f"{name}@uni.example",
        **extra,
    }


def test_a_claim_alone_never_makes_anyone_staff(sso_app: Flask, oidc_provider: str) -> None:
    set_claims(oidc_provider, "sub-employee", **_employee_claims("jan", role="admin"))
    response = institution_login(sso_app.test_client(), oidc_provider, "sub-employee")
    assert response.status_code == 403
    assert "administrator to link" in response.get_data(as_text=True)
    with sso_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def _linked_handler(app: Flask, name: str) -> int:
    with app.app_context():
        handler = UserFactory(role=Role.CASE_HANDLER, email=f"{name}@staff.uni.example")
        UserFactory(role=Role.ADMIN, email=f"admin-{name}@uni.example")
        db.session.commit()
        handler_id = handler.id
    result = app.test_cli_runner().invoke(
        args=[
            "institution",
            "link-staff",
            f"{name}@staff.uni.example",
            f"{name}@uni.example",
            "--by",
            f"admin-{name}@uni.example",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return handler_id


def test_staff_linked_by_an_admin_log_in_with_the_required_assurance(
    acr_app: Flask, oidc_provider: str
) -> None:
    handler_id = _linked_handler(acr_app, "piet")
    set_claims(oidc_provider, "sub-piet", **_employee_claims("piet", acr=STAFF_ACR))
    client = acr_app.test_client()
    response = institution_login(client, oidc_provider, "sub-piet")
    assert response.status_code == 302 and "/staff" in response.headers["Location"]
    assert client.get(response.headers["Location"]).status_code == 200
    with acr_app.app_context():
        user = db.session.get(User, handler_id)
        assert user is not None and user.role is Role.CASE_HANDLER  # the admin's role stands
        assert _events("user.institution_linked")[0].after == {"principal_name": "piet@uni.example"}
        assert _events("user.login")[0].after == {"method": "institution", "acr": STAFF_ACR}


def test_staff_without_the_required_assurance_are_asked_for_it_then_refused(
    acr_app: Flask, oidc_provider: str
) -> None:
    _linked_handler(acr_app, "kees")
    set_claims(oidc_provider, "sub-kees", **_employee_claims("kees"))  # no second factor
    client = acr_app.test_client()
    start = client.get("/login/institution")
    back = urlsplit(_answer_provider(start.headers["Location"], "sub-kees"))
    step_up = client.get(f"{back.path}?{back.query}")
    assert step_up.status_code == 302  # back to the provider, asking for the second factor
    assert parse_qs(urlsplit(step_up.headers["Location"]).query)["acr_values"] == [STAFF_ACR]
    back = urlsplit(_answer_provider(step_up.headers["Location"], "sub-kees"))
    refused = client.get(f"{back.path}?{back.query}")
    assert refused.status_code == 403
    assert "SURFsecureID" in refused.get_data(as_text=True)
    assert client.get("/staff/queue").status_code == 302  # not logged in
    with acr_app.app_context():
        assert _events("user.login_failed")[0].after["reason"] == "assurance_too_low"


def test_logout_ends_the_providers_session_too(sso_app: Flask, oidc_provider: str) -> None:
    set_claims(oidc_provider, "sub-logout", **_student_claims("7000005"))
    client = sso_app.test_client()
    institution_login(client, oidc_provider, "sub-logout")
    response = conftest.post_form(client, "/logout", {}, token_from="/my/cases")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{oidc_provider}/oauth2/end_session"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == ["rights-portal"]
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert client.get("/my/cases").status_code == 302  # the portal's session is over


# --- answers that cannot be trusted, a provider that is down ------------------------------------


class _TamperingProxy(BaseHTTPRequestHandler):
    """Forwards to the provider; changes one character of the ID token's claims on the way."""

    upstream = ""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        upstream = requests.request(
            self.command,
            self.upstream + self.path,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=10,
        )
        content = upstream.content
        if self.path.startswith("/oauth2/token") and upstream.ok:
            token = upstream.json()
            header, claims, signature = token["id_token"].split(".")
            middle = len(claims) // 2
            flipped = "A" if claims[middle] != "A" else "B"
            token["id_token"] = ".".join(
                [header, claims[:middle] + flipped + claims[middle + 1 :], signature]
            )
            content = json.dumps(token).encode()
        self.send_response(upstream.status_code)
        for name, value in upstream.headers.items():
            if name.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "content-encoding",
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = _forward  # noqa: N815 (http.server's method names)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tampering_proxy(oidc_provider: str) -> Iterator[str]:
    handler = type("Proxy", (_TamperingProxy,), {"upstream": oidc_provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_tampered_id_token_is_refused(
    app: Flask, make_other_app: Any, tampering_proxy: str, database_url: str, smtp_sink: Any
) -> None:
    other = make_other_app(_config(tampering_proxy, database_url, smtp_sink))
    other.test_client_class = EnglishClient
    set_claims(tampering_proxy, "sub-forged", **_student_claims("7000006"))
    response = institution_login(other.test_client(), tampering_proxy, "sub-forged")
    assert response.status_code == 401
    assert "could not be verified" in response.get_data(as_text=True)
    with other.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0
        assert _events("user.login_failed")[0].after["reason"] == "invalid_response"


def test_a_provider_that_is_down_gives_a_page_to_try_later(
    app: Flask, make_other_app: Any, database_url: str, smtp_sink: Any
) -> None:
    down = make_other_app(_config(f"http://127.0.0.1:{free_port()}", database_url, smtp_sink))
    down.test_client_class = EnglishClient
    response = down.test_client().get("/login/institution")
    assert response.status_code == 503
    assert "Try again in a few minutes" in response.get_data(as_text=True)


def test_the_login_page_offers_the_institution_first_only_when_configured(
    app: Flask, sso_app: Flask
) -> None:
    with_sso = sso_app.test_client().get("/login").get_data(as_text=True)
    assert with_sso.index("/login/institution") < with_sso.index('name="password"')
    assert "/login/institution" not in app.test_client().get("/login").get_data(as_text=True)
    assert app.test_client().get("/login/institution").status_code == 404


# --- the staff pages -------------------------------------------------------------------------


def test_an_admin_links_a_staff_account_on_the_page_and_others_cannot(
    sso_app: Flask, oidc_provider: str
) -> None:
    with sso_app.app_context():
        UserFactory(role=Role.ADMIN, email="admin@uni.example")
        handler = UserFactory(role=Role.CASE_HANDLER, email="anna@staff.uni.example")
        db.session.commit()
        handler_id = handler.id
    other = sso_app.test_client()
    conftest.login(other, "anna@staff.uni.example")
    assert other.get("/staff/institution/links").status_code == 403
    admin = sso_app.test_client()
    conftest.login(admin, "admin@uni.example")
    refused = conftest.post_form(
        admin,
        "/staff/institution/links",
        {"user_id": str(handler_id), "principal_name": "not-a-principal-name"},
    )
    assert refused.status_code == 400
    linked = conftest.post_form(
        admin,
        "/staff/institution/links",
        {"user_id": str(handler_id), "principal_name": "Anna@Uni.Example"},
    )
    assert linked.status_code == 302
    with sso_app.app_context():
        assert _events("user.institution_linked")[0].after == {"principal_name": "anna@uni.example"}
    set_claims(oidc_provider, "sub-anna", **_employee_claims("anna"))
    response = institution_login(sso_app.test_client(), oidc_provider, "sub-anna")
    assert response.status_code == 302 and "/staff/queue" in response.headers["Location"]


def test_a_handler_confirms_a_students_age_on_the_page(sso_app: Flask, oidc_provider: str) -> None:
    set_claims(oidc_provider, "sub-young", **_student_claims("7000007"))
    student = sso_app.test_client()
    institution_login(student, oidc_provider, "sub-young")
    assert student.get("/staff/institution/ages").status_code == 403
    with sso_app.app_context():
        UserFactory(role=Role.CASE_HANDLER, email="hanna@staff.uni.example")
        db.session.commit()
        identity_id = db.session.scalars(select(InstitutionIdentity.id)).one()
    handler = sso_app.test_client()
    conftest.login(handler, "hanna@staff.uni.example")
    page = handler.get("/staff/institution/ages").get_data(as_text=True)
    assert "7000007" in page
    # Born 2012: under 16 today, so from now on a guardian files for this student (R20).
    response = conftest.post_form(
        handler,
        "/staff/institution/ages",
        {"identity_id": str(identity_id), "date_of_birth": "2012-06-01"},
    )
    assert response.status_code == 302
    with sso_app.app_context():
        assert _events("user.age_confirmed")[0].after == {"date_of_birth": "2012-06-01"}
    assert "No student is waiting" in handler.get("/staff/institution/ages").get_data(as_text=True)
    refused = student.get("/my/cases/new/objection")
    assert refused.status_code == 403
    assert "jonger dan 16" in refused.get_data(as_text=True)  # the student's language: Dutch

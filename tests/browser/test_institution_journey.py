"""Logging in with the institution in a real browser: a student passes the provider's page.

The student opens the portal's login page, chooses "Log in with your institution", answers the
OpenID provider's own authorization page (oidc-provider-mock, a real server process), comes back
logged in and files an access request; logging out ends the provider's session too. Every
portal page is axe-checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from rights_portal.cases.models import Case, CaseType
from rights_portal.extensions import db
from tests import conftest
from tests.factories import ProgrammeFactory, UserFactory
from tests.oidc_support import set_claims

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

ORG = "uni.example"
WORDS = {
    "nl": {"button": "Inloggen via je onderwijsinstelling", "my_requests": "Mijn verzoeken"},
    "en": {"button": "Log in with your institution", "my_requests": "My requests"},
}


@pytest.fixture
def live_server(
    app: Flask, make_other_app: Any, oidc_provider: str, database_url: str, smtp_sink: Any
) -> Iterator[str]:
    """This module's portal: configured for the provider, on a real HTTP server."""
    config = conftest.test_config(database_url, smtp_sink)
    port = conftest.free_port()
    config.update(
        OIDC_ISSUER=oidc_provider,
        OIDC_CLIENT_ID="rights-portal",
        OIDC_CLIENT_SECRET="a-client-secret",
        OIDC_SCOPES="openid email profile",
        OIDC_ACCEPTED_ORGANIZATIONS=ORG,
    )
    portal = make_other_app(config)
    server = make_server("127.0.0.1", port, portal, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(10)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_student_logs_in_through_the_institution_and_files_a_request(
    app_ctx: Flask, open_journey: Any, oidc_provider: str, lang: str
) -> None:
    programme = ProgrammeFactory(code=f"LAW{lang}", name="Law")
    student = UserFactory(
        email=f"eva-{lang}@uni.example",
        full_name="Eva de Vries",
        student_number=f"880{lang}01",
        date_of_birth=date(2001, 9, 9),
        programme_id=programme.id,
        locale=lang,
    )
    db.session.commit()
    sub = f"eva-{lang}-subject"
    set_claims(
        oidc_provider,
        sub,
        email=student.email,
        name=student.full_name,
        schac_home_organization=ORG,
        eduperson_scoped_affiliation=[f"student@{ORG}"],
        schac_personal_unique_code=[
            f"urn:schac:personalUniqueCode:nl:local:{ORG}:studentid:{student.student_number}"
        ],
    )

    journey = open_journey("student", lang)
    page = journey.page
    journey.go("/login")
    journey.check("login with the institution first")
    page.get_by_role("link", name=WORDS[lang]["button"]).click()

    # The provider's own page: enter who logs in, authorize.
    page.wait_for_url(f"{oidc_provider}/oauth2/authorize*")
    page.fill("input[name=sub]", sub)
    with page.expect_navigation(url=f"{journey.base_url}/my/cases"):
        page.get_by_role("button", name="Authorize").click()
    journey.check("logged in through the institution")
    assert WORDS[lang]["my_requests"] in page.inner_text("h1")

    page.locator("a[href$='/my/cases/new/access']").click()
    journey.check("access request form")
    page.fill("#description", "Alle opnames van mijn tentamens.")
    journey.submit()
    journey.check("access request filed")
    db.session.expire_all()
    case = db.session.scalars(select(Case).where(Case.subject_id == student.id)).one()
    assert case.case_type is CaseType.ACCESS and page.url.endswith(case.reference)

    # Logging out ends the provider's session too: the browser lands on its end-session page.
    journey.open_menu_holding("header form[action$='/logout'] button")
    with page.expect_navigation(url=f"{oidc_provider}/oauth2/end_session*"):
        page.locator("header form[action$='/logout'] button").click()

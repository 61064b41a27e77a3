"""The REST API over HTTP: its OpenAPI document, clients and scopes, filing once, reading only
what the client may, problem details in the client's language, and a property-based run of the
API from its own document (schemathesis).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.api.clients import create_client, token_hash
from rights_portal.api.models import ApiCaseOrigin, ApiClient, Scope
from rights_portal.audit.models import AuditEvent
from rights_portal.cases.models import Case, CaseType, Channel
from rights_portal.extensions import db
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres


def _client(name: str, *scopes: Scope) -> str:
    _client_row, token = create_client(name, scopes, actor=None)
    db.session.commit()
    return token


def _auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def student(app_ctx: Flask) -> Any:
    programme = ProgrammeFactory()
    user = UserFactory(
        email="api-student@uni.example",
        student_number="s7100001",
        date_of_birth=date(2001, 1, 1),
        programme_id=programme.id,
    )
    db.session.commit()
    return user


def test_the_openapi_document_is_generated_valid_and_3_1(app: Flask, client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any error against the OpenAPI 3.1 schema
    assert {"/api/v1/cases", "/api/v1/cases/{reference}", "/api/v1/dpo/figures"} <= set(
        document["paths"]
    )
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_reference_page_renders_from_the_document(client: Any) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "POST /api/v1/cases" in text and "NewCase" in text


def test_an_admin_makes_a_client_whose_token_is_shown_once_and_stored_hashed(
    app_ctx: Flask, client: Any
) -> None:
    UserFactory(role=Role.ADMIN, email="api-admin@uni.example")
    db.session.commit()
    login(client, "api-admin@uni.example")
    response = post_form(
        client,
        "/staff/api-clients",
        {"name": "Student portal", "scopes": ["file", "read-own"]},
        token_from="/staff/api-clients",
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    token = page.split('id="api-token">')[1].split("<")[0]
    assert token.startswith("rp_")
    stored = db.session.scalars(select(ApiClient)).one()
    assert stored.token_hash == token_hash(token) and token not in str(stored.__dict__)
    assert stored.scopes == ["file", "read-own"]
    assert token not in client.get("/staff/api-clients").get_data(as_text=True)
    created = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api.client_created")
    ).one()
    assert created.after == {"name": "Student portal", "scopes": ["file", "read-own"]}
    deactivated = post_form(
        client, f"/staff/api-clients/{stored.id}/deactivate", {}, token_from="/staff/api-clients"
    )
    assert deactivated.status_code == 302
    db.session.expire_all()
    assert not db.session.get(ApiClient, stored.id).is_active
    assert client.get("/api/v1/cases", headers=_auth(token)).status_code == 401
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api.client_deactivated")
    ).one()


def test_filing_through_the_api_records_channel_and_client_and_files_once(
    app_ctx: Flask, client: Any, student: Any
) -> None:
    token = _client("LMS", Scope.FILE, Scope.READ_OWN)
    exam = ExamFactory(programme=student.programme)
    db.session.commit()
    body = {
        "student_number": student.student_number,
        "case_type": "objection",
        "description": "Proctoring in my bedroom is too intrusive.",
        "exam_id": exam.id,
    }
    first = client.post(
        "/api/v1/cases", json=body, headers=_auth(token, **{"Idempotency-Key": "k-1"})
    )
    assert first.status_code == 201, first.get_data(as_text=True)
    reference = first.get_json()["reference"]
    assert first.headers["Location"].endswith(f"/api/v1/cases/{reference}")
    retry = client.post(
        "/api/v1/cases", json=body, headers=_auth(token, **{"Idempotency-Key": "k-1"})
    )
    assert retry.status_code == 201 and retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    case = db.session.scalars(select(Case)).one()
    assert case.channel is Channel.API and case.case_type is CaseType.OBJECTION
    origin = db.session.get(ApiCaseOrigin, case.id)
    assert origin is not None and origin.client.name == "LMS"
    received = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "case.received", AuditEvent.case_id == case.id
        )
    ).all()
    assert len(received) == 1  # the retry filed nothing
    other = dict(body, description="Something else")
    reused = client.post(
        "/api/v1/cases", json=other, headers=_auth(token, **{"Idempotency-Key": "k-1"})
    )
    assert reused.status_code == 422
    assert reused.headers["Content-Type"] == "application/problem+json"

    read = client.get(f"/api/v1/cases/{reference}", headers=_auth(token))
    assert read.status_code == 200
    assert read.get_json()["status"] == "received" and read.get_json()["decision"] is None
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.case_read"))
    assert [event.after["client"] for event in reads] == ["LMS"]


def test_a_read_own_client_cannot_read_another_clients_case(
    app_ctx: Flask, client: Any, student: Any
) -> None:
    filer = _client("Service desk", Scope.FILE, Scope.READ_OWN)
    other = _client("Other system", Scope.READ_OWN)
    staff_tool = _client("Staff dashboard", Scope.STAFF_READ)
    filed = client.post(
        "/api/v1/cases",
        json={"student_number": student.student_number, "case_type": "access"},
        headers=_auth(filer),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    reference = filed.get_json()["reference"]
    assert client.get(f"/api/v1/cases/{reference}", headers=_auth(other)).status_code == 404
    assert client.get(f"/api/v1/cases/{reference}", headers=_auth(staff_tool)).status_code == 200
    assert client.get("/api/v1/cases", headers=_auth(other)).status_code == 403
    listed = client.get("/api/v1/cases", headers=_auth(staff_tool)).get_json()
    assert [item["reference"] for item in listed["items"]] == [reference]


def test_errors_are_problem_details_in_the_clients_language(
    app_ctx: Flask, client: Any, student: Any
) -> None:
    missing = client.get("/api/v1/cases", headers={"Accept-Language": "nl"})
    assert missing.status_code == 401
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["status"] == 401
    token = _client("Dutch system", Scope.FILE)
    invalid = client.post(
        "/api/v1/cases",
        json={"student_number": "", "case_type": "nonsense"},
        headers=_auth(token, **{"Accept-Language": "nl"}),
    )
    assert invalid.status_code == 422
    problem = invalid.get_json()
    assert problem["title"] == "Het verzoek heeft ongeldige velden."
    assert set(problem["errors"]["json"]) == {"student_number", "case_type"}
    english = client.post(
        "/api/v1/cases",
        json={"student_number": "nobody", "case_type": "access"},
        headers=_auth(token, **{"Accept-Language": "en"}),
    )
    assert english.status_code == 404 and english.get_json()["detail"] == (
        "No student with this student number."
    )
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_staff_list_pages_by_keyset_and_filters(
    app_ctx: Flask, client: Any, student: Any
) -> None:
    filer = _client("Filer", Scope.FILE)
    staff_tool = _client("Staff tool", Scope.STAFF_READ)
    references = []
    for _ in range(5):
        response = client.post(
            "/api/v1/cases",
            json={"student_number": student.student_number, "case_type": "access"},
            headers=_auth(filer),
        )
        references.append(response.get_json()["reference"])
    seen: list[str] = []
    cursor = None
    while True:
        query = "limit=2" + (f"&after={cursor}" if cursor else "")
        page = client.get(f"/api/v1/cases?{query}", headers=_auth(staff_tool)).get_json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == references
    none = client.get("/api/v1/cases?case_type=objection", headers=_auth(staff_tool)).get_json()
    assert none == {"items": [], "next": None}
    events = client.get(f"/api/v1/cases/{references[0]}/events", headers=_auth(staff_tool))
    assert "case.received" in [e["action"] for e in events.get_json()["items"]]


def test_the_dpo_figures_need_dpo_read_and_name_nobody(app_ctx: Flask, client: Any) -> None:
    dpo_tool = _client("DPO reporting", Scope.DPO_READ)
    other = _client("Not the DPO", Scope.STAFF_READ)
    assert client.get("/api/v1/dpo/figures", headers=_auth(other)).status_code == 403
    figures = client.get("/api/v1/dpo/figures", headers=_auth(dpo_tool)).get_json()
    keys = {figure["key"] for figure in figures["figures"]}
    assert "open" in keys and not keys & {"overdue", "overdue-cases"}


def test_the_requester_message_goes_only_on_the_clients_own_case(
    app_ctx: Flask, client: Any, student: Any
) -> None:
    filer = _client("Portal app", Scope.FILE, Scope.READ_OWN)
    stranger = _client("Stranger", Scope.FILE)
    reference = client.post(
        "/api/v1/cases",
        json={"student_number": student.student_number, "case_type": "access"},
        headers=_auth(filer),
    ).get_json()["reference"]
    posted = client.post(
        f"/api/v1/cases/{reference}/messages", json={"body": "Any news?"}, headers=_auth(filer)
    )
    assert posted.status_code == 201
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.message_posted")
    ).one()
    refused = client.post(
        f"/api/v1/cases/{reference}/messages", json={"body": "Hi"}, headers=_auth(stranger)
    )
    assert refused.status_code == 404


@pytest.mark.parametrize("examples", [int(os.environ.get("API_FUZZ_EXAMPLES", "150"))])
def test_the_api_from_its_own_document_never_answers_5xx(
    app: Flask, app_ctx: Flask, student: Any, examples: int
) -> None:
    """Schemathesis generates calls of every operation from the served document (over WSGI)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    token = _client("Fuzzer", *Scope)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    answered: set[int] = set()

    @settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=schema.as_strategy(headers={"Authorization": f"Bearer {token}"}))
    def call(case: Any) -> None:
        response = case.call()
        answered.add(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
        db.session.rollback()

    call()
    assert not failures, failures
    # The run reached the operations: some calls succeeded, some were refused as invalid.
    assert any(200 <= status < 300 for status in answered), answered
    assert any(400 <= status < 500 for status in answered), answered

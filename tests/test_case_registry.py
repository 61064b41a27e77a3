"""A case type is one declaration in the registry; the pages and the workflow need nothing else.

The throw-away type below is registered by this module alone — no production code knows it —
and is filed, decided and fulfilled over HTTP like any built-in type. The workflow's table is
checked against docs/rules.md#case-life.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from rights_portal.accounts.models import Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import registry, workflow
from rights_portal.cases import services as cases
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.forms import DecideForm
from rights_portal.cases.models import Case, CaseStatus, Outcome
from rights_portal.cases.registry import CaseKind, FilingPage
from rights_portal.cases.workflow import Step
from rights_portal.errors import RuleViolation
from rights_portal.extensions import db
from rights_portal.forms import Form
from rights_portal.permissions import decides_as_case_handler
from tests.conftest import login, post_form
from tests.factories import ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
TYPE = "test_complaint"


class ComplaintForm(Form):
    """The throw-away type's filing form: one text."""

    description = TextAreaField("What went wrong?", validators=[DataRequired()])


def _file(page: FilingPage, filed_by: User) -> Case | None:
    return cases.file_case(
        case_type=TYPE,
        subject=page.subject,
        filed_by=filed_by,
        description=page.form.description.data or "",
    )


def _staff_panel(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@pytest.fixture
def complaint_type() -> Iterator[list[tuple[str, int]]]:
    """Register the throw-away type for one test; its hook notes every decision it saw."""
    seen: list[tuple[str, int]] = []
    kind = CaseKind(
        name=TYPE,
        label="Complaint about the canteen",
        intro="Tell us what went wrong.",
        legal_basis="Huisregels art. 1",
        form=ComplaintForm,
        file=_file,
        decides=decides_as_case_handler,
        decision_form=DecideForm,
        decide=cases.decide_with_reasons,
        fulfilment="apology sent",
        fulfilled_by_staff=True,
        after_decision=(lambda case, actor: seen.append((case.reference, actor.id)),),
    )
    registry.register(kind)
    try:
        yield seen
    finally:
        registry.unregister(TYPE)


@pytest.fixture
def people(app_ctx: Any) -> dict[str, User]:
    programme = ProgrammeFactory(code="PSY", name="Psychology")
    found = {
        "student": UserFactory(email="sanne@uni.example", programme_id=programme.id),
        "handler": UserFactory(
            email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
        ),
    }
    db.session.commit()
    return found


@time_machine.travel(NOW, tick=True)
def test_a_throwaway_type_registered_alone_is_filed_decided_and_fulfilled_over_http(
    app: Any, people: dict[str, User], complaint_type: list[tuple[str, int]], smtp_sink: Any
) -> None:
    student = app.test_client()
    login(student, "sanne@uni.example")
    overview = student.get("/my/cases").get_data(as_text=True)
    assert "Complaint about the canteen" in overview
    page = student.get(f"/my/cases/new/{TYPE}")
    assert page.status_code == 200
    assert "Tell us what went wrong." in page.get_data(as_text=True)
    # The type's own form validates: no text, a 400 and nothing stored.
    assert post_form(student, f"/my/cases/new/{TYPE}", {"description": ""}).status_code == 400
    assert db.session.scalars(select(Case)).all() == []
    response = post_form(student, f"/my/cases/new/{TYPE}", {"description": "Cold soup."})
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.case_type == TYPE
    assert case.case_type.value == TYPE
    assert case.status is CaseStatus.RECEIVED
    reference = case.reference

    handler = app.test_client()
    login(handler, "handler@uni.example")
    queue = handler.get(f"/staff/queue?type={TYPE}").get_data(as_text=True)
    assert reference in queue
    case_url = f"/staff/cases/{reference}"
    assert "Complaint about the canteen" in handler.get(case_url).get_data(as_text=True)
    response = post_form(
        handler, f"{case_url}/assign", {"assignee_id": people["handler"].id}, token_from=case_url
    )
    assert response.status_code == 302
    response = post_form(
        handler,
        f"{case_url}/decide",
        {"outcome": "granted", "reasons": "We will heat the soup."},
        token_from=case_url,
    )
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.scalars(select(Case)).one()
    assert case.status is CaseStatus.DECIDED
    assert case.outcome is Outcome.GRANTED
    assert case.legal_basis == "Huisregels art. 1"
    assert complaint_type == [(reference, people["handler"].id)]  # its after-decision hook ran

    # A handler fulfils it by hand, as the type declares; the trail says what fulfilled it.
    assert "Close as fulfilled" in handler.get(case_url).get_data(as_text=True)
    response = post_form(handler, f"{case_url}/fulfil", {}, token_from=case_url)
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.scalars(select(Case)).one()
    assert case.status is CaseStatus.CLOSED
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.fulfilled")
    ).one()
    assert event.case_id == case.id
    # The requester reads the decision on their own page.
    detail = student.get(f"/my/cases/{reference}").get_data(as_text=True)
    assert "We will heat the soup." in detail


@time_machine.travel(NOW, tick=True)
def test_a_built_in_type_is_not_closed_by_hand(app: Any, people: dict[str, User]) -> None:
    case = cases.file_case(
        case_type="access",
        subject=people["student"],
        filed_by=people["student"],
        description="",
    )
    cases.assign(case, people["handler"], actor=people["handler"])
    cases.decide(case, actor=people["handler"], outcome=Outcome.GRANTED, reasons="Yes.")
    db.session.commit()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    case_url = f"/staff/cases/{case.reference}"
    assert "Close as fulfilled" not in handler.get(case_url).get_data(as_text=True)
    response = post_form(handler, f"{case_url}/fulfil", {}, token_from=case_url)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.DECIDED


def test_an_unregistered_type_is_neither_filed_nor_stored(app: Any, people: dict[str, User]):
    student = app.test_client()
    login(student, "sanne@uni.example")
    assert student.get("/my/cases/new/no_such_type").status_code == 404
    with pytest.raises(KeyError):
        cases.file_case(
            case_type="no_such_type",
            subject=people["student"],
            filed_by=people["student"],
            description="",
        )


def test_the_workflow_table_is_the_case_life_of_the_rules() -> None:
    received, in_review, awaiting, decided, closed = (
        CaseStatus.RECEIVED,
        CaseStatus.IN_REVIEW,
        CaseStatus.AWAITING_REQUESTER,
        CaseStatus.DECIDED,
        CaseStatus.CLOSED,
    )
    moves = {
        step: (transition.sources, transition.target)
        for step, transition in workflow.STEPS.items()
        if transition.target is not None
    }
    assert moves == {
        Step.ASSIGN: ({received, in_review}, in_review),
        Step.DECIDE: ({in_review}, decided),
        Step.FULFIL: ({decided}, closed),
        Step.ACCEPT_ALTERNATIVE: ({decided}, closed),
        Step.WITHDRAW: ({received, in_review, awaiting}, closed),
        Step.MARK_DUPLICATE: ({received, in_review, awaiting}, closed),
        Step.PAUSE: ({in_review}, awaiting),
        Step.RESUME: ({awaiting}, in_review),
    }
    case = Case(status=closed)
    assert not any(workflow.can_move(case, step) for step in Step)
    with pytest.raises(RuleViolation):
        workflow.move(case, Step.WITHDRAW)
    assert case.status is closed

"""The DPO's audit trail over HTTP: who may see it, filters, keyset pages, the CSV export (R24).

And the other side: a case's participants see its history in plain language, without staff.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.audit.services import record
from rights_portal.audit.verify import verify_chain
from rights_portal.audit_pages import views
from rights_portal.cases import services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, Outcome
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.conftest import login
from tests.export_support import ask_for_export, export_and_download
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres
ROW_RE = re.compile(r'<tr data-event-id="(\d+)">')


@pytest.fixture
def office(app_ctx):
    """A DPO, a handler who works two access cases, and the students who filed them."""
    people = {
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO, full_name="Anouk DPO"),
        "handler": UserFactory(
            email="handler@uni.example", role=Role.CASE_HANDLER, full_name="Pieter Handler"
        ),
        "admin": UserFactory(email="admin@uni.example", role=Role.ADMIN),
        "student": UserFactory(email="sanne@uni.example"),
        "other": UserFactory(email="daan@uni.example"),
    }
    db.session.commit()
    cases = []
    for student in (people["student"], people["other"]):
        case = services.file_case(
            case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
        )
        commit()
        cases.append(case)
    services.assign(cases[0], people["handler"], actor=people["handler"])
    commit()
    # decide() reads actor.id halfway through its changes; an expired actor would autoflush
    # a half-decided case into its CHECK constraint, so load it first (as a request does).
    db.session.refresh(people["handler"])
    services.decide(
        cases[0], actor=people["handler"], outcome=Outcome.GRANTED, reasons="Here is your data."
    )
    commit()
    return {**people, "case": cases[0], "other_case": cases[1]}


def page_ids(response) -> list[int]:
    return [int(match) for match in ROW_RE.findall(response.get_data(as_text=True))]


def csv_rows(response) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def dpo_client(app):
    client = app.test_client()
    login(client, "dpo@uni.example")
    return client


def test_only_the_dpo_may_open_the_trail_others_get_403(app, office):
    assert dpo_client(app).get("/staff/audit/").status_code == 200
    for email in ("handler@uni.example", "admin@uni.example", "sanne@uni.example"):
        client = app.test_client()
        login(client, email)
        assert client.get("/staff/audit/").status_code == 403, email
        assert client.get("/staff/audit/export.csv").status_code == 403, email
    anonymous = app.test_client().get("/staff/audit/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_dpos_csv_export_of_a_case_matches_the_cases_page(app, office):
    client = dpo_client(app)
    reference = office["case"].reference
    page = client.get(f"/staff/audit/?case={reference}")
    assert page.status_code == 200
    ids = page_ids(page)
    expected = db.session.scalars(
        select(AuditEvent.id)
        .where(AuditEvent.case_id == office["case"].id)
        .order_by(AuditEvent.id.desc())
    ).all()
    assert ids == expected and len(ids) == 3  # received, assigned, decided
    _asked, export = export_and_download(client, "/staff/audit/export.csv", {"case": reference})
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = csv_rows(export)
    assert [int(row["id"]) for row in rows] == ids
    assert [row["action"] for row in rows] == ["case.decided", "case.assigned", "case.received"]
    assert {row["case_reference"] for row in rows} == {reference}
    assert rows[0]["actor_email"] == "handler@uni.example"
    assert '"outcome": "granted"' in rows[0]["after"]
    html = page.get_data(as_text=True)
    for row in rows:  # the page shows the same actions, by the same people
        assert row["action"] in html
    assert "Pieter Handler" in html


def test_opening_and_exporting_the_trail_are_themselves_recorded(app, office):
    client = dpo_client(app)
    client.get("/staff/audit/?action=case.decided")
    ask_for_export(client, "/staff/audit/export.csv", {"actor": "handler@uni.example"})
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(["audit.trail_viewed", "audit.trail_exported"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("audit.trail_viewed", office["dpo"].id),
        ("audit.trail_exported", office["dpo"].id),
    ]
    assert events[0].after["filters"] == {"action": "case.decided"}
    assert events[1].after["filters"] == {"actor": "handler@uni.example"}
    assert events[0].case_id is None  # so a case's own events stay exactly its own
    assert verify_chain().ok


def test_filters_by_actor_action_and_period(app, office):
    client = dpo_client(app)
    by_actor = page_ids(client.get("/staff/audit/?actor=Handler@uni.example"))
    assert (
        by_actor
        == db.session.scalars(
            select(AuditEvent.id)
            .where(AuditEvent.actor_id == office["handler"].id)
            .order_by(AuditEvent.id.desc())
        ).all()
    )
    assert len(by_actor) == 2
    by_action = page_ids(client.get("/staff/audit/?action=case.received"))
    assert len(by_action) == 2
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=AMSTERDAM), tick=False):
        record("test.old", actor=None, object_type="test")
        commit()
    in_march = client.get("/staff/audit/?date_from=2026-03-10&date_to=2026-03-10")
    [old] = page_ids(in_march)
    assert db.session.get(AuditEvent, old).action == "test.old"
    assert page_ids(client.get("/staff/audit/?date_from=2026-03-11&date_to=2026-03-31")) == []
    assert page_ids(client.get("/staff/audit/?case=RP-1999-000001")) == []
    assert page_ids(client.get("/staff/audit/?actor=nobody@uni.example")) == []
    text = client.get("/staff/audit/").get_data(as_text=True)
    assert '<option value="case.decided">' in text  # the known actions, for the action field


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-13-01",
        "date_from=yesterday",
        "date_from=2026-03-10&date_to=2026-03-01",
        "before=abc",
        "before=-5",
        "case=" + "X" * 40,
    ],
)
def test_bad_filters_are_a_400_with_a_message_not_a_500(app, office, query):
    response = dpo_client(app).get(f"/staff/audit/?{query}")
    assert response.status_code == 400
    asked = ask_for_export(dpo_client(app), "/staff/audit/export.csv", query)
    assert asked.status_code in (302, 400)  # the export has no cursor to get wrong
    if "before" not in query:
        assert asked.status_code == 400


def test_keyset_pages_walk_the_whole_trail_newest_first_without_overlap(app, office, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client = dpo_client(app)
    total = db.session.scalar(select(func.count(AuditEvent.id)))
    seen: list[int] = []
    url = "/staff/audit/?action=&case="
    for _ in range(10):
        response = client.get(url)
        ids = page_ids(response)
        assert len(ids) <= 4
        seen += ids
        match = re.search(r'href="(/staff/audit/\?before=\d+[^"]*)">Older events', response.text)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    # Every event that existed when the walk began was shown (views add events as it goes).
    assert set(range(1, total + 1)) <= set(seen)


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused(app, office):
    evil = UserFactory(
        email="evil@uni.example", role=Role.CASE_HANDLER, full_name='=HYPERLINK("http://x")'
    )
    db.session.commit()
    record("test.evil", actor=evil, object_type="test")
    commit()
    rows = csv_rows(
        export_and_download(dpo_client(app), "/staff/audit/export.csv", {"action": "test.evil"})[1]
    )
    assert rows[0]["actor_name"] == '\'=HYPERLINK("http://x")'


def test_participants_see_their_history_in_plain_language_without_staff_details(app, office):
    staff = app.test_client()
    login(staff, "handler@uni.example")
    reference = office["case"].reference
    staff.get(f"/staff/cases/{reference}")  # a staff view: on the trail, not in their history
    student = app.test_client()
    login(student, "sanne@uni.example")
    page = student.get(f"/my/cases/{reference}").get_data(as_text=True)
    for label in ("Request received", "Taken into review", "Decision made"):
        assert label in page
    assert "Pieter Handler" not in page and "handler@uni.example" not in page
    assert "case.viewed" not in page and "case.assigned" not in page
    viewed = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "case.viewed", AuditEvent.case_id == office["case"].id
        )
    )
    assert viewed == 1
    assert db.session.get(Case, office["case"].id).reference == reference

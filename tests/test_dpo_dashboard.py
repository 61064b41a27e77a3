"""The DPO's dashboard on PostgreSQL: its figures equal those counted by hand from seeded data.

A known set of cases, flags and recordings is seeded; each expected number below was worked out
by hand from that list (the comments show the sums). The figures are read back through the CSV
export of each table, which the page, the CSV and the PDF report all share.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date, datetime, timedelta

import factory
import pytest
import time_machine

from rights_portal.accounts.models import Role
from rights_portal.cases.models import Case, CaseStatus, CaseType, ExtensionReason, Outcome
from rights_portal.clock import AMSTERDAM
from rights_portal.exams.models import AutomatedFlag, FlagReviewStatus, Recording
from rights_portal.extensions import db
from tests.conftest import login
from tests.factories import Base, ExamFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.postgres

TODAY = datetime(2026, 12, 2, 12, 0, tzinfo=AMSTERDAM)  # a Wednesday; the week ends Sun 6 Dec
PERIOD = {"from": "2026-09-01", "to": "2026-11-30"}
_references = itertools.count(1)


class CaseFactory(Base):
    """A case row with explicit dates (the dashboard reads rows; no workflow needed)."""

    class Meta:
        model = Case

    reference = factory.LazyFunction(lambda: f"RP-2026-{next(_references):06d}")
    case_type = CaseType.ACCESS
    status = CaseStatus.RECEIVED
    description = ""
    received_at = factory.LazyAttribute(
        lambda o: datetime.combine(o.received_on, datetime.min.time(), tzinfo=AMSTERDAM)
    )
    effective_due = factory.LazyAttribute(lambda o: o.statutory_due)
    extension_months = 0


def at(day: str, clock: str = "12:00") -> datetime:
    """An Amsterdam wall-clock moment."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=AMSTERDAM)


def d(day: str) -> date:
    return date.fromisoformat(day)


@pytest.fixture
def seeded(app_ctx):
    p1 = ProgrammeFactory(code="PA", name="Psychology")
    p2 = ProgrammeFactory(code="PB", name="Biology")
    e1 = ExamFactory(programme=p1)
    e2 = ExamFactory(programme=p2)
    student = UserFactory(programme_id=p1.id)
    h1 = UserFactory(role=Role.CASE_HANDLER, full_name="Hanna Handler", email="h1@uni.example")
    h2 = UserFactory(role=Role.CASE_HANDLER, full_name="Bas Behandelaar", email="h2@uni.example")
    UserFactory(role=Role.DPO, email="dpo@uni.example")
    UserFactory(role=Role.ADMIN, email="admin@uni.example")
    UserFactory(role=Role.STUDENT, email="student@uni.example")
    board = UserFactory(role=Role.EXAM_BOARD, email="board@uni.example")
    common = {"subject_id": student.id, "filed_by_id": student.id}

    def open_case(case_type, status, programme, due, assignee=None):
        exam = {p1.id: e1, p2.id: e2}[programme.id] if case_type.needs_exam else None
        return CaseFactory(
            case_type=case_type,
            status=status,
            programme_id=programme.id,
            exam_id=exam.id if exam else None,
            received_on=d(due) - timedelta(days=30),
            statutory_due=d(due),
            assignee_id=assignee.id if assignee else None,
            **common,
        )

    A, OBJ, ALT = CaseType.ACCESS, CaseType.OBJECTION, CaseType.ALTERNATIVE_EXAM  # noqa: N806
    REC, REV, AWAIT = (  # noqa: N806
        CaseStatus.RECEIVED,
        CaseStatus.IN_REVIEW,
        CaseStatus.AWAITING_REQUESTER,
    )
    # Open cases (received 30 days before their due date, so all inside the period).
    c = {
        "c1": open_case(A, REC, p1, "2026-12-04"),  # due this week
        "c2": open_case(A, REV, p1, "2026-11-24", h1),  # overdue 8 days
        "c3": open_case(OBJ, REV, p2, "2026-12-06", h2),  # due Sunday
        "c4": open_case(OBJ, REC, p2, "2026-11-19"),  # overdue 13 days, unassigned
        "c5": open_case(A, AWAIT, p1, "2026-11-26"),  # paused: clock stands still, not overdue
        "c6": open_case(ALT, REV, p1, "2026-12-07", h1),  # next Monday: not this week
        "c7": open_case(A, REV, p2, "2026-11-15", h1),  # overdue 17 days
        "c8": open_case(A, REC, p2, "2026-12-02"),  # due today
    }

    def decided(case_type, programme, received, statutory, decided_at, outcome, **kw):
        exam = {p1.id: e1, p2.id: e2}[programme.id] if case_type.needs_exam else None
        return CaseFactory(
            case_type=case_type,
            status=CaseStatus.DECIDED,
            programme_id=programme.id,
            exam_id=exam.id if exam else None,
            received_on=d(received),
            statutory_due=d(statutory),
            outcome=outcome,
            decided_at=decided_at,
            decided_by_id=h1.id,
            decision_reasons="reasons",
            legal_basis=case_type.legal_basis,
            **common,
            **kw,
        )

    G, P, R = Outcome.GRANTED, Outcome.PARTLY_GRANTED, Outcome.REJECTED  # noqa: N806
    two_months = {
        "extension_months": 2,
        "extension_reason": ExtensionReason.COMPLEXITY,
        "extension_explanation": "many recordings",
    }
    c |= {
        "d1": decided(A, p1, "2026-09-01", "2026-10-01", at("2026-09-21"), G),  # 20 d, in time
        # 00:30 on 13 Oct in Amsterdam is still 12 Oct in UTC: late, by the local date.
        "d2": decided(A, p1, "2026-09-10", "2026-10-12", at("2026-10-13", "00:30"), G),  # 33 d
        # Received before the period: its extension does not count in the period.
        "d3": decided(A, p2, "2026-08-03", "2026-11-03", at("2026-10-20"), P, **two_months),  # 78
        "d4": decided(OBJ, p1, "2026-10-01", "2026-11-02", at("2026-10-05"), G),  # 4 d, in time
        # A rejected objection names the compelling grounds (art. 21(1); a CHECK constraint).
        "d5": decided(
            OBJ,
            p1,
            "2026-10-02",
            "2026-11-02",
            at("2026-11-10"),
            R,
            compelling_grounds="No other supervised sitting exists this term.",
        ),  # 39 d, late
        "d6": decided(OBJ, p2, "2026-10-03", "2026-11-03", at("2026-10-07"), G),  # 4 d, in time
        "d7": decided(OBJ, p2, "2026-10-05", "2026-11-05", at("2026-10-09"), P),  # 4 d, in time
        "d8": decided(A, p1, "2026-08-01", "2026-09-01", at("2026-08-15"), G),  # before period
        # 00:30 on 1 Dec in Amsterdam is 30 Nov in UTC: after the period, by the local date.
        "d9": decided(A, p1, "2026-11-01", "2026-12-01", at("2026-12-01", "00:30"), G),
        "d10": decided(
            A,
            p1,
            "2026-09-15",
            "2026-11-16",
            at("2026-11-16", "18:00"),
            G,
            extension_months=1,
            extension_reason=ExtensionReason.NUMBER_OF_REQUESTS,
            extension_explanation="many requests",
        ),  # 62 d, in time
        "d11": decided(
            A, p2, "2026-09-20", "2026-12-21", at("2026-11-30", "20:00"), G, **two_months
        ),  # 71 d, in time
    }

    def recording(exam, retention_until):
        rec = Recording(
            student_id=student.id,
            exam_id=exam.id,
            recorded_at=at("2026-10-01"),
            retention_until=d(retention_until),
        )
        db.session.add(rec)
        db.session.flush()
        return rec

    r1 = recording(e1, "2026-12-10")
    r2 = recording(e2, "2026-12-10")
    recording(e1, "2026-12-20")
    recording(e1, "2027-01-05")  # beyond 30 days
    recording(e1, "2026-11-30")  # already past

    def flag(rec, status, raised="2026-10-10"):
        reviewed = status is not FlagReviewStatus.UNREVIEWED
        # A reviewed flag names its reviewer and reasons (R18; a CHECK constraint).
        db.session.add(
            AutomatedFlag(
                recording_id=rec.id,
                code="gaze",
                description="looked away",
                raised_at=at(raised),
                review_status=status,
                reviewed_by_id=board.id if reviewed else None,
                reviewed_at=at("2026-10-20") if reviewed else None,
                review_reasons="Watched the recording." if reviewed else None,
            )
        )

    U, N, S = (  # noqa: N806
        FlagReviewStatus.UNREVIEWED,
        FlagReviewStatus.NO_IRREGULARITY,
        FlagReviewStatus.IRREGULARITY_SUSPECTED,
    )
    for rec, status in [(r1, U), (r1, U), (r1, N), (r2, S), (r2, U)]:
        flag(rec, status)
    flag(r1, U, raised="2026-08-01")  # before the period
    db.session.commit()
    return {"p1": p1, "p2": p2, **c}


def table(client, key, **args):
    response = client.get(f"/staff/dpo/export/{key}.csv", query_string={**PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    return rows[1:]


@pytest.fixture(autouse=True)
def _today():
    """Every test runs on TODAY, logins included (a session older than 8 hours is refused)."""
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def dpo(app, seeded):
    client = app.test_client()
    login(client, "dpo@uni.example")
    return client


ACCESS = "Access to recordings and data"
OBJECTION = "Objection to online proctoring"
ALTERNATIVE = "Request for an alternative exam"


def test_open_cases_by_type_and_status_equal_the_seeded_cases(dpo):
    assert table(dpo, "open") == [
        [ACCESS, "Received", "2"],  # c1, c8
        [ACCESS, "In review", "2"],  # c2, c7
        [ACCESS, "Waiting for the requester", "1"],  # c5 (staff wording)
        [OBJECTION, "Received", "1"],  # c4
        [OBJECTION, "In review", "1"],  # c3
        [ALTERNATIVE, "In review", "1"],  # c6
    ]


def test_due_this_week_runs_from_today_to_sunday_and_skips_paused_cases(dpo):
    assert table(dpo, "due-this-week") == [
        ["2026-12-02", ACCESS, "1"],  # c8, today
        ["2026-12-04", ACCESS, "1"],  # c1
        ["2026-12-06", OBJECTION, "1"],  # c3, Sunday; c6 (Monday) is next week
    ]


def test_overdue_cases_are_listed_with_their_handler(dpo, seeded):
    assert table(dpo, "overdue") == [
        ["Hanna Handler", "2", "2026-11-15"],  # c2, c7
        ["Nobody yet", "1", "2026-11-19"],  # c4; c5 is paused and not counted
    ]
    assert table(dpo, "overdue-cases") == [
        [seeded["c7"].reference, ACCESS, "2026-11-15", "17", "Hanna Handler"],
        [seeded["c4"].reference, OBJECTION, "2026-11-19", "13", "Nobody yet"],
        [seeded["c2"].reference, ACCESS, "2026-11-24", "8", "Hanna Handler"],
    ]


def test_share_decided_within_the_legal_term_is_counted_per_amsterdam_month(dpo):
    assert table(dpo, "within-term") == [
        ["2026-09", "1", "1", "100.0"],  # d1
        ["2026-10", "5", "4", "80.0"],  # d2 late; d3, d4, d6, d7 in time
        ["2026-11", "3", "2", "66.7"],  # d5 late; d10, d11 in time (d9 is 1 Dec locally)
    ]


def test_the_programme_filter_narrows_every_period_figure(dpo, seeded):
    programme = {"programme": str(seeded["p1"].id)}
    assert table(dpo, "within-term", **programme) == [
        ["2026-09", "1", "1", "100.0"],  # d1
        ["2026-10", "2", "1", "50.0"],  # d2 late, d4 in time
        ["2026-11", "2", "1", "50.0"],  # d5 late, d10 in time
    ]
    assert table(dpo, "objections", **programme) == [["PA Psychology", "1", "0", "1"]]
    assert table(dpo, "flags", **programme) == [
        ["Not yet reviewed", "2"],
        ["Reviewed: no irregularity", "1"],
    ]
    assert table(dpo, "retention", **programme) == [["2026-12-10", "1"], ["2026-12-20", "1"]]


def test_median_days_to_decision_per_type(dpo):
    assert table(dpo, "median-days") == [
        [ACCESS, "5", "62.0"],  # 20, 33, 62, 71, 78
        [OBJECTION, "4", "4.0"],  # 4, 4, 4, 39
    ]


def test_an_even_count_has_the_mean_of_its_two_middle_values_as_median(dpo, seeded):
    assert table(dpo, "median-days", programme=str(seeded["p2"].id)) == [
        [ACCESS, "2", "74.5"],  # d11 71, d3 78
        [OBJECTION, "2", "4.0"],  # d6 4, d7 4
    ]


def test_extensions_and_their_reasons_for_cases_received_in_the_period(dpo):
    assert table(dpo, "extensions") == [
        ["the request is complex", "2", "1"],  # d11 (d3 was received before the period)
        ["we have received many requests", "1", "1"],  # d10
    ]
    page = dpo.get("/staff/dpo", query_string=PERIOD).get_data(as_text=True)
    # 8 open cases and d1, d2, d4, d5, d6, d7, d9, d10, d11 were received in the period.
    assert "2 of 17 cases received in the period were extended (11.8%)." in page


def test_objections_upheld_and_rejected_per_programme(dpo):
    assert table(dpo, "objections") == [
        ["PA Psychology", "1", "0", "1"],  # d4 upheld, d5 rejected
        ["PB Biology", "1", "1", "0"],  # d6 upheld, d7 partly
    ]


def test_late_alternatives_are_a_stub_until_alternatives_are_scheduled(dpo):
    assert table(dpo, "late-alternatives") == []


def test_flags_reviewed_and_unreviewed_in_the_period(dpo):
    assert table(dpo, "flags") == [
        ["Not yet reviewed", "3"],  # the one raised in August is outside the period
        ["Reviewed: no irregularity", "1"],
        ["Reviewed: irregularity suspected", "1"],
    ]


def test_upcoming_retention_deletions_in_the_next_30_days(dpo):
    assert table(dpo, "retention") == [["2026-12-10", "2"], ["2026-12-20", "1"]]


def test_the_page_shows_each_chart_as_accessible_svg_with_its_table_and_csv_link(dpo):
    response = dpo.get("/staff/dpo", query_string=PERIOD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script" not in page
    charts = page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')
    assert charts == 9  # every figure but the two plain lists
    assert page.count('role="img"') == charts and page.count("<title id=") == charts
    assert page.count("<table") == 11
    assert page.count("/staff/dpo/export/") == 11
    assert "/staff/dpo/export/open.csv?from=2026-09-01&amp;to=2026-11-30" in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_bad_filters_are_refused_with_a_message(dpo):
    response = dpo.get("/staff/dpo", query_string={"from": "2026-12-01", "to": "2026-11-01"})
    assert response.status_code == 400
    assert "The end date must not be before the start date." in response.get_data(as_text=True)
    assert dpo.get("/staff/dpo", query_string={"from": "yesterday"}).status_code == 400
    assert dpo.get("/staff/dpo", query_string={"programme": "999"}).status_code == 400
    assert dpo.get("/staff/dpo/export/nothing.csv").status_code == 404


def test_the_dashboard_is_for_the_dpo_and_case_handlers_only(app, seeded):
    expected = {
        "dpo@uni.example": 200,
        "h1@uni.example": 200,
        "admin@uni.example": 403,
        "student@uni.example": 403,
        "board@uni.example": 403,
    }
    for email, status in expected.items():
        client = app.test_client()
        login(client, email)
        assert client.get("/staff/dpo").status_code == status, email
        assert client.get("/staff/dpo/export/open.csv").status_code == status, email
    anonymous = app.test_client()
    assert anonymous.get("/staff/dpo").status_code == 302

"""The staff queue at scale (docs/rules.md#targets): keyset pages, a capped count, eager loading,
programmes.

The benchmarks in ``bench/`` measure the queue with a million cases; these tests pin down the
behaviour those measurements rely on, on a few dozen cases.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from rights_portal.accounts.models import Role
from rights_portal.cases.models import Case, CaseStatus, CaseType
from rights_portal.extensions import db
from rights_portal.staff import queue as staff_queue
from tests.conftest import login
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member

pytestmark = pytest.mark.postgres

NEXT_RE = re.compile(r'href="(/staff/queue\?[^"]*after=[^"]+)"')
REFERENCE_RE = re.compile(r">(RP-2026-\d{6})</a>")


def make_case(
    number: int,
    *,
    due: date,
    subject,
    programme=None,
    status: CaseStatus = CaseStatus.RECEIVED,
    assignee=None,
    exam=None,
) -> Case:
    received = due - timedelta(days=30)
    case = Case(
        reference=f"RP-2026-{number:06d}",
        case_type=CaseType.ACCESS if exam is None else CaseType.OBJECTION,
        status=status,
        subject_id=subject.id,
        filed_by_id=subject.id,
        exam_id=None if exam is None else exam.id,
        programme_id=None if programme is None else programme.id,
        received_at=datetime(received.year, received.month, received.day, 9, tzinfo=UTC),
        received_on=received,
        statutory_due=due,
        effective_due=due,
        assignee_id=None if assignee is None else assignee.id,
    )
    db.session.add(case)
    db.session.flush()
    return case


def walk(client, path: str) -> tuple[list[str], int]:
    """Follow the queue's "Next page" links from ``path``; return references in order, pages."""
    seen: list[str] = []
    pages = 0
    while path and pages < 20:
        response = client.get(path.replace("&amp;", "&"))
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        seen += REFERENCE_RE.findall(page)
        pages += 1
        found = NEXT_RE.search(page)
        path = found.group(1) if found else ""
    return seen, pages


@pytest.mark.parametrize("status", ["open", "all"])
def test_queue_pages_through_every_case_exactly_once_in_due_date_order(app, app_ctx, status):
    student = UserFactory()
    UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    # Six due dates for 120 cases: pages end in the middle of a day, so the id breaks the tie.
    days = [date(2026, 12, 1) + timedelta(days=d) for d in (5, 0, 3, 1, 4, 2)]
    open_cases = [make_case(n, due=days[n % 6], subject=student) for n in range(1, 121)]
    closed = [
        make_case(n, due=days[n % 6], subject=student, status=CaseStatus.CLOSED)
        for n in range(121, 126)
    ]
    db.session.commit()
    expected = open_cases + (closed if status == "all" else [])
    expected.sort(key=lambda c: (c.effective_due, c.id))

    client = app.test_client()
    login(client, "handler@uni.example")
    seen, pages = walk(client, f"/staff/queue?status={status}")

    assert seen == [c.reference for c in expected]
    assert pages == -(-len(expected) // staff_queue.PAGE_SIZE)


def test_queue_loads_students_assignees_and_exams_with_the_cases_not_per_row(app, app_ctx):
    programme = ProgrammeFactory()
    UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    for n in range(1, 41):
        make_case(
            n,
            due=date(2026, 12, 1) + timedelta(days=n % 9),
            subject=UserFactory(full_name=f"Student {n}"),
            programme=programme,
            status=CaseStatus.IN_REVIEW,
            assignee=UserFactory(role=Role.CASE_HANDLER, full_name=f"Handler {n}"),
            exam=ExamFactory(programme=programme, title=f"Exam {n}"),
        )
    db.session.commit()
    client = app.test_client()
    login(client, "handler@uni.example")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get("/staff/queue").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert "Student 40" in page and "Handler 40" in page and "Exam 40" in page
    # The user, the programmes, the page and the count: not three more per case shown.
    assert len(statements) <= 6, statements


def test_queue_counts_exactly_up_to_the_cap_and_says_more_than_beyond(app, app_ctx, monkeypatch):
    student = UserFactory()
    small, large = ProgrammeFactory(name="Small programme"), ProgrammeFactory()
    UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    for n in range(1, 8):
        make_case(n, due=date(2026, 12, n), subject=student, programme=large if n > 3 else small)
    db.session.commit()
    monkeypatch.setattr(staff_queue, "COUNT_CAP", 5)
    client = app.test_client()
    login(client, "handler@uni.example")

    everything = client.get("/staff/queue").get_data(as_text=True)
    filtered = client.get(f"/staff/queue?programme={small.id}").get_data(as_text=True)

    assert "More than 5 cases" in everything and "7 cases" not in everything
    assert "3 cases" in filtered


def test_queue_filters_by_programme_and_offers_a_board_member_only_their_programmes(app, app_ctx):
    student = UserFactory()
    psychology = ProgrammeFactory(name="Psychology")
    law = ProgrammeFactory(name="Law")
    UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    board_member(law, email="board@uni.example")
    ours = make_case(1, due=date(2026, 12, 1), subject=student, programme=law)
    theirs = make_case(2, due=date(2026, 12, 2), subject=student, programme=psychology)
    db.session.commit()
    handler = app.test_client()
    login(handler, "handler@uni.example")
    board = app.test_client()
    login(board, "board@uni.example")

    only_law = handler.get(f"/staff/queue?programme={law.id}").get_data(as_text=True)
    bogus = handler.get("/staff/queue?programme=999999")
    board_page = board.get(f"/staff/queue?programme={psychology.id}").get_data(as_text=True)

    assert ours.reference in only_law and theirs.reference not in only_law
    # An unknown programme is ignored, like an unknown type: the whole queue, not an error.
    assert bogus.status_code == 200 and theirs.reference in bogus.get_data(as_text=True)
    assert ">Law</option>" in board_page and ">Psychology</option>" not in board_page
    assert theirs.reference not in board_page and ours.reference in board_page


def test_queue_escapes_every_name_it_shows_as_the_templates_do(app, app_ctx):
    # The rows are escaped in Python (staff/queue_lines.py) and printed with autoescaping off:
    # names, exam titles and programme names must come out exactly as Jinja would escape them.
    from markupsafe import escape

    nasty = "<script>alert('x')</script> & \"Jansen\""
    programme = ProgrammeFactory(name=f"Programme {nasty}")
    UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    make_case(
        1,
        due=date(2026, 12, 1),
        subject=UserFactory(full_name=f"Student {nasty}"),
        programme=programme,
        assignee=UserFactory(role=Role.CASE_HANDLER, full_name=f"Handler {nasty}"),
        exam=ExamFactory(programme=programme, title=f"Exam {nasty}"),
    )
    db.session.commit()
    client = app.test_client()
    login(client, "handler@uni.example")

    page = client.get(f"/staff/queue?programme={programme.id}").get_data(as_text=True)

    assert "<script>" not in page and "alert('x')" not in page
    for shown in ("Student", "Handler", "Exam", "Programme"):
        assert str(escape(f"{shown} {nasty}")) in page, shown
    assert f'<option value="{programme.id}" selected>' in page

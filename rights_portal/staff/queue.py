"""The staff queue: which cases a member of staff sees, in what order, a page at a time.

Cases by effective due date, soonest first, filtered by status, type, assignee, overdue and
programme, in keyset pages on (effective due date, id) so that a page deep in a million cases
costs what the first one costs (docs/rules.md#targets, bench/README.md). A page is read as plain
rows of the columns it shows rather than as ORM objects with their people and exams: building
those objects took about as long as rendering the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ScalarSelect, Select, func, null, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from ..accounts.models import User
from ..cases import registry
from ..cases.models import OPEN_STATUSES, Case, CaseStatus, CaseType
from ..clock import today_local
from ..exams.models import Exam, Programme
from ..extensions import db
from ..permissions import visible_cases_clause, visible_programmes_clause

PAGE_SIZE = 50
# The queue counts matching cases up to this many and says "more than" beyond: an exact count
# of a million closed cases costs a scan of them on every page view (docs/rules.md#targets,
# bench/README).
COUNT_CAP = 1000
FILTER_KEYS = ("status", "type", "assignee", "overdue", "programme")
# Made once: an alias builds a proxy of each of the table's columns, ~0.5 ms a page if per request.
SUBJECT = aliased(User, name="subject")
ASSIGNEE = aliased(User, name="assignee")


class BadCursor(ValueError):
    """The ``after`` parameter of a queue page is not one the queue wrote."""


class QueueRow(NamedTuple):
    """One line of the queue: what the page shows of a case (a tuple: fifty a page, built fast)."""

    reference: str
    case_type: CaseType
    status: CaseStatus
    effective_due: date
    urgent: bool
    extension_months: int
    subject_name: str
    assignee_name: str | None
    exam_label: str | None
    case_id: int

    @property
    def is_open(self) -> bool:
        """Whether the case still runs against its deadline."""
        return self.status.is_open

    @property
    def cursor(self) -> str:
        """The keyset position just after this row, for the next page's ``after``."""
        return f"{self.effective_due.isoformat()}_{self.case_id}"


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue: its rows, the count under its filters, the next page's cursor.

    And the programmes to filter by, when they were asked for with the page.
    """

    rows: list[QueueRow]
    total: int
    next_after: str | None
    programmes: list[ProgrammeChoice] | None = None


class ProgrammeChoice(NamedTuple):
    """A programme the queue can be filtered by."""

    id: int
    name: str


def programmes_for(user: User) -> list[ProgrammeChoice]:
    """The programmes the queue can be filtered by: an exam board member's own, or all."""
    query = (
        select(Programme.id, Programme.name)
        .where(visible_programmes_clause(user))
        .order_by(Programme.name)
    )
    return [ProgrammeChoice(*row) for row in db.session.execute(query)]


def _programmes_column(user: User) -> ScalarSelect[Any]:
    """:func:`programmes_for` as one JSON column of the page's statement (NULL for none)."""
    pair = func.json_build_array(Programme.id, Programme.name)
    return (
        select(func.json_agg(aggregate_order_by(pair, Programme.name)))
        .where(visible_programmes_clause(user))
        .correlate(None)
        .scalar_subquery()
    )


def filtered_cases(user: User, args: dict[str, str]) -> Select[Case]:
    """The cases ``user`` may see that match the queue filters in ``args``."""
    query = select(Case).where(visible_cases_clause(user))
    status = args.get("status", "open")
    if status == "open":
        query = query.where(Case.status.in_(OPEN_STATUSES))
    elif status in {s.value for s in CaseStatus}:
        query = query.where(Case.status == CaseStatus(status))
    if registry.is_registered(args.get("type", "")):
        query = query.where(Case.case_type == args["type"])
    assignee = args.get("assignee", "")
    if assignee == "me":
        query = query.where(Case.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(Case.assignee_id.is_(None))
    if args.get("overdue") == "1":
        if status != "open":
            # Not twice: PostgreSQL then takes the two conditions as independent, expects a
            # handful of rows and picks a plan that sorts them all (bench/README.md).
            query = query.where(Case.status.in_(OPEN_STATUSES))
        query = query.where(Case.effective_due < today_local())
    if args.get("programme", "").isdigit():
        query = query.where(Case.programme_id == int(args["programme"]))
    return query


def capped_count(query: Select[Case]) -> int:
    """How many cases ``query`` matches, counted no further than ``COUNT_CAP + 1``."""
    return db.session.scalar(_capped_count(query)) or 0


def _capped_count(query: Select[Case]) -> Select[int]:
    first = query.with_only_columns(Case.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(first)


def _parse_cursor(after: str) -> tuple[date, int]:
    try:
        due_text, id_text = after.split("_", 1)
        return date.fromisoformat(due_text), int(id_text)
    except ValueError as exc:
        raise BadCursor(after) from exc


def queue_page(
    user: User, args: dict[str, str], after: str = "", *, with_programmes: bool = False
) -> QueuePage:
    """The page of the queue after keyset position ``after`` (the first page when empty).

    One statement: the page's rows, each carrying the capped count of every case under the
    filters (an uncorrelated subquery, computed once) and, ``with_programmes``, the programmes
    to filter by (:func:`programmes_for`, as JSON). Only an empty page asks for them apart.
    Raises :class:`BadCursor` for an ``after`` the queue did not write.
    """
    matching = filtered_cases(user, args)
    # PostgreSQL's ordered json_agg carries the programmes in the same statement; the embedded
    # default (SQLite) has no ordered aggregate and asks for them apart.
    embed_programmes = with_programmes and db.session.get_bind().dialect.name == "postgresql"
    query = matching
    if after:
        query = query.where(tuple_(Case.effective_due, Case.id) > _parse_cursor(after))
    rows = db.session.execute(
        query.with_only_columns(
            Case.reference,
            Case.case_type,
            Case.status,
            Case.effective_due,
            Case.urgent,
            Case.extension_months,
            SUBJECT.full_name,
            ASSIGNEE.full_name,
            Exam.course_code,
            Exam.title,
            Case.id,
            _capped_count(matching).correlate(None).scalar_subquery(),
            _programmes_column(user) if embed_programmes else null(),
        )
        .join(SUBJECT, Case.subject_id == SUBJECT.id)
        .outerjoin(ASSIGNEE, Case.assignee_id == ASSIGNEE.id)
        .outerjoin(Exam, Case.exam_id == Exam.id)
        .order_by(Case.effective_due, Case.id)
        .limit(PAGE_SIZE + 1)
    ).all()
    label_of = Exam.label_of
    page = [
        QueueRow(*row[:8], None if row[8] is None else label_of(row[8], row[9]), row[10])
        for row in rows[:PAGE_SIZE]
    ]
    next_after = page[-1].cursor if len(rows) > PAGE_SIZE else None
    if not rows:  # no row to carry them: the count is 0 on the first page, else asked apart
        return QueuePage(
            rows=[],
            total=capped_count(matching) if after else 0,
            next_after=None,
            programmes=programmes_for(user) if with_programmes else None,
        )
    programmes = None
    if embed_programmes:
        programmes = [ProgrammeChoice(*pair) for pair in rows[0][12] or ()]
    elif with_programmes:
        programmes = programmes_for(user)
    return QueuePage(rows=page, total=rows[0][11], next_after=next_after, programmes=programmes)

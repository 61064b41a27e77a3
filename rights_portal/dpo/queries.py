"""The dashboard's figures: one aggregate SQL query per figure (docs/rules.md: the DPO oversees).

Every function takes the same :class:`Filters` (a period in Amsterdam dates and an optional
programme) and returns a short list of rows computed by ``GROUP BY`` in the database: no Python
loop ever walks the cases. Figures about "now" (open, due this week, overdue, upcoming retention
deletions) ignore the period and keep the programme; figures about what happened use the period.
The indexes these queries lean on are declared in :mod:`rights_portal.dpo.models`.

This module reads; it never writes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import aliased

from ..accounts.models import User
from ..cases.models import OPEN_STATUSES, Case, CaseStatus, CaseType, Outcome
from ..cases.reminders import clock_running
from ..clock import AMSTERDAM, as_utc
from ..examboard.models import AlternativeExam
from ..exams.models import AutomatedFlag, Exam, FlagReviewStatus, Programme, Recording
from ..extensions import db
from .sql import amsterdam_date, days_between, month_start

#: Recordings whose retention ends within this many days count as upcoming deletions (R25).
RETENTION_HORIZON_DAYS = 30


@dataclass(frozen=True)
class Filters:
    """A period (Amsterdam dates, both inclusive), an optional programme, and today's date."""

    start: date
    end: date
    programme_id: int | None
    today: date

    @property
    def start_utc(self) -> datetime:
        """The first instant of ``start`` in Amsterdam, in UTC (so indexes on UTC columns work)."""
        return as_utc(datetime.combine(self.start, time(0), tzinfo=AMSTERDAM))

    @property
    def end_utc(self) -> datetime:
        """The first instant after ``end`` in Amsterdam, in UTC (exclusive bound)."""
        return as_utc(datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=AMSTERDAM))

    @property
    def week_end(self) -> date:
        """The Sunday of the current week."""
        return self.today + timedelta(days=6 - self.today.weekday())

    def programme(self, column: Any) -> ColumnElement[bool]:
        """Restrict ``column`` to the chosen programme, or nothing when none is chosen."""
        return true() if self.programme_id is None else column == self.programme_id


def in_enum_order(column: Any, enum_class: type[enum.Enum]) -> Any:
    """Sort by the enum's declared order (received before in review), not alphabetically."""
    return case({member.value: index for index, member in enumerate(enum_class)}, value=column)


def _rows(statement: Any) -> list[Row[Any]]:
    return list(db.session.execute(statement).all())


def _decided_in_period(f: Filters) -> ColumnElement[bool]:
    """Decided on an Amsterdam date in the period.

    The expression is the one ix_cases_decided_local_date indexes, so PostgreSQL reads it there.
    """
    decided_on = amsterdam_date(Case.decided_at)
    return and_(
        Case.decided_at.is_not(None),
        decided_on >= f.start,
        decided_on <= f.end,
        f.programme(Case.programme_id),
    )


def open_by_type_and_status(f: Filters) -> list[Row[Any]]:
    """Open cases now: (case_type, status, count)."""
    return _rows(
        select(Case.case_type, Case.status, func.count().label("cases"))
        .where(Case.status.in_(OPEN_STATUSES), f.programme(Case.programme_id))
        .group_by(Case.case_type, Case.status)
        .order_by(in_enum_order(Case.case_type, CaseType), in_enum_order(Case.status, CaseStatus))
    )


def due_this_week(f: Filters) -> list[Row[Any]]:
    """Open cases with a running clock due from today to Sunday: (due, case_type, count)."""
    return _rows(
        select(Case.effective_due, Case.case_type, func.count().label("cases"))
        .where(
            clock_running(),
            Case.effective_due >= f.today,
            Case.effective_due <= f.week_end,
            f.programme(Case.programme_id),
        )
        .group_by(Case.effective_due, Case.case_type)
        .order_by(Case.effective_due, in_enum_order(Case.case_type, CaseType))
    )


def overdue_by_handler(f: Filters) -> list[Row[Any]]:
    """Overdue cases now, per handler (None = unassigned): (handler, count, oldest due)."""
    handler = aliased(User)
    return _rows(
        select(
            handler.full_name.label("handler"),
            func.count().label("cases"),
            func.min(Case.effective_due).label("oldest_due"),
        )
        .select_from(Case)
        .outerjoin(handler, handler.id == Case.assignee_id)
        .where(clock_running(), Case.effective_due < f.today, f.programme(Case.programme_id))
        .group_by(Case.assignee_id, handler.full_name)
        .order_by(func.count().desc(), handler.full_name)
    )


def overdue_cases(f: Filters, limit: int | None = 100) -> list[Row[Any]]:
    """The overdue cases themselves, most overdue first: (reference, type, due, days, handler)."""
    handler = aliased(User)
    statement = (
        select(
            Case.reference,
            Case.case_type,
            Case.effective_due,
            days_between(literal(f.today), Case.effective_due).label("days_overdue"),
            handler.full_name.label("handler"),
        )
        .select_from(Case)
        .outerjoin(handler, handler.id == Case.assignee_id)
        .where(clock_running(), Case.effective_due < f.today, f.programme(Case.programme_id))
        .order_by(Case.effective_due, Case.id)
    )
    return _rows(statement if limit is None else statement.limit(limit))


def decided_within_term_by_month(f: Filters) -> list[Row[Any]]:
    """Decisions per month (Amsterdam): (month, decided, within term).

    Within term = decided on or before the statutory due date, which already includes the
    extension and pauses the law allows (R4, R6). Counted per day first, in the order of the
    index on the local decision date (no sort of the cases), then per month.
    """
    decided_on = amsterdam_date(Case.decided_at)
    per_day = (
        select(
            decided_on.label("decided_on"),
            func.count().label("decided"),
            func.sum(case((decided_on <= Case.statutory_due, 1), else_=0)).label("within_term"),
        )
        .where(_decided_in_period(f))
        .group_by(decided_on)
        .subquery()
    )
    month = month_start(per_day.c.decided_on).label("month")
    return _rows(
        select(
            month,
            func.sum(per_day.c.decided).label("decided"),
            func.sum(per_day.c.within_term).label("within_term"),
        )
        .group_by(month)
        .order_by(month)
    )


def median_days_to_decision(f: Filters) -> list[Row[Any]]:
    """Per type, for cases decided in the period: (case_type, decided, median calendar days).

    Computed from a histogram (cases per type and number of days), not by sorting the cases: the
    median is the middle of the running count, averaged over the two middle values when the
    count is even. A histogram has a few hundred rows whatever the number of cases.
    """
    days = days_between(amsterdam_date(Case.decided_at), Case.received_on)
    histogram = (
        select(Case.case_type, days.label("days"), func.count().label("n"))
        .where(_decided_in_period(f))
        .group_by(Case.case_type, days)
        .subquery()
    )
    running = (
        select(
            histogram.c.case_type,
            histogram.c.days,
            cast(
                func.sum(histogram.c.n).over(
                    partition_by=histogram.c.case_type, order_by=histogram.c.days
                ),
                BigInteger,
            ).label("running"),
            cast(
                func.sum(histogram.c.n).over(partition_by=histogram.c.case_type), BigInteger
            ).label("total"),
        )
    ).subquery()
    lower_position = (running.c.total + 1) // 2
    upper_position = running.c.total // 2 + 1
    lower = func.min(running.c.days).filter(running.c.running >= lower_position)
    upper = func.min(running.c.days).filter(running.c.running >= upper_position)
    return _rows(
        select(
            running.c.case_type,
            func.max(running.c.total).label("decided"),
            ((lower + upper) / 2.0).label("median_days"),
        )
        .group_by(running.c.case_type)
        .order_by(in_enum_order(running.c.case_type, CaseType))
    )


def extensions_by_reason(f: Filters) -> list[Row[Any]]:
    """Cases received in the period that were extended: (reason, months, count) (R4)."""
    return _rows(
        select(Case.extension_reason, Case.extension_months, func.count().label("cases"))
        .where(
            Case.extension_months > 0,
            Case.received_on >= f.start,
            Case.received_on <= f.end,
            f.programme(Case.programme_id),
        )
        .group_by(Case.extension_reason, Case.extension_months)
        .order_by(Case.extension_reason, Case.extension_months)
    )


def received_in_period(f: Filters) -> int:
    """How many cases were received in the period (the base of the extension share)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Case)
            .where(
                Case.received_on >= f.start,
                Case.received_on <= f.end,
                f.programme(Case.programme_id),
            )
        )
        or 0
    )


def objections_by_programme(f: Filters) -> list[Row[Any]]:
    """Objections decided in the period per programme: (code, name, upheld, partly, rejected).

    Upheld = granted (R15, R17).
    """

    def count_of(outcome: Outcome) -> Any:
        return func.sum(case((Case.outcome == outcome, 1), else_=0))

    return _rows(
        select(
            Programme.code,
            Programme.name,
            count_of(Outcome.GRANTED).label("upheld"),
            count_of(Outcome.PARTLY_GRANTED).label("partly_upheld"),
            count_of(Outcome.REJECTED).label("rejected"),
        )
        .join(Programme, Programme.id == Case.programme_id)
        .where(Case.case_type == CaseType.OBJECTION, _decided_in_period(f))
        .group_by(Programme.id, Programme.code, Programme.name)
        .order_by(Programme.code)
    )


def alternatives_later_than_no_delay_limit(f: Filters) -> list[Row[Any]]:
    """Alternative exams scheduled later than the programme's no-delay limit (R17).

    The working days after the exam and the limit were judged when the board assigned the
    alternative (``beyond_limit``); one is only stored with a justification. Current offers
    assigned in the period, per programme: (code, name, later, with_justification).
    """
    justified = func.sum(
        case(
            (func.coalesce(func.length(func.trim(AlternativeExam.late_justification)), 0) > 0, 1),
            else_=0,
        )
    )
    statement = (
        select(
            Programme.code,
            Programme.name,
            func.count(AlternativeExam.id).label("later"),
            justified.label("with_justification"),
        )
        .join(Case, Case.id == AlternativeExam.case_id)
        .join(Programme, Programme.id == Case.programme_id)
        .where(
            AlternativeExam.beyond_limit.is_(True),
            AlternativeExam.superseded_at.is_(None),
            AlternativeExam.assigned_at >= f.start_utc,
            AlternativeExam.assigned_at < f.end_utc,
        )
        .group_by(Programme.id, Programme.code, Programme.name)
        .order_by(Programme.code)
    )
    if f.programme_id is not None:
        statement = statement.where(Case.programme_id == f.programme_id)
    return _rows(statement)


def flags_by_review_status(f: Filters) -> list[Row[Any]]:
    """Automated flags raised in the period by review status: (status, count) (R18)."""
    statement = (
        select(AutomatedFlag.review_status, func.count().label("flags"))
        .where(AutomatedFlag.raised_at >= f.start_utc, AutomatedFlag.raised_at < f.end_utc)
        .group_by(AutomatedFlag.review_status)
        .order_by(in_enum_order(AutomatedFlag.review_status, FlagReviewStatus))
    )
    if f.programme_id is not None:
        statement = (
            statement.join(Recording, Recording.id == AutomatedFlag.recording_id)
            .join(Exam, Exam.id == Recording.exam_id)
            .where(Exam.programme_id == f.programme_id)
        )
    return _rows(statement)


REVIEWED_STATUSES = (FlagReviewStatus.NO_IRREGULARITY, FlagReviewStatus.IRREGULARITY_SUSPECTED)


def upcoming_retention_deletions(f: Filters) -> list[Row[Any]]:
    """Recordings whose retention ends in the next 30 days: (retention_until, count) (R25)."""
    horizon = f.today + timedelta(days=RETENTION_HORIZON_DAYS)
    statement = (
        select(Recording.retention_until, func.count().label("recordings"))
        .where(Recording.retention_until >= f.today, Recording.retention_until <= horizon)
        .group_by(Recording.retention_until)
        .order_by(Recording.retention_until)
    )
    if f.programme_id is not None:
        statement = statement.join(Exam, Exam.id == Recording.exam_id).where(
            Exam.programme_id == f.programme_id
        )
    return _rows(statement)


def programmes() -> Sequence[Row[Any]]:
    """Programmes for the filter: (id, code, name)."""
    return _rows(select(Programme.id, Programme.code, Programme.name).order_by(Programme.code))

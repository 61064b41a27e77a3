"""Deadline arithmetic for privacy-rights cases (docs/rules.md R1-R4, R6, R7, R9, R10).

This module owns every date rule of a case and nothing else: working-day arithmetic on the Dutch
calendar of :mod:`rights_portal.cases.calendar` (weekends, the public holidays of the Algemene
termijnenwet art. 3 and any configured extra days), the calendar date in Europe/Amsterdam of a UTC
timestamp, the statutory due date (receipt + one calendar month, clamped to the month's last day,
plus any paused days, rolled once to the next working day), the extended and maximum due dates, the
exam-bound due date and the effective (earliest) due date, the shift caused by a pause, the urgency
flag for late exam-bound requests, the "days left" figures shown in queues, and the reminder
milestones a sweep has to record. It is plain Python: no database, no clock of its own (callers
pass ``today``), so every rule can be tested directly. The one thing it takes from a running app
is the calendar's configured extra non-working days (``EXTRA_NON_WORKING_DAYS``); without an app
the calendar is the statutory one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from . import calendar

__all__ = [
    "AMSTERDAM",
    "add_working_days",
    "current_statutory_due",
    "days_left",
    "effective_due",
    "exam_bound_due",
    "extended_due",
    "extension_allowed",
    "is_urgent",
    "is_working_day",
    "local_date",
    "max_extended_due",
    "next_working_day",
    "paused_days",
    "period_end",
    "question_pauses_clock",
    "reminder_keys_due",
    "shift_for_pause",
    "statutory_due",
    "working_days_between",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

#: Months added to the receipt date for the statutory due date (R2).
STATUTORY_MONTHS = 1
#: Extension months allowed on top of the statutory month (R4).
ALLOWED_EXTENSION_MONTHS = frozenset({1, 2})
#: An exam-bound date this many working days after receipt (or earlier) makes a case urgent (R7).
URGENT_WORKING_DAYS = 2
#: Default reminder offsets in calendar days before the effective due date (R9).
DEFAULT_REMINDER_OFFSETS: tuple[int, ...] = (7, 2, 0)

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def _require_date(value: date, name: str) -> None:
    """Reject datetimes where a calendar date is expected.

    ``datetime`` is a subclass of ``date`` but never compares equal to one, so a datetime would
    silently miss every holiday; callers must convert with :func:`local_date` first.
    """
    if isinstance(value, datetime):
        msg = f"{name} must be a date, not a datetime; convert it with local_date() first"
        raise TypeError(msg)


def is_working_day(day: date) -> bool:
    """Return whether ``day`` is a Dutch working day (R3).

    Not a Saturday or Sunday, not a public holiday of the Algemene termijnenwet art. 3(1)-(2) and
    not a day configured as equated with one (art. 3(3)); see :mod:`rights_portal.cases.calendar`.
    """
    _require_date(day, "day")
    return calendar.is_working_day(day)


def next_working_day(day: date) -> date:
    """Return ``day`` itself if it is a working day, otherwise the first working day after it."""
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def add_working_days(day: date, n: int) -> date:
    """Step ``n`` working days forward (``n > 0``) or backward (``n < 0``) from ``day``.

    ``day`` itself is not counted, so it need not be a working day; ``n == 0`` returns ``day``
    unchanged. For ``n != 0`` the result is always a working day.
    """
    _require_date(day, "day")
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def _weekdays_through(ordinal: int) -> int:
    """Return the number of Monday-Friday days with proleptic ordinal in ``1..ordinal``.

    Ordinal 1 (1 January of year 1) is a Monday, so every full block of seven ordinals holds
    five weekdays and a partial block of ``r`` days holds ``min(r, 5)``.
    """
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def working_days_between(start: date, end: date) -> int:
    """Return the number of working days ``d`` with ``start < d <= end``.

    When ``end`` is before ``start`` the result is the negated count of working days ``d`` with
    ``end < d <= start``, so ``working_days_between(a, b) == -working_days_between(b, a)``.
    This is the "5 working days left" figure.
    """
    _require_date(start, "start")
    _require_date(end, "end")
    if end < start:
        return -working_days_between(end, start)
    weekdays = _weekdays_through(end.toordinal()) - _weekdays_through(start.toordinal())
    weekday_holidays = sum(
        1
        for year in range(start.year, end.year + 1)
        for holiday in calendar.non_working_days(year)
        if start < holiday <= end and holiday.weekday() < _SATURDAY
    )
    return weekdays - weekday_holidays


def local_date(moment: datetime) -> date:
    """Return the calendar date in Europe/Amsterdam of ``moment``.

    Naive datetimes are taken to be UTC, because timestamps are stored in UTC. The conversion
    goes through the time-zone database, so it is right on both sides of a daylight-saving change
    (22:30 UTC is 23:30 local in winter but 00:30 the next day in summer).
    """
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(AMSTERDAM).date()


def period_end(received: date, months: int) -> date:
    """Add calendar months to the receipt date, clamped to a shorter month's last day (R2).

    This is the end of the period before any pause (R6) and before the working-day roll (R3).
    """
    _require_date(received, "received")
    return received + relativedelta(months=months)


def _months_later_working_day(received: date, months: int) -> date:
    """Add calendar months (clamped to the last day of a shorter month) and roll (R2, R3)."""
    return next_working_day(period_end(received, months))


def statutory_due(received: date) -> date:
    """Return the statutory due date of a request received on ``received`` (R2, R3).

    The same day number in the next calendar month, or that month's last day if it is shorter
    (5 March -> 5 April, 31 August -> 30 September, 31 January 2028 -> 29 February 2028), then
    moved to the next working day if it falls on a Saturday, Sunday or public holiday.
    """
    return _months_later_working_day(received, STATUTORY_MONTHS)


def extended_due(received: date, months: int) -> date:
    """Return the due date after extending by ``months`` (1 or 2) further months (R4).

    Computed like :func:`statutory_due` but with ``1 + months`` calendar months from receipt.

    Raises:
        ValueError: if ``months`` is not 1 or 2.

    """
    if isinstance(months, bool) or months not in ALLOWED_EXTENSION_MONTHS:
        msg = f"an extension is 1 or 2 months, not {months!r}"
        raise ValueError(msg)
    return _months_later_working_day(received, STATUTORY_MONTHS + months)


def max_extended_due(received: date) -> date:
    """Return the latest possible due date: receipt + 3 months, clamped and rolled (R4)."""
    return extended_due(received, max(ALLOWED_EXTENSION_MONTHS))


def exam_bound_due(exam_start: datetime, working_days: int = 5) -> date:
    """Return the date by which a request bound to an exam must be decided (R7).

    That is the Amsterdam calendar date of ``exam_start`` stepped back ``working_days`` working
    days; an exam on Monday 14 December 2026 with the default 5 gives Monday 7 December 2026.

    Raises:
        ValueError: if ``working_days`` is negative.

    """
    if working_days < 0:
        msg = f"working_days must not be negative, got {working_days}"
        raise ValueError(msg)
    return add_working_days(local_date(exam_start), -working_days)


def effective_due(statutory: date, exam_bound: date | None) -> date:
    """Return the effective due date: the earliest of the statutory and exam-bound dates (R7)."""
    if exam_bound is None:
        return statutory
    return min(statutory, exam_bound)


def shift_for_pause(end_of_period: date, paused_days: int) -> date:
    """Add ``paused_days`` calendar days to the end of a period, then roll once to a working day.

    R6: the paused days go on the end of the period as R2 computes it, *before* R3's weekend and
    holiday roll, which is applied once to the result. Pass the unrolled end of the period
    (:func:`period_end`), not an already rolled due date: received Thursday 5 March 2026, paused
    10 days, is 5 April + 10 = Wednesday 15 April 2026, not (Tuesday 7 April) + 10 = 17 April.

    Raises:
        ValueError: if ``paused_days`` is negative.

    """
    _require_date(end_of_period, "end_of_period")
    if paused_days < 0:
        msg = f"paused_days must not be negative, got {paused_days}"
        raise ValueError(msg)
    return next_working_day(end_of_period + timedelta(days=paused_days))


def current_statutory_due(received: date, extension_months: int, paused_days: int) -> date:
    """Return the statutory due date after any extension (R4) and completed pauses (R6).

    The period runs one month from receipt, plus the extension months (never more than R4's
    three months in total); the paused days are added to its end and the result is rolled to a
    working day once (R3, R6).

    Raises:
        ValueError: if ``extension_months`` is not 0, 1 or 2.

    """
    if extension_months and (
        isinstance(extension_months, bool) or extension_months not in ALLOWED_EXTENSION_MONTHS
    ):
        msg = f"an extension is 1 or 2 months, not {extension_months!r}"
        raise ValueError(msg)
    end = period_end(received, STATUTORY_MONTHS + extension_months)
    return shift_for_pause(end, paused_days)


def extension_allowed(first_due: date, today: date) -> bool:
    """Whether an extension may still be given (R4): notice must go out by the first due date."""
    _require_date(first_due, "first_due")
    _require_date(today, "today")
    return today <= first_due


def question_pauses_clock(received: date, asked_on: date, limit_working_days: int = 5) -> bool:
    """Whether a question to the requester pauses the clock (R6).

    Only a question asked promptly pauses it: no more than ``limit_working_days`` working days
    after receipt. A later question is still sent, but the clock keeps running.
    """
    return working_days_between(received, asked_on) <= limit_working_days


def paused_days(started_on: date, ended_on: date) -> int:
    """Calendar days a pause lasted: asked on Monday and answered on Thursday is 3 days (R6)."""
    return max((ended_on - started_on).days, 0)


def is_urgent(received: date, exam_bound: date | None) -> bool:
    """Return whether a request leaves too little time before its exam (R7).

    A case is urgent when its exam-bound date is on or before the receipt date plus
    two working days (including exam-bound dates already in the past). Such a request is
    still accepted, never rejected for lateness; it is only flagged.
    """
    if exam_bound is None:
        return False
    return exam_bound <= add_working_days(received, URGENT_WORKING_DAYS)


def days_left(due: date, today: date) -> tuple[int, int]:
    """Return ``(calendar days, working days)`` from ``today`` to ``due``.

    Both are negative when the case is overdue and zero on the due date itself. The working-day
    figure is :func:`working_days_between` ``(today, due)``.
    """
    _require_date(due, "due")
    _require_date(today, "today")
    return (due - today).days, working_days_between(today, due)


def reminder_keys_due(
    due: date,
    today: date,
    offsets: Sequence[int] = DEFAULT_REMINDER_OFFSETS,
) -> list[tuple[str, date]]:
    """Return every reminder milestone reached on or before ``today``, oldest first (R9, R10).

    Each milestone is ``(key, milestone_date)``:

    * for each offset ``o`` in ``offsets`` (calendar days before ``due``) whose date
      ``due - o days`` is on or before ``today``: key ``"before:<o>"``, or ``"due"`` for ``o == 0``;
    * for each day ``d`` with ``due < d <= today``: key ``"overdue:<d.isoformat()>"``.

    Milestones in the past are always included, also after the due date, so a sweep that did not
    run for a while catches up and skips nothing (R10). The keys are stable, so the caller records
    each ``(case, key)`` once and sends only the ones it has not recorded before (R9); deciding
    whether an old milestone is still worth sending is the caller's business. Duplicate offsets
    count once.

    Raises:
        ValueError: if an offset is negative (days after ``due`` are covered by overdue keys).

    """
    _require_date(due, "due")
    _require_date(today, "today")
    if any(offset < 0 for offset in offsets):
        msg = f"reminder offsets must not be negative, got {list(offsets)!r}"
        raise ValueError(msg)
    milestones: list[tuple[str, date]] = []
    for offset in sorted(set(offsets), reverse=True):
        milestone = due - timedelta(days=offset)
        if milestone <= today:
            milestones.append(("due" if offset == 0 else f"before:{offset}", milestone))
    day = due + _ONE_DAY
    while day <= today:
        milestones.append((f"overdue:{day.isoformat()}", day))
        day += _ONE_DAY
    return milestones

"""How a case's deadline reads on a page: the due-date cell and the status badges, in words.

Built in Python rather than in Jinja macros because the staff queue shows fifty cases a page:
as macros, with their translations and date formatting, they cost ~250 µs a row, most of the
page's time (bench/README.md). A cell depends only on the locale, today, the calendar and the
case's due date and state, so each is built once per process and day (a bounded cache) and
reused for every row and request that shows the same. A page of many cases takes a
:class:`DeadlineCells`, which reads the locale, today and the calendar once for the page
instead of once a row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from flask_babel import get_locale, gettext, ngettext
from markupsafe import Markup

from ..clock import today_local
from ..formatting import format_day
from . import calendar, deadlines, workflow
from .models import Case, CaseStatus


class HasDeadline(Protocol):
    """What these helpers read of a case: a :class:`Case`, or a row of the staff queue."""

    @property
    def status(self) -> CaseStatus: ...  # noqa: D102
    @property
    def effective_due(self) -> date: ...  # noqa: D102
    @property
    def urgent(self) -> bool: ...  # noqa: D102
    @property
    def extension_months(self) -> int: ...  # noqa: D102
    @property
    def is_open(self) -> bool: ...  # noqa: D102


# The cells are a pure function of their key: the locale (translations are fixed for the life
# of the process), today, the configured extra non-working days (the working-day count) and the
# case's own values. So they are kept across requests, up to a bound: a page's cells are mostly
# built once per process and day rather than once per request.
_CELLS: dict[tuple[Any, ...], Markup] = {}
_CELLS_LIMIT = 4096


def _cached(key: tuple[Any, ...], build: Callable[[], Markup]) -> Markup:
    html = _CELLS.get(key)
    if html is None:
        if len(_CELLS) >= _CELLS_LIMIT:
            _CELLS.clear()
        html = _CELLS[key] = build()
    return html


def _context() -> tuple[str, date, frozenset[date]]:
    # The locale belongs in the key: a request may render a mail in the recipient's language.
    return str(get_locale() or "nl"), today_local(), calendar.configured_extra_days()


def _time(due: date, text: str) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(due.isoformat(), text)


def _due_cell(due: date, is_open: bool, today: date) -> Markup:
    if not is_open:
        return Markup('<span class="due">{}</span>').format(_time(due, format_day(due)))
    calendar_days, working_days = deadlines.days_left(due, today)
    day = _time(due, format_day(due))
    if calendar_days < 0:
        left = Markup('<span class="badge badge-overdue">{}</span>').format(
            ngettext("Overdue by %(num)s day", "Overdue by %(num)s days", -calendar_days)
        )
    elif calendar_days == 0:
        left = Markup('<span class="days-left">{}</span>').format(gettext("Due today"))
    else:
        left = Markup('<span class="days-left">{}</span>').format(
            ngettext("%(num)s working day left", "%(num)s working days left", working_days)
        )
    return Markup('{} <span class="due">({})</span>').format(left, day)


def due_html(case: HasDeadline) -> Markup:
    """The due date in words: "5 working days left (Friday 12 December)", year if not this one."""
    due, is_open = case.effective_due, case.is_open
    context = _context()
    return _cached(("due", *context, due, is_open), lambda: _due_cell(due, is_open, context[1]))


def requester_due_html(case: Case) -> Markup:
    """The due date as the requester sees it (R7).

    A request filed after its exam-bound date cannot meet that date; the requester sees that it
    is handled with priority and the statutory date, not "overdue" from the day of filing.
    Staff keep seeing the exam-bound date (overdue, urgent) through :func:`due_html`.
    """
    if not (case.is_open and case.filed_after_exam_bound_date):
        return due_html(case)
    due = case.statutory_due
    # The translated text is escaped; only the <time> element around the date is markup.
    before, _, after = gettext("at the latest by %(date)s").partition("%(date)s")
    return Markup(
        '<span class="badge badge-urgent">{}</span> <span class="due">{}{}{}</span>'
    ).format(gettext("Handled with priority"), before, _time(due, format_day(due)), after)


def _badge_flags(
    status: CaseStatus, extension_months: int, urgent: bool, due: date, today: date
) -> tuple[bool, bool, bool, bool]:
    is_open = status.is_open
    return (
        workflow.waits_for_requester(status),
        bool(extension_months),
        bool(urgent) and is_open,
        is_open and due < today,
    )


def _badges(flags: tuple[bool, bool, bool, bool]) -> Markup:
    badges = zip(
        flags,
        ("paused", "extended", "urgent", "overdue"),
        (gettext("Paused"), gettext("Extended"), gettext("Urgent"), gettext("Overdue")),
        strict=True,
    )
    return Markup(" ").join(
        Markup('<span class="badge badge-{}">{}</span>').format(name, text)
        for shown, name, text in badges
        if shown
    )


def badges_html(case: HasDeadline) -> Markup:
    """Paused, extended, urgent, overdue: in words, never colour alone (WCAG 1.4.1)."""
    locale, today, _extra = _context()
    flags = _badge_flags(case.status, case.extension_months, case.urgent, case.effective_due, today)
    if not any(flags):
        return _NO_BADGES
    return _cached(("badges", locale, flags), lambda: _badges(flags))


class DeadlineCells:
    """The due-date cells and badges of one page of cases, in the locale the page is rendered in.

    What :func:`due_html` and :func:`badges_html` show, with the locale, today and the calendar
    read once when the page starts rather than once a row (the staff queue's fifty rows,
    bench/README.md). Make one per page, inside the request (and locale) that renders it.
    """

    __slots__ = ("_context", "_locale", "today")

    def __init__(self) -> None:
        self._context = _context()
        self._locale, self.today, _extra = self._context

    def due(self, due: date, is_open: bool) -> Markup:
        """The due-date cell of a case due on ``due``, as :func:`due_html` words it."""
        return _cached(
            ("due", *self._context, due, is_open), lambda: _due_cell(due, is_open, self.today)
        )

    def badges(self, status: CaseStatus, extension_months: int, urgent: bool, due: date) -> Markup:
        """The badges of a case, as :func:`badges_html` shows them."""
        flags = _badge_flags(status, extension_months, urgent, due, self.today)
        if not (flags[0] or flags[1] or flags[2] or flags[3]):
            return _NO_BADGES
        return _cached(("badges", self._locale, flags), lambda: _badges(flags))


_NO_BADGES = Markup("")

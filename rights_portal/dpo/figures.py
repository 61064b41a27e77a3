"""The dashboard's figures as tables (for the page, the CSV export and the PDF report) and charts.

A :class:`Figure` turns the rows of one query in :mod:`rights_portal.dpo.queries` into labelled
cells and, where a chart helps, an SVG chart of the same numbers. The page, the CSV export and the
PDF report all draw on :func:`build`, so they always show the same figures for the same filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from ..cases.labels import CASE_TYPE_LABELS, EXTENSION_REASON_LABELS, STAFF_STATUS_LABELS
from ..exams.models import FlagReviewStatus
from . import queries
from .charts import Series, bar_chart
from .queries import Filters

Cell = str | int | float


@dataclass
class Figure:
    """One table of the dashboard, with its chart."""

    key: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[Cell]]
    chart: Markup | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


FLAG_STATUS_LABELS = {
    FlagReviewStatus.UNREVIEWED: lambda: _("Not yet reviewed"),
    FlagReviewStatus.NO_IRREGULARITY: lambda: _("Reviewed: no irregularity"),
    FlagReviewStatus.IRREGULARITY_SUSPECTED: lambda: _("Reviewed: irregularity suspected"),
}


def open_cases(f: Filters) -> Figure:
    """Open cases by type and status."""
    rows = queries.open_by_type_and_status(f)
    totals: dict[Any, int] = {}
    for row in rows:
        totals[row.case_type] = totals.get(row.case_type, 0) + row.cases
    types = list(totals)
    figure = Figure(
        key="open",
        title=_("Open cases by type and status"),
        description=_("Cases open today, whatever the period."),
        columns=[_("Type"), _("Status"), _("Cases")],
        rows=[
            [str(CASE_TYPE_LABELS[r.case_type]), str(STAFF_STATUS_LABELS[r.status]), r.cases]
            for r in rows
        ],
    )
    figure.chart = bar_chart(
        "chart-open",
        figure.title,
        _("Open cases per type; the table gives them per status."),
        [str(CASE_TYPE_LABELS[t]) for t in types],
        [Series(_("Cases"), [totals[t] for t in types])],
        empty_text=_("No open cases."),
    )
    return figure


def due_this_week(f: Filters) -> Figure:
    """Open cases due from today to Sunday."""
    rows = queries.due_this_week(f)
    per_day: dict[Any, int] = {}
    for row in rows:
        per_day[row.effective_due] = per_day.get(row.effective_due, 0) + row.cases
    figure = Figure(
        key="due-this-week",
        title=_("Due this week"),
        description=_(
            "Open cases with a running clock, due from today up to and including Sunday."
        ),
        columns=[_("Due"), _("Type"), _("Cases")],
        rows=[
            [r.effective_due.isoformat(), str(CASE_TYPE_LABELS[r.case_type]), r.cases] for r in rows
        ],
    )
    figure.chart = bar_chart(
        "chart-due",
        figure.title,
        _("Cases due per day this week."),
        [day.isoformat() for day in per_day],
        [Series(_("Cases"), list(per_day.values()))],
        empty_text=_("Nothing is due this week."),
    )
    return figure


def overdue_by_handler(f: Filters) -> Figure:
    """Overdue cases per handler, plus the list of the most overdue cases."""
    rows = queries.overdue_by_handler(f)
    nobody = _("Nobody yet")
    figure = Figure(
        key="overdue",
        title=_("Overdue, by handler"),
        description=_("Open cases past their due date with the clock running, today."),
        columns=[_("Handler"), _("Cases"), _("Oldest due date")],
        rows=[[r.handler or nobody, r.cases, r.oldest_due.isoformat()] for r in rows],
    )
    figure.chart = bar_chart(
        "chart-overdue",
        figure.title,
        _("Overdue cases per handler."),
        [r.handler or nobody for r in rows],
        [Series(_("Cases"), [r.cases for r in rows])],
        empty_text=_("No case is overdue."),
    )
    return figure


def overdue_cases(f: Filters, limit: int | None = 100) -> Figure:
    """The overdue cases, most overdue first (the page shows the first hundred)."""
    rows = queries.overdue_cases(f, limit)
    nobody = _("Nobody yet")
    return Figure(
        key="overdue-cases",
        title=_("Overdue cases"),
        description=_("Most overdue first."),
        columns=[_("Reference"), _("Type"), _("Due"), _("Days overdue"), _("Handler")],
        rows=[
            [
                r.reference,
                str(CASE_TYPE_LABELS[r.case_type]),
                r.effective_due.isoformat(),
                r.days_overdue,
                r.handler or nobody,
            ]
            for r in rows
        ],
    )


def decided_within_term(f: Filters) -> Figure:
    """Share of decisions within the legal term, per month."""
    # SUM() comes back as NUMERIC on PostgreSQL: plain ints for the table, CSV and chart.
    rows = [
        (r.month, int(r.decided), int(r.within_term))
        for r in queries.decided_within_term_by_month(f)
    ]
    figure = Figure(
        key="within-term",
        title=_("Decided within the legal term, per month"),
        description=_(
            "Decisions in the period by month; within the term means on or before the statutory"
            " due date, including an extension and pauses."
        ),
        columns=[_("Month"), _("Decided"), _("Within the term"), _("Share (%)")],
        rows=[
            [month.strftime("%Y-%m"), decided, within, _share(within, decided)]
            for month, decided, within in rows
        ],
    )
    figure.chart = bar_chart(
        "chart-within-term",
        figure.title,
        _("Share of decisions within the legal term per month, in percent."),
        [month.strftime("%Y-%m") for month, _decided, _within in rows],
        [Series(_("Within the term"), [_share(w, n) for _m, n, w in rows])],
        unit="%",
        empty_text=_("No decisions in this period."),
    )
    return figure


def median_days(f: Filters) -> Figure:
    """Median calendar days from receipt to decision, per type."""
    rows = queries.median_days_to_decision(f)
    medians = [round(float(r.median_days), 1) for r in rows]
    figure = Figure(
        key="median-days",
        title=_("Median days to decision, per type"),
        description=_("Calendar days from receipt to decision, for cases decided in the period."),
        columns=[_("Type"), _("Decided"), _("Median days")],
        rows=[
            [str(CASE_TYPE_LABELS[r.case_type]), r.decided, m]
            for r, m in zip(rows, medians, strict=True)
        ],
    )
    figure.chart = bar_chart(
        "chart-median",
        figure.title,
        _("Median calendar days to decision per type."),
        [str(CASE_TYPE_LABELS[r.case_type]) for r in rows],
        [Series(_("Median days"), medians)],
        empty_text=_("No decisions in this period."),
    )
    return figure


def extensions(f: Filters) -> Figure:
    """Extensions and their reasons, for cases received in the period."""
    rows = queries.extensions_by_reason(f)
    received = queries.received_in_period(f)
    extended = sum(r.cases for r in rows)
    per_reason: dict[Any, int] = {}
    for row in rows:
        per_reason[row.extension_reason] = per_reason.get(row.extension_reason, 0) + row.cases
    figure = Figure(
        key="extensions",
        title=_("Extensions and their reasons"),
        description=_("Cases received in the period whose term for an answer was extended."),
        columns=[_("Reason"), _("Extended by (months)"), _("Cases")],
        rows=[
            [str(EXTENSION_REASON_LABELS[r.extension_reason]), r.extension_months, r.cases]
            for r in rows
        ],
        note=_(
            "%(extended)s of %(received)s cases received in the period were extended"
            " (%(share)s%%).",
            extended=extended,
            received=received,
            share=_share(extended, received),
        ),
        extra={"extended": extended, "received": received},
    )
    figure.chart = bar_chart(
        "chart-extensions",
        figure.title,
        _("Extended cases per reason."),
        [str(EXTENSION_REASON_LABELS[reason]) for reason in per_reason],
        [Series(_("Cases"), list(per_reason.values()))],
        empty_text=_("No extensions in this period."),
    )
    return figure


def objections(f: Filters) -> Figure:
    """Objections upheld, partly upheld and rejected per programme."""
    rows = queries.objections_by_programme(f)
    labels = [f"{r.code} {r.name}" for r in rows]
    figure = Figure(
        key="objections",
        title=_("Objections upheld and rejected, per programme"),
        description=_("Objections to online proctoring decided in the period."),
        columns=[_("Programme"), _("Upheld"), _("Partly upheld"), _("Rejected")],
        rows=[
            [label, r.upheld, r.partly_upheld, r.rejected]
            for label, r in zip(labels, rows, strict=True)
        ],
    )
    figure.chart = bar_chart(
        "chart-objections",
        figure.title,
        _("Upheld, partly upheld and rejected objections per programme."),
        labels,
        [
            Series(_("Upheld"), [r.upheld for r in rows]),
            Series(_("Partly upheld"), [r.partly_upheld for r in rows]),
            Series(_("Rejected"), [r.rejected for r in rows]),
        ],
        empty_text=_("No objections decided in this period."),
    )
    return figure


def late_alternatives(f: Filters) -> Figure:
    """Alternative exams later than the no-delay limit (R17)."""
    rows = queries.alternatives_later_than_no_delay_limit(f)
    return Figure(
        key="late-alternatives",
        title=_("Alternative exams later than the no-delay limit"),
        description=_(
            "Alternatives scheduled later after the original exam than the programme allows."
        ),
        columns=[_("Programme"), _("Later than the limit"), _("With a justification")],
        rows=[[f"{r.code} {r.name}", r.later, r.with_justification] for r in rows],
        note=_(
            "These figures become available when alternative exams are scheduled in the portal."
        ),
    )


def flags(f: Filters) -> Figure:
    """Automated flags reviewed and not yet reviewed (R18)."""
    rows = queries.flags_by_review_status(f)
    reviewed = sum(r.flags for r in rows if r.review_status in queries.REVIEWED_STATUSES)
    unreviewed = sum(r.flags for r in rows if r.review_status not in queries.REVIEWED_STATUSES)
    figure = Figure(
        key="flags",
        title=_("Automated flags reviewed and not yet reviewed"),
        description=_(
            "Flags raised in the period by the proctoring software, and whether a person looked."
        ),
        columns=[_("Review"), _("Flags")],
        rows=[[FLAG_STATUS_LABELS[r.review_status](), r.flags] for r in rows],
    )
    figure.chart = bar_chart(
        "chart-flags",
        figure.title,
        _("Reviewed and unreviewed flags."),
        [_("Reviewed"), _("Not yet reviewed")],
        [Series(_("Flags"), [reviewed, unreviewed])],
    )
    return figure


def retention(f: Filters) -> Figure:
    """Recordings whose retention ends in the next 30 days (R25)."""
    rows = queries.upcoming_retention_deletions(f)
    figure = Figure(
        key="retention",
        title=_("Upcoming retention deletions"),
        description=_("Recordings whose retention period ends in the next 30 days."),
        columns=[_("Retention ends"), _("Recordings")],
        rows=[[r.retention_until.isoformat(), r.recordings] for r in rows],
    )
    figure.chart = bar_chart(
        "chart-retention",
        figure.title,
        _("Recordings to be deleted per day."),
        [r.retention_until.isoformat() for r in rows],
        [Series(_("Recordings"), [r.recordings for r in rows])],
        empty_text=_("No recordings reach the end of their retention in the next 30 days."),
    )
    return figure


BUILDERS: dict[str, Callable[[Filters], Figure]] = {
    "open": open_cases,
    "due-this-week": due_this_week,
    "overdue": overdue_by_handler,
    "overdue-cases": overdue_cases,
    "within-term": decided_within_term,
    "median-days": median_days,
    "extensions": extensions,
    "objections": objections,
    "late-alternatives": late_alternatives,
    "flags": flags,
    "retention": retention,
}


def build(f: Filters) -> list[Figure]:
    """Every figure of the dashboard, in page order."""
    return [builder(f) for builder in BUILDERS.values()]


def build_one(key: str, f: Filters, *, complete: bool = False) -> Figure | None:
    """One figure by key; ``complete`` lifts the page's limit on listed cases (CSV export)."""
    if key == "overdue-cases" and complete:
        return overdue_cases(f, limit=None)
    builder = BUILDERS.get(key)
    return builder(f) if builder else None

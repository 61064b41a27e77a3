"""What each line of the staff queue shows, formatted and escaped in Python once per page.

The queue shows fifty cases a page. Formatting each value in the template — two label lookups
that each ask Flask-Babel for the locale, a ``url_for``, the due-date cell and the badges, and
Jinja's escaping of ~450 values, each a new ``Markup`` object — was most of the page's own time
(bench/README.md). Here the label tables of the page's locale, today and the prefix of the case
links are read once per page, and every value of a line is escaped here, once, with
:func:`escape` (what Jinja's escaping does, to the same entities, without an object per
value). The template
prints these lines in one loop with autoescaping off for that loop only; whatever it prints
there must come from this module. The due-date cell and the badges are HTML built by
``cases/display.py``. The programme filter's options are made the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import quote

from flask import url_for
from flask_babel import gettext as _

from ..cases.display import DeadlineCells
from ..cases.labels import CASE_TYPE_LABELS, STAFF_STATUS_LABELS
from ..labels import TranslatedLabels
from .queue import ProgrammeChoice, QueueRow

_TYPE_LABELS = TranslatedLabels(CASE_TYPE_LABELS)
_STATUS_LABELS = TranslatedLabels(STAFF_STATUS_LABELS)
# A reference only ever holds letters, digits and dashes; url_for is asked once for the prefix.
_PLACEHOLDER = "0"


def escape(text: str) -> str:
    """``text`` escaped for HTML exactly as Jinja's autoescaping (MarkupSafe) escapes it."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


class QueueLine(NamedTuple):
    """One row of the queue's table, every cell HTML ready to print (already escaped)."""

    href: str
    reference: str
    type_label: str
    exam_label: str | None
    subject: str
    status_label: str
    badges: str
    assignee: str
    due: str


def lines_for(rows: Sequence[QueueRow]) -> list[QueueLine]:
    """The table rows of a queue page, in the current request's locale, escaped for HTML."""
    if not rows:
        return []
    types, statuses = _TYPE_LABELS.for_this_locale(), _STATUS_LABELS.for_this_locale()
    type_html = {key: escape(label) for key, label in types.items()}
    status_html = {key: escape(label) for key, label in statuses.items()}
    cells = DeadlineCells()
    nobody = escape(_("Nobody yet"))
    prefix = escape(url_for("staff.case_detail", reference=_PLACEHOLDER)[: -len(_PLACEHOLDER)])
    return [
        QueueLine(
            prefix + escape(quote(row.reference, safe="")),
            escape(row.reference),
            type_html.get(row.case_type) or escape(_TYPE_LABELS[row.case_type]),
            None if row.exam_label is None else escape(row.exam_label),
            escape(row.subject_name),
            status_html.get(row.status) or escape(_STATUS_LABELS[row.status]),
            cells.badges(row.status, row.extension_months, row.urgent, row.effective_due),
            escape(row.assignee_name) if row.assignee_name else nobody,
            cells.due(row.effective_due, row.status.is_open),
        )
        for row in rows
    ]


def programme_options(
    programmes: Sequence[ProgrammeChoice], chosen: int | None
) -> list[tuple[int, str, bool]]:
    """The programme filter's options: (id, name escaped for HTML, whether it is chosen)."""
    return [(p.id, escape(p.name), p.id == chosen) for p in programmes]

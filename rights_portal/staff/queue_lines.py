"""What each line of the staff queue shows, formatted in Python once per page.

The queue shows fifty cases a page. Formatting each value in the template — two label lookups
that each ask Flask-Babel for the locale, a ``url_for``, the due-date cell and the badges — was
most of the page's own time (bench/README.md). Here the label tables of the page's locale, today
and the prefix of the case links are read once per page, and each line becomes a tuple of ready
values that the template's one loop prints: Jinja still escapes every plain string; the due-date
cell and the badges are :class:`~markupsafe.Markup` built by ``cases/display.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import quote

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..cases.display import DeadlineCells
from ..cases.labels import CASE_TYPE_LABELS, STAFF_STATUS_LABELS
from ..labels import TranslatedLabels
from .queue import QueueRow

_TYPE_LABELS = TranslatedLabels(CASE_TYPE_LABELS)
_STATUS_LABELS = TranslatedLabels(STAFF_STATUS_LABELS)
# A reference only ever holds letters, digits and dashes; url_for is asked once for the prefix.
_PLACEHOLDER = "0"


class QueueLine(NamedTuple):
    """One row of the queue's table, every cell ready to print."""

    href: str
    reference: str
    type_label: str
    exam_label: str | None
    subject: str
    status_label: str
    badges: Markup
    assignee: str
    due: Markup


def lines_for(rows: Sequence[QueueRow]) -> list[QueueLine]:
    """The table rows of a queue page, in the current request's locale."""
    if not rows:
        return []
    types, statuses = _TYPE_LABELS.for_this_locale(), _STATUS_LABELS.for_this_locale()
    cells = DeadlineCells()
    nobody = _("Nobody yet")
    prefix = url_for("staff.case_detail", reference=_PLACEHOLDER)[: -len(_PLACEHOLDER)]
    return [
        QueueLine(
            prefix + quote(row.reference, safe=""),
            row.reference,
            types.get(row.case_type) or _TYPE_LABELS[row.case_type],
            row.exam_label,
            row.subject_name,
            statuses.get(row.status) or _STATUS_LABELS[row.status],
            cells.badges(row.status, row.extension_months, row.urgent, row.effective_due),
            row.assignee_name or nobody,
            cells.due(row.effective_due, row.status.is_open),
        )
        for row in rows
    ]

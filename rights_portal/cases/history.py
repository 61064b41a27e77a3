"""A case's history in plain language, built from its audit events.

Participants see what happened and when, not who on the staff did it or staff-only details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.models import AuditEvent
from ..extensions import db

PARTICIPANT_LABELS = {
    "case.received": _l("Request received"),
    "case.assigned": _l("Taken into review"),
    "case.decided": _l("Decision made"),
    "case.withdrawn": _l("Request withdrawn"),
    "case.extended": _l("Term extended"),
    "case.paused": _l("Waiting for your answer: the term stands still"),
    "case.resumed": _l("Answer received: the term runs again"),
    "case.marked_duplicate": _l("Handled together with another request"),
    "case.due_date_changed": _l("Due date changed"),
    "case.fulfilled": _l("Request fulfilled"),
    "package.released": _l("Your data package is ready to download"),
    "package.downloaded": _l("Data package downloaded"),
    "package.expired": _l("Download period ended; the package file was deleted"),
}


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case's history."""

    occurred_at: datetime
    label: str
    action: str
    actor_id: int | None


def case_history(case_id: int, *, for_staff: bool) -> list[HistoryEntry]:
    """The case's events, oldest first; participants see only the labelled milestones.

    Staff see every event, named from their side (``labels.audit_action_label``), never its code.
    """
    from ..labels import audit_action_label

    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
    )
    entries = []
    for event in events:
        if for_staff:
            label = audit_action_label(event.action)
        elif event.action in PARTICIPANT_LABELS:
            label = str(PARTICIPANT_LABELS[event.action])
        else:
            continue
        entries.append(HistoryEntry(event.occurred_at, label, event.action, event.actor_id))
    return entries

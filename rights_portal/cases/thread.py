"""Messages on a case's thread: the record of one message and its audit event.

Split from :mod:`rights_portal.cases.services` so the terms (:mod:`.terms`) and the moves
(:mod:`.services`) can both post a notice without importing each other.
"""

from __future__ import annotations

from typing import Any

from ..accounts.models import User
from ..audit.services import record
from ..extensions import db
from .models import Case, CaseMessage, MessageKind


def snapshot(case: Case, *fields: str) -> dict[str, Any]:
    """The named columns of ``case``, for an audit event's before and after."""
    return {name: getattr(case, name) for name in fields}


def add_message(case: Case, *, author: User, kind: MessageKind, body: str) -> CaseMessage:
    """Store one message on the thread and record it (no e-mail: the caller announces it)."""
    message = CaseMessage(
        case_id=case.id, author_id=author.id, from_staff=author.is_staff, kind=kind, body=body
    )
    db.session.add(message)
    db.session.flush()
    record(
        "case.message_posted",
        actor=author,
        object_type="case_message",
        object_id=message.id,
        case_id=case.id,
        after={"kind": kind.value, "from_staff": message.from_staff},
    )
    return message

"""Identity on reasonable doubt (R22): ask the requester for proof, record "checked, type, date".

A logged-in account is identity enough; a handler who doubts it records why, which asks the
requester (the person who filed: the student, or the guardian) for proof in the portal and puts
the case in ``awaiting_requester``. The requester answers that they will show, or have shown, a
document at the desk; the handler records the check (document type and the day it was seen, never
a copy or a number) and the case returns to ``in_review``.

This module owns the :class:`~rights_portal.accounts.models.IdentityCheck` operations only. They
are operations on a case, so they live beside the cases, not in ``accounts`` (which the cases
import): the table and its forms stay with the accounts. It does not own the case's clock:
pausing it is the Deadlines domain's job, see :func:`_await_requester_for_identity`. None of
these functions commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import (
    IdentityAnswer,
    IdentityCheck,
    IdentityCheckStatus,
    IdentityDocument,
    User,
)
from ..audit.services import record
from ..cases import services as case_services
from ..cases.models import Case, CaseStatus, MessageKind
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_user

#: Called with the check when a handler records a verified identity, inside the same unit of
#: work: a domain that keeps its own record of the requester (intake's requesters without an
#: account) learns of it without this module importing it.
IdentityVerified = Callable[[IdentityCheck, User], None]
VERIFIED_HOOKS = "identity_verified_hooks"


def register_verified_hook(app: Flask, hook: IdentityVerified) -> None:
    """Let another domain act on a verified identity check (wired in ``create_app``)."""
    app.extensions.setdefault(VERIFIED_HOOKS, []).append(hook)


def _await_requester_for_identity(case: Case, actor: User) -> None:
    """Ask the requester for proof on the case thread; a prompt request pauses the clock (R6).

    The handler's reason for doubt stays on the staff side; the requester reads a plain request.
    """
    with force_locale(case.filed_by.locale):
        question = gettext(
            "Please show an identity document at the desk of the privacy office. "
            "We do not keep a copy of it."
        )
    case_services.ask_requester(
        case, actor=actor, kind=MessageKind.QUESTION_IDENTITY, question=question, notify=False
    )


def _resume_after_identity(case: Case, actor: User) -> None:
    """Back into review once the check is recorded; the due date moves by the paused days."""
    case_services.resume_clock(case, actor=actor)


def _snapshot(check: IdentityCheck) -> dict[str, Any]:
    fields = ("status", "answer", "document_type", "document_seen_on", "note")
    return {name: getattr(check, name) for name in fields}


def open_check(case: Case) -> IdentityCheck | None:
    """The request for proof the requester still has to answer, if any."""
    return db.session.scalars(
        select(IdentityCheck).where(
            IdentityCheck.case_id == case.id, IdentityCheck.status == IdentityCheckStatus.REQUESTED
        )
    ).one_or_none()


def checks_for(case: Case) -> list[IdentityCheck]:
    """Every identity check of a case, oldest first."""
    return list(
        db.session.scalars(
            select(IdentityCheck).where(IdentityCheck.case_id == case.id).order_by(IdentityCheck.id)
        )
    )


def raise_doubt(case: Case, *, actor: User, reason: str) -> IdentityCheck:
    """A handler records reasonable doubt about the requester's identity, with the reason."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_l("Write down why you doubt the requester's identity."))
    if case.status is not CaseStatus.IN_REVIEW:
        raise RuleViolation(_l("Proof of identity can only be asked while a case is in review."))
    if open_check(case) is not None:
        raise RuleViolation(_l("Proof of identity has been asked already for this case."))
    check = IdentityCheck(
        case_id=case.id,
        reason=reason,
        requested_by_id=actor.id,
        requested_at=now_utc(),
        status=IdentityCheckStatus.REQUESTED,
    )
    db.session.add(check)
    db.session.flush()
    status_before = case.status
    _await_requester_for_identity(case, actor)
    db.session.flush()
    record(
        "identity.doubt_raised",
        actor=actor,
        object_type="identity_check",
        object_id=check.id,
        case_id=case.id,
        before={"case_status": status_before},
        after={"case_status": case.status, "reason": reason},
    )
    notify_user(case.filed_by, "identity_requested", case=case)
    return check


def answer_request(check: IdentityCheck, *, actor: User, answer: IdentityAnswer) -> IdentityCheck:
    """The requester says they will show, or have shown, a document at the desk."""
    if not check.is_open:
        raise RuleViolation(_l("Your identity has been checked already."))
    before = _snapshot(check)
    check.answer = answer
    check.answered_at = now_utc()
    db.session.flush()
    record(
        "identity.answered",
        actor=actor,
        object_type="identity_check",
        object_id=check.id,
        case_id=check.case_id,
        before=before,
        after=_snapshot(check),
    )
    return check


def record_check(
    check: IdentityCheck,
    *,
    actor: User,
    status: IdentityCheckStatus,
    document_type: IdentityDocument | None = None,
    document_seen_on: date | None = None,
    note: str = "",
) -> IdentityCheck:
    """The handler records "checked, document type, date", or why no check was possible."""
    note = note.strip()
    if not check.is_open:
        raise RuleViolation(_l("This identity check has been recorded already."))
    if status is IdentityCheckStatus.VERIFIED:
        if document_type is None or document_seen_on is None:
            raise RuleViolation(_l("Give the type of document and the day you saw it."))
        if document_seen_on > today_local():
            raise RuleViolation(_l("The day the document was seen cannot be in the future."))
    elif status is IdentityCheckStatus.NOT_VERIFIED:
        if not note:
            raise RuleViolation(_l("Write down why the identity could not be checked."))
        document_type, document_seen_on = None, None
    else:
        raise RuleViolation(_l("Choose the result of the check."))
    before = _snapshot(check)
    check.status = status
    check.document_type = document_type
    check.document_seen_on = document_seen_on
    check.note = note or None
    check.checked_by_id = actor.id
    check.checked_at = now_utc()
    case: Case = check.case
    case_status_before = case.status
    _resume_after_identity(case, actor)
    db.session.flush()
    record(
        "identity.checked",
        actor=actor,
        object_type="identity_check",
        object_id=check.id,
        case_id=case.id,
        before={**before, "case_status": case_status_before},
        after={**_snapshot(check), "case_status": case.status},
    )
    if status is IdentityCheckStatus.VERIFIED:
        for hook in current_app.extensions.get(VERIFIED_HOOKS, []):
            hook(check, actor)
    return check

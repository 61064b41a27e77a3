"""Requesters without an account (R1, R20-R22): who they are, their identity, answers and link.

A former student or a parent who wrote, phoned or came to the desk is recorded as an
:class:`ExternalRequester` and files through a stand-in user that can never log in. Staff record
their identity (and, for a parent, their authority) before anything is disclosed to them, enter
the answers they give outside the portal, and link the case to their own account once one is
verified. :mod:`.services` registers the request itself; these functions flush, the caller
commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import AuthorityDocument, IdentityCheck, IdentityDocument, Role, User
from ..audit.services import record_case_event
from ..cases import services as case_services
from ..cases.models import Case, CaseStatus, MessageKind
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..extensions import db
from ..permissions import has_verified_link
from . import letters
from .models import AcknowledgeBy, ExternalRequester, RequesterRelation


@dataclass(frozen=True)
class ExternalDetails:
    """A requester without a portal account, as the letter or call gave them (R1, R20)."""

    full_name: str
    relation: RequesterRelation
    email: str = ""
    locale: str = "nl"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def checked_external(
    external: ExternalDetails, *, minor: bool, acknowledge_by: AcknowledgeBy
) -> ExternalDetails:
    """The requester's details, cleaned; refuse what the rules do not allow (R20)."""
    name = " ".join(external.full_name.split())
    email = external.email.strip().lower()
    if not name:
        raise RuleViolation(_l("Give the requester's name."))
    if len(name) > 200 or len(email) > 254:
        raise RuleViolation(_l("The requester's name or e-mail address is too long."))
    if email and not _EMAIL.match(email):
        raise RuleViolation(_l("The requester's e-mail address is not valid."))
    if email.endswith("@" + letters.STAND_IN_DOMAIN):
        raise RuleViolation(_l("The requester's e-mail address is not valid."))
    if acknowledge_by is AcknowledgeBy.EMAIL and not email:
        raise RuleViolation(_l("Give the requester's e-mail address, or answer by post."))
    if external.relation is RequesterRelation.SELF and minor:
        raise RuleViolation(
            _l("The student was under 16 on the day of receipt: their legal representative files.")
        )
    if external.relation is RequesterRelation.LEGAL_REPRESENTATIVE and not minor:
        raise RuleViolation(
            _l(
                "The student was 16 or older on the day of receipt and acts alone: a parent or "
                "guardian cannot file for them."
            )
        )
    locale = external.locale if external.locale in ("nl", "en") else "nl"
    return ExternalDetails(full_name=name, relation=external.relation, email=email, locale=locale)


def stand_in(external: ExternalDetails) -> User:
    """The inactive user that files for a requester without an account.

    Deactivated (no login, no password reset), never verified, with an unusable password and an
    unguessable address in the reserved ``.invalid`` domain: nobody can sign in as it or register
    its address, and mail to it reaches nobody — :mod:`rights_portal.intake.letters` answers it.
    A legal representative stands in as a guardian, the student themselves as a student (without
    a student number: the student's own account, if any, stays theirs).
    """
    role = (
        Role.GUARDIAN
        if external.relation is RequesterRelation.LEGAL_REPRESENTATIVE
        else Role.STUDENT
    )
    user = User(
        email=f"requester-{secrets.token_hex(10)}@{letters.STAND_IN_DOMAIN}",
        password_hash="!",  # noqa: S106 (no hash: no password can ever match)
        full_name=external.full_name,
        role=role,
        locale=external.locale,
        is_active_account=False,
        email_verified=False,
    )
    db.session.add(user)
    db.session.flush()
    return user


def external_requester_for(case: Case) -> ExternalRequester | None:
    """The requester without an account who filed ``case``, if it was one."""
    return db.session.scalars(
        select(ExternalRequester).where(ExternalRequester.case_id == case.id)
    ).one_or_none()


def record_requester_identity(
    requester: ExternalRequester,
    *,
    actor: User,
    document: IdentityDocument,
    seen_on: date,
    authority: AuthorityDocument | None = None,
) -> ExternalRequester:
    """Staff saw the requester's identity document (and a representative's authority).

    R22: "checked, document type, date", never a copy or a number; R21: for a legal
    representative, the document that showed their authority. What was held for the requester
    goes out now (:func:`letters.release_held_letters`).
    """
    if requester.identity_checked:
        raise RuleViolation(_l("The requester's identity has been checked already."))
    if requester.is_linked:
        raise RuleViolation(_l("This case has been linked to the requester's own account."))
    if seen_on > today_local():
        raise RuleViolation(_l("The day the document was seen cannot be in the future."))
    if requester.relation is RequesterRelation.LEGAL_REPRESENTATIVE and authority is None:
        raise RuleViolation(
            _l("Give the document that showed the parent's or guardian's authority.")
        )
    requester.identity_document = document
    requester.identity_seen_on = seen_on
    requester.authority_document = (
        authority if requester.relation is RequesterRelation.LEGAL_REPRESENTATIVE else None
    )
    requester.identity_checked_by_id = actor.id
    requester.identity_checked_at = now_utc()
    db.session.flush()
    record_case_event(
        "intake.requester_identity_checked",
        requester.case,
        actor=actor,
        after={
            "requester_id": requester.id,
            "document_type": document,
            "seen_on": seen_on,
            "authority_document": requester.authority_document,
        },
    )
    pause = case_services.open_pause(requester.case)
    if pause is not None and pause.reason is MessageKind.QUESTION_IDENTITY:
        # The proof that was asked for has been seen: the clock runs again (R6, R22).
        case_services.resume_clock(requester.case, actor=actor)
    letters.release_held_letters(requester, actor=actor)
    return requester


def take_over_case_identity_check(check: IdentityCheck, actor: User) -> None:
    """A verified check on the case page is the requester's check too (R22), so held letters go.

    Handlers may check identity through the case's own "reasonable doubt" steps instead of the
    requester panel; without this the letters held for the requester would wait for a second,
    identical record. A legal representative's authority is not part of that check (R21): their
    letters stay held until staff record the authority on the requester panel.
    """
    requester = external_requester_for(check.case)
    if requester is None or requester.identity_checked or requester.is_linked:
        return
    if requester.relation is RequesterRelation.LEGAL_REPRESENTATIVE:
        return
    if check.document_type is None or check.document_seen_on is None:
        return
    record_requester_identity(
        requester, actor=actor, document=check.document_type, seen_on=check.document_seen_on
    )


def record_requester_answer(
    requester: ExternalRequester, *, actor: User, body: str, received_on: date
) -> None:
    """The requester answered a question by letter, e-mail, phone or at the desk (R6).

    A requester without an account cannot answer in the portal, so the handler enters the answer
    on their behalf: it goes on the thread as the requester's, the pause ends and the due date
    moves by the paused days; the audit trail names the handler who entered it.
    """
    body = body.strip()
    case: Case = requester.case
    if requester.is_linked:
        raise RuleViolation(_l("This case has been linked to the requester's own account."))
    if not body:
        raise RuleViolation(_l("Write down what the requester answered."))
    if received_on > today_local():
        raise RuleViolation(_l("The date of receipt cannot be in the future."))
    if case.status is not CaseStatus.AWAITING_REQUESTER:
        raise RuleViolation(_l("The case is not waiting for an answer from the requester."))
    message = case_services.answer_question(case, author=requester.stand_in, body=body)
    record_case_event(
        "intake.answer_recorded",
        case,
        actor=actor,
        after={"message_id": message.id, "received_on": received_on},
    )


def link_requester(
    requester: ExternalRequester, account: User | None, *, actor: User
) -> ExternalRequester:
    """Hand the case to the requester's own verified account; then it is an ordinary case.

    Only an active account with a verified address, and only the right one: for the student
    themselves, the student's own account; for a legal representative, a guardian account with
    a verified link to the child (R21). Whether the child is still under 16 is the portal's
    question from then on (R20: the guardian keeps seeing what was filed for the child).
    """
    if requester.is_linked:
        raise RuleViolation(_l("This case has been linked to an account already."))
    case: Case = requester.case
    if account is None or not account.is_active_account or not account.email_verified:
        raise RuleViolation(_l("There is no active, verified account with this e-mail address."))
    if requester.relation is RequesterRelation.SELF:
        if account.id != case.subject_id:
            raise RuleViolation(_l("This is not the account of the student the request is about."))
    elif account.role is not Role.GUARDIAN or not has_verified_link(account, case.subject_id):
        raise RuleViolation(
            _l("This account has no verified guardian link to the student. Verify the link first.")
        )
    before = {"filed_by_id": case.filed_by_id}
    case.filed_by_id = account.id
    requester.linked_user_id = account.id
    requester.linked_by_id = actor.id
    requester.linked_at = now_utc()
    db.session.flush()
    record_case_event(
        "intake.requester_linked",
        case,
        actor=actor,
        before=before,
        after={"filed_by_id": account.id, "requester_id": requester.id},
    )
    return requester

"""What the portal tells a requester without an account: by e-mail or as a letter for post.

Such a requester (:class:`~rights_portal.intake.models.ExternalRequester`) is the filer of their
case through an inactive stand-in user whose address lies in the reserved ``.invalid`` domain.
:func:`route_to_external_requester` is registered with :mod:`rights_portal.notifications` and
answers every message queued for such a stand-in — the acknowledgement, questions, extension
notices, the decision with its reasons and redress (R5, R19), the access package's notice —
instead of the ordinary e-mail, which says "read it in the portal" and would reach nobody.

Each message becomes a :class:`~rights_portal.intake.models.RequesterLetter` with its full
content, rendered once in the requester's language: e-mailed at once when it goes by e-mail,
printed as a PDF by staff when it goes by post (the assignee, or whoever registered the case, is
told a letter waits). A message about the student's data or a decision about them is *held*
while the requester's identity (and, for a legal representative, their authority) has not been
recorded (R21, R22): an unchecked address or name must not receive personal data. Recording the
check releases what was held (:func:`release_held_letters`). Nothing here commits.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateNotFound
from sqlalchemy import select

from ..audit.services import record_case_event
from ..cases.models import Case, CaseMessage
from ..clock import now_utc, today_local
from ..errors import RuleViolation
from ..examboard.forms import ALTERNATIVE_FORM_LABELS
from ..extensions import db
from ..notifications.models import OutboxMessage
from ..notifications.services import add_recipient_route, notify_user, queue_email
from .models import AcknowledgeBy, ExternalRequester, LetterDelivery, RequesterLetter

__all__ = [
    "DISCLOSING_TEMPLATES",
    "STAND_IN_DOMAIN",
    "is_stand_in",
    "letter_pdf",
    "letters_of",
    "release_held_letters",
    "route_to_external_requester",
    "send_letter",
]

#: RFC 2606 reserves ``.invalid``: mail to a stand-in can never reach anybody.
STAND_IN_DOMAIN = "external.invalid"

#: Messages that carry personal data or a decision about the student: held until the
#: requester's identity (and a representative's authority) is recorded (R21, R22). The
#: acknowledgement, questions, requests for proof, extension and duplicate notices are not:
#: they are how the identity gets checked and the term kept.
DISCLOSING_TEMPLATES = frozenset(
    {"case_decided", "access_package_ready", "alternative_offered", "case_message"}
)


def is_stand_in(user: Any) -> bool:
    """Whether ``user`` may be the stand-in of a requester without an account (no query needed).

    Decided by the address alone, so a stand-in reactivated by mistake is still answered by
    letter; :func:`requester_of_stand_in` then says whose it is.
    """
    email = getattr(user, "email", "") or ""
    return email.endswith("@" + STAND_IN_DOMAIN)


def requester_of_stand_in(user: Any) -> ExternalRequester | None:
    """The requester a stand-in user represents."""
    return db.session.scalars(
        select(ExternalRequester).where(ExternalRequester.stand_in_id == user.id)
    ).one_or_none()


def route_to_external_requester(
    user: Any, template: str, context: dict[str, Any]
) -> OutboxMessage | None:
    """The recipient route for stand-ins: a letter instead of the ordinary e-mail."""
    if not is_stand_in(user):
        return None
    requester = requester_of_stand_in(user)
    if requester is None:
        return None
    return send_letter(requester, template, context)


add_recipient_route(route_to_external_requester)


def _latest_staff_message(case: Case) -> CaseMessage | None:
    return db.session.scalars(
        select(CaseMessage)
        .where(CaseMessage.case_id == case.id, CaseMessage.from_staff.is_(True))
        .order_by(CaseMessage.id.desc())
        .limit(1)
    ).first()


def _render(
    requester: ExternalRequester, template: str, context: dict[str, Any]
) -> tuple[str, str]:
    """Subject and body of the message in the requester's language, with its full content."""
    case: Case = context.get("case") or requester.case
    values = {
        **context,
        "case": case,
        "recipient": requester,
        "intake": requester.intake,
        "staff_message": _latest_staff_message(case),
        "institution": current_app.config["INSTITUTION_NAME"],
        "alternative_form_labels": ALTERNATIVE_FORM_LABELS,
    }
    with force_locale(requester.locale):
        try:
            rendered = render_template(f"intake/letters/{template}.txt", **values)
        except TemplateNotFound:
            # A message this module has no letter for yet: say there is news, disclose nothing.
            rendered = render_template("intake/letters/generic.txt", **values)
    subject, _, body = rendered.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def _staff_to_tell(requester: ExternalRequester) -> Any:
    case: Case = requester.case
    if case.assignee is not None and case.assignee.is_active_account:
        return case.assignee
    return requester.intake.entered_by


def send_letter(
    requester: ExternalRequester,
    template: str,
    context: dict[str, Any],
    *,
    tell_staff: bool = True,
) -> OutboxMessage | None:
    """Record the message as a letter and send it as far as the rules allow.

    Returns the e-mail queued: the letter itself, the content-free notice that something is on
    its way once the identity is checked, or the notice to staff that a letter waits to be
    printed or held (None only when staff need not be told, e.g. at registration).
    """
    case: Case = context.get("case") or requester.case
    delivery = (
        LetterDelivery.POST
        if requester.intake.acknowledge_by is AcknowledgeBy.POST
        else LetterDelivery.EMAIL
    )
    discloses = template in DISCLOSING_TEMPLATES
    held = discloses and not requester.identity_checked
    subject, body = _render(requester, template, context)
    letter = RequesterLetter(
        case_id=case.id,
        requester_id=requester.id,
        template=template,
        subject=subject,
        body=body,
        discloses_personal_data=discloses,
        delivery=delivery,
        held=held,
    )
    db.session.add(letter)
    db.session.flush()
    message: OutboxMessage | None = None
    if delivery is LetterDelivery.EMAIL and not held:
        assert requester.email is not None  # noqa: S101 (the service requires it for e-mail)
        message = queue_email([requester.email], subject, body)
        letter.outbox_message_id = message.id
    elif held and delivery is LetterDelivery.EMAIL and requester.email:
        notice_subject, notice_body = _render(requester, "held_notice", {"case": case})
        message = queue_email([requester.email], notice_subject, notice_body)
    if tell_staff and (held or delivery is LetterDelivery.POST):
        staff_notice = notify_user(
            _staff_to_tell(requester), "intake_letter_waiting", case=case, letter=letter
        )
        message = message or staff_notice
    db.session.flush()
    record_case_event(
        "intake.letter_sent" if not held else "intake.letter_held",
        case,
        actor=None,
        after={
            "letter_id": letter.id,
            "template": template,
            "delivery": delivery,
            "held": held,
            "outbox_message_id": letter.outbox_message_id,
        },
    )
    return message


def release_held_letters(requester: ExternalRequester, *, actor: Any) -> list[RequesterLetter]:
    """Once the identity is recorded, send what was held: e-mail it, or free it for printing."""
    released = list(
        db.session.scalars(
            select(RequesterLetter)
            .where(RequesterLetter.requester_id == requester.id, RequesterLetter.held.is_(True))
            .order_by(RequesterLetter.id)
        )
    )
    for letter in released:
        letter.held = False
        if letter.delivery is LetterDelivery.EMAIL and requester.email:
            letter.outbox_message_id = queue_email(
                [requester.email], letter.subject, letter.body
            ).id
        db.session.flush()
        record_case_event(
            "intake.letter_released",
            requester.case,
            actor=actor,
            after={
                "letter_id": letter.id,
                "delivery": letter.delivery,
                "outbox_message_id": letter.outbox_message_id,
            },
        )
    return released


def letters_of(case: Case) -> list[RequesterLetter]:
    """The letters of a case, oldest first."""
    return list(
        db.session.scalars(
            select(RequesterLetter)
            .where(RequesterLetter.case_id == case.id)
            .order_by(RequesterLetter.id)
        )
    )


def letter_html(letter: RequesterLetter) -> str:
    """The letter for post, as HTML in the requester's language."""
    requester = letter.requester
    with force_locale(requester.locale):
        return render_template(
            "intake/letter.html",
            letter=letter,
            requester=requester,
            intake=requester.intake,
            today=today_local(),
            institution=current_app.config["INSTITUTION_NAME"],
            locale=requester.locale,
        )


def letter_pdf(letter: RequesterLetter, *, actor: Any) -> bytes:
    """The letter as PDF; the first print marks it printed, every print is audited."""
    from ..access.letter import render_pdf

    if letter.held:
        raise RuleViolation(
            _l("This letter is held until the requester's identity has been checked.")
        )
    pdf = render_pdf(letter_html(letter))
    if letter.printed_at is None and not letter.held:
        letter.printed_at = now_utc()
        letter.printed_by_id = actor.id
    db.session.flush()
    record_case_event(
        "intake.letter_printed",
        letter.requester.case,
        actor=actor,
        after={"letter_id": letter.id, "template": letter.template},
    )
    return pdf

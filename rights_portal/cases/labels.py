"""Translated names of case types, statuses and outcomes, for pages, letters and e-mails."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import CaseStatus, CaseType, Channel, ExtensionReason, MessageKind, Outcome

CHANNEL_LABELS = {
    Channel.PORTAL: _l("portal"),
    Channel.LETTER: _l("letter"),
    Channel.EMAIL: _l("e-mail"),
    Channel.PHONE: _l("phone"),
    Channel.DESK: _l("at a desk"),
}

CASE_TYPE_LABELS = {
    CaseType.ACCESS: _l("Access to recordings and data"),
    CaseType.OBJECTION: _l("Objection to online proctoring"),
    CaseType.ALTERNATIVE_EXAM: _l("Request for an alternative exam"),
    CaseType.HUMAN_REVIEW: _l("Human review of an automated flag"),
    CaseType.ERASURE: _l("Erasure of recordings"),
}

CASE_TYPE_INTROS = {
    CaseType.ACCESS: _l(
        "You may see which data we hold about you, such as recordings, screenshots, logs and "
        "automated flags. You get a copy. This is free."
    ),
    CaseType.OBJECTION: _l(
        "You may object to online proctoring because of your personal situation. The exam board "
        "decides. If it agrees, you get another way to take the exam without delay in your studies."
    ),
    CaseType.ALTERNATIVE_EXAM: _l(
        "You may ask to take the exam in another way, for example on campus or orally. "
        "The exam board decides before the exam."
    ),
    CaseType.HUMAN_REVIEW: _l(
        "Did the proctoring software flag something during your exam? A member of the exam board "
        "looks at it and decides. A computer never decides alone. You can tell us your view first."
    ),
    CaseType.ERASURE: _l(
        "You may ask us to delete recordings of your exams, for example after your objection "
        "was upheld. We then also tell the supplier of the proctoring software to delete them."
    ),
}

STATUS_LABELS = {
    CaseStatus.RECEIVED: _l("Received"),
    CaseStatus.IN_REVIEW: _l("In review"),
    CaseStatus.AWAITING_REQUESTER: _l("Waiting for your answer"),
    CaseStatus.DECIDED: _l("Decided"),
    CaseStatus.CLOSED: _l("Closed"),
}

# Staff read the same statuses from their side: the case waits for the requester, not for "you".
STAFF_STATUS_LABELS = {
    CaseStatus.RECEIVED: _l("Received"),
    CaseStatus.IN_REVIEW: _l("In review"),
    CaseStatus.AWAITING_REQUESTER: _l("Waiting for the requester"),
    CaseStatus.DECIDED: _l("Decided"),
    CaseStatus.CLOSED: _l("Closed"),
}

OUTCOME_LABELS = {
    Outcome.GRANTED: _l("Granted"),
    Outcome.PARTLY_GRANTED: _l("Partly granted"),
    Outcome.REJECTED: _l("Rejected"),
}

EXTENSION_REASON_LABELS = {
    ExtensionReason.COMPLEXITY: _l("the request is complex"),
    ExtensionReason.NUMBER_OF_REQUESTS: _l("we have received many requests"),
}

MESSAGE_KIND_LABELS = {
    MessageKind.MESSAGE: _l("Message"),
    MessageKind.QUESTION_IDENTITY: _l("Question about your identity"),
    MessageKind.QUESTION_CLARIFICATION: _l("Question about your request"),
    MessageKind.ANSWER: _l("Answer"),
    MessageKind.EXTENSION_NOTICE: _l("Extension of the term"),
    MessageKind.DUPLICATE_NOTICE: _l("Handled together with another request"),
}

DUE_CHANGE_LABELS = {
    "received": _l("Request received"),
    "extended": _l("Term extended"),
    "resumed": _l("Clock restarted after a pause"),
    "recomputed": _l("Recomputed under the corrected calendar and pause rules"),
}

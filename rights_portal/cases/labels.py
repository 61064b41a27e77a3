"""Translated names of case types, statuses and outcomes, for pages, letters and e-mails."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import CaseStatus, Channel, ExtensionReason, MessageKind, Outcome
from .registry import KindAttribute

CHANNEL_LABELS = {
    Channel.PORTAL: _l("portal"),
    Channel.LETTER: _l("letter"),
    Channel.EMAIL: _l("e-mail"),
    Channel.PHONE: _l("phone"),
    Channel.DESK: _l("at a desk"),
    Channel.API: _l("an institution system (API)"),
}

# Each case type declares its name and introduction with its kind (rights_portal.cases.registry).
CASE_TYPE_LABELS = KindAttribute("label")
CASE_TYPE_INTROS = KindAttribute("intro")

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
    "exam_moved": _l("Exam moved"),
}

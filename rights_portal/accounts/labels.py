"""Translated names of guardian bases, link states, documents and identity answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from .models import (
    AuthorityDocument,
    GuardianBasis,
    IdentityAnswer,
    IdentityCheckStatus,
    IdentityDocument,
    LinkStatus,
    VerificationMethod,
)

BASIS_LABELS = {
    GuardianBasis.PARENTAL_AUTHORITY: _l("Parent with parental authority"),
    GuardianBasis.COURT_APPOINTED: _l("Guardian appointed by a court"),
}

LINK_STATUS_LABELS = {
    LinkStatus.PENDING: _l("Waiting for a check"),
    LinkStatus.VERIFIED: _l("Verified"),
    LinkStatus.REJECTED: _l("Rejected"),
    LinkStatus.REVOKED: _l("Ended"),
}

METHOD_LABELS = {
    VerificationMethod.IN_PERSON: _l("Document shown in person at the desk"),
    VerificationMethod.VIDEO_CALL: _l("Document shown in a video call"),
    VerificationMethod.REGISTER: _l("Checked in the custody register by staff"),
}

AUTHORITY_DOCUMENT_LABELS = {
    AuthorityDocument.CUSTODY_REGISTER_EXTRACT: _l("Extract from the custody register"),
    AuthorityDocument.BRP_EXTRACT: _l("Extract from the Personal Records Database (BRP)"),
    AuthorityDocument.COURT_DECISION: _l("Court decision"),
}

IDENTITY_DOCUMENT_LABELS = {
    IdentityDocument.PASSPORT: _l("Passport"),
    IdentityDocument.IDENTITY_CARD: _l("Identity card"),
    IdentityDocument.DRIVING_LICENCE: _l("Driving licence"),
    IdentityDocument.RESIDENCE_PERMIT: _l("Residence permit"),
}

IDENTITY_STATUS_LABELS = {
    IdentityCheckStatus.REQUESTED: _l("Proof of identity asked"),
    IdentityCheckStatus.VERIFIED: _l("Identity checked"),
    IdentityCheckStatus.NOT_VERIFIED: _l("Identity could not be checked"),
}

IDENTITY_ANSWER_LABELS = {
    IdentityAnswer.WILL_SHOW_AT_DESK: _l("I will show my identity document at the desk"),
    IdentityAnswer.SHOWN_AT_DESK: _l("I have shown my identity document at the desk"),
}

LABEL_GLOBALS: dict[str, Mapping[Any, Any]] = {
    "basis_labels": BASIS_LABELS,
    "link_status_labels": LINK_STATUS_LABELS,
    "method_labels": METHOD_LABELS,
    "authority_document_labels": AUTHORITY_DOCUMENT_LABELS,
    "identity_document_labels": IDENTITY_DOCUMENT_LABELS,
    "identity_status_labels": IDENTITY_STATUS_LABELS,
    "identity_answer_labels": IDENTITY_ANSWER_LABELS,
}

"""Translated names of the register's fields, legal bases, tool kinds and reminder kinds.

The form, the version history and the letters use the same names, so a field reads the same
everywhere it appears.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..exams.models import ToolKind
from .models import LegalBasis, ReminderKind

TOOL_KIND_LABELS = {
    ToolKind.PROCTORING: _l("Online proctoring"),
    ToolKind.VIDEO_CALL: _l("Online video calling"),
}

LEGAL_BASIS_LABELS = {
    LegalBasis.CONSENT: _l("GDPR art. 6(1)(a): consent"),
    LegalBasis.CONTRACT: _l("GDPR art. 6(1)(b): performance of a contract"),
    LegalBasis.LEGAL_OBLIGATION: _l("GDPR art. 6(1)(c): a legal obligation"),
    LegalBasis.VITAL_INTERESTS: _l("GDPR art. 6(1)(d): vital interests"),
    LegalBasis.PUBLIC_TASK: _l("GDPR art. 6(1)(e): a task in the public interest"),
    LegalBasis.LEGITIMATE_INTERESTS: _l("GDPR art. 6(1)(f): legitimate interests"),
}

REMINDER_KIND_LABELS = {
    ReminderKind.DPIA_REVIEW: _l("DPIA review"),
    ReminderKind.AGREEMENT_EXPIRY: _l("Processor agreement expires"),
    ReminderKind.NECESSITY_REVIEW: _l("Necessity re-evaluation"),
}

FIELD_LABELS = {
    "name": _l("Name of the tool"),
    "kind": _l("Kind of tool"),
    "purpose": _l("Purpose"),
    "necessity": _l("Why the tool is necessary"),
    "alternatives_considered": _l("Less intrusive alternatives considered"),
    "necessity_reviewed_on": _l("Necessity last evaluated on"),
    "intrusion_limits": _l("How the intrusion is limited"),
    "legal_basis": _l("Legal basis"),
    "legal_basis_explanation": _l("Explanation of the legal basis"),
    "in_use_since": _l("In use since"),
    "data_categories": _l("Categories of personal data"),
    "vendor": _l("Supplier (processor)"),
    "vendor_email": _l("Supplier's privacy e-mail address"),
    "sub_processors": _l("Sub-processors"),
    "outside_eea": _l("Data goes outside the EEA"),
    "transfer_safeguards": _l("Safeguards for the transfer outside the EEA"),
    "retention_days": _l("Retention period (days)"),
    "recording_rules": _l("Recording rules"),
    "dpia_on": _l("DPIA carried out on"),
    "dpia_outcome": _l("Outcome of the DPIA"),
    "dpia_next_review_on": _l("Next DPIA review on"),
    "dpo_advice_on": _l("DPO's advice given on"),
    "dpo_advice_summary": _l("Summary of the DPO's advice"),
    "stakeholders_consulted": _l("Stakeholders consulted"),
    "processor_agreement_on": _l("Processor agreement signed on"),
    "processor_agreement_expires_on": _l("Processor agreement expires on"),
    "policy_url": _l("Policy document (link)"),
    "privacy_notice": _l("Privacy notice for students and parents"),
    "incident_procedure": _l("Incident procedure"),
    "change_note": _l("What changed and why"),
}

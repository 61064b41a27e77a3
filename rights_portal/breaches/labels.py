"""Translated names of breach states and risk levels, for pages, exports and the PDF report."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import BreachStatus, RiskLevel

BREACH_STATUS_LABELS = {
    BreachStatus.REPORTED: _l("Reported, not yet assessed"),
    BreachStatus.ASSESSED: _l("Assessed"),
    BreachStatus.CLOSED: _l("Closed"),
}

RISK_SHORT_LABELS = {
    RiskLevel.NO_RISK: _l("No risk"),
    RiskLevel.RISK: _l("Risk"),
    RiskLevel.HIGH_RISK: _l("High risk"),
}

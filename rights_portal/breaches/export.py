"""The breach register as a table: for the CSV export and the DPO's PDF report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _

from ..clock import to_local
from ..csvexport import csv_text
from .labels import BREACH_STATUS_LABELS, RISK_SHORT_LABELS
from .models import Breach


def _moment(value: datetime | None) -> str:
    """Amsterdam local time with its offset, so the moment is unambiguous in a file."""
    return "" if value is None else to_local(value).isoformat(timespec="minutes")


def register_columns() -> list[str]:
    """Column headings of the register."""
    return [
        _("Reference"),
        _("Status"),
        _("Discovered"),
        _("Deadline for notifying the AP"),
        _("What happened"),
        _("Data involved"),
        _("Whose data"),
        _("Tool"),
        _("Risk"),
        _("Risk assessment"),
        _("AP notified at"),
        _("AP reference"),
        _("Reasons for the delay"),
        _("Reason for not notifying"),
        _("People concerned informed at"),
        _("Notice to the people concerned"),
        _("Reason for not informing them"),
        _("Measures taken"),
        _("Closed at"),
    ]


def register_rows(breaches: Sequence[Breach]) -> list[list[str]]:
    """One row per breach, in the order of :func:`register_columns`."""
    return [
        [
            breach.reference,
            str(BREACH_STATUS_LABELS[breach.status]),
            _moment(breach.discovered_at),
            _moment(breach.ap_deadline),
            breach.description,
            breach.data_categories,
            breach.data_subjects,
            breach.tool.name if breach.tool else "",
            str(RISK_SHORT_LABELS[breach.risk]) if breach.risk else "",
            breach.risk_assessment or "",
            _moment(breach.ap_notified_at),
            breach.ap_reference or "",
            breach.lateness_reason or "",
            breach.not_notified_reason or "",
            _moment(breach.subjects_informed_at),
            breach.subjects_notice_nl or "",
            breach.subjects_not_informed_reason or "",
            breach.remedial_actions,
            _moment(breach.closed_at),
        ]
        for breach in breaches
    ]


def register_csv(breaches: Sequence[Breach]) -> str:
    """The register as CSV text."""
    return csv_text(register_columns(), register_rows(breaches))

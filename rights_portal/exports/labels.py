"""Translated names of the export kinds and statuses, for the exports page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import ExportKind, ExportStatus

EXPORT_KIND_LABELS = {
    ExportKind.AUDIT_TRAIL: _l("Audit trail (CSV)"),
    ExportKind.DPO_REPORT: _l("Accountability report (PDF)"),
}

EXPORT_STATUS_LABELS = {
    ExportStatus.QUEUED: _l("Waiting to be prepared"),
    ExportStatus.BUILDING: _l("Being prepared"),
    ExportStatus.READY: _l("Ready to download"),
    ExportStatus.FAILED: _l("Failed"),
    ExportStatus.EXPIRED: _l("Deleted after the retention period"),
}

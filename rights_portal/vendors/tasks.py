"""What the vendors' Celery tasks do, by id: load the rows and call the services.

These commit step by step on purpose (``transactions.commit`` as the services' ``step``): after
the listing and after each file with its audit event, so a download of a long recording holds no
lock on the audit chain or the connector, and a worker that dies keeps what was complete (the
retried task skips it: the same vendor file id is never fetched twice).
"""

from __future__ import annotations

from ..cases.models import Case
from ..extensions import db
from ..transactions import commit
from . import services
from .models import ConnectorKind, VendorConnector


def fetch_for_case(case_id: int) -> dict[str, object]:
    """Fetch what is missing for an access case; a summary for the task log."""
    case = db.session.get(Case, case_id)
    if case is None:
        return {"case": case_id, "missing": True}
    reports = services.fetch_for_case(case, actor=None, step=commit)
    return {
        report.connector.name: {
            "listed": report.listed,
            "stored": len(report.stored),
            "errors": report.errors,
        }
        for report in reports
    }


def fetch_meeting(connector_id: int, meeting_id: str) -> dict[str, object]:
    """Fetch a Zoom meeting's files after its webhook."""
    connector = db.session.get(VendorConnector, connector_id)
    if connector is None or connector.kind is not ConnectorKind.ZOOM or not connector.enabled:
        return {"connector": connector_id, "skipped": True}
    report = services.fetch_meeting(connector, meeting_id, step=commit)
    return {"listed": report.listed, "stored": len(report.stored), "errors": report.errors}

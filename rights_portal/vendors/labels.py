"""The connector kinds in words, for the admin pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import ConnectorKind

CONNECTOR_KIND_LABELS = {
    ConnectorKind.ZOOM: _l("Zoom (cloud recordings API and webhook)"),
    ConnectorKind.PROCTOREXAM: _l("ProctorExam (signed API v3)"),
    ConnectorKind.ON_REQUEST: _l("On request (a vendor without an API)"),
}

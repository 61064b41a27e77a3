"""The vendors' part of an access request's staff case page (R11: every recording, per vendor).

For each connector that may hold the student's data in the request's scope it shows what was
listed and fetched, what is missing or failed and the last error; for vendors without an API the
request sent, its due date and the upload of what arrived. The panel is added to the access type
by ``create_app`` (:func:`rights_portal.cases.registry.add_staff_panel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..accounts.models import User
from ..cases.models import Case
from ..exams.models import Exam
from ..extensions import db
from ..permissions import Action, can
from . import on_request, services
from .forms import ButtonForm, UploadForm
from .models import (
    ConnectorKind,
    ItemState,
    VendorCaseCheck,
    VendorConnector,
    VendorItem,
    VendorRequest,
)

TEMPLATE = "vendors/_case_panel.html"


@dataclass
class VendorStatus:
    """One connector's state for one case."""

    connector: VendorConnector
    exams: list[Exam]
    check: VendorCaseCheck | None = None
    items: list[VendorItem] = field(default_factory=list)
    request: VendorRequest | None = None

    @property
    def fetched(self) -> int:
        """Items stored."""
        return sum(1 for item in self.items if item.state is ItemState.FETCHED)

    @property
    def missing(self) -> int:
        """Items listed but not (yet) stored."""
        return len(self.items) - self.fetched

    @property
    def complete(self) -> bool:
        """Listed since the case was received, without error, and everything stored."""
        if self.connector.kind is ConnectorKind.ON_REQUEST:
            return self.request is not None and self.request.received_at is not None
        return self.check is not None and self.check.error is None and self.missing == 0


def statuses(case: Case) -> list[VendorStatus]:
    """Every relevant connector's state for ``case``."""
    found: list[VendorStatus] = []
    for connector, exams in services.case_connectors(case):
        status = VendorStatus(connector=connector, exams=exams)
        status.check = db.session.scalars(
            select(VendorCaseCheck).where(
                VendorCaseCheck.connector_id == connector.id, VendorCaseCheck.case_id == case.id
            )
        ).one_or_none()
        status.items = list(
            db.session.scalars(
                select(VendorItem)
                .where(
                    VendorItem.connector_id == connector.id,
                    VendorItem.student_id == case.subject_id,
                    VendorItem.exam_id.in_([exam.id for exam in exams]),
                )
                .order_by(VendorItem.id)
            )
        )
        status.request = on_request.open_request(connector, case)
        found.append(status)
    return found


def build(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    """The panel's context, or nothing for whom may not work on the access request."""
    if not can(user, Action.WORK_ACCESS, case):
        return {}
    found = statuses(case)
    if not found:
        return {}
    upload_forms = {}
    for status in found:
        if status.request is not None:
            form = UploadForm(prefix=f"upload{status.connector.id}")
            form.exam_id.choices = [(exam.id, exam.label) for exam in status.exams]
            upload_forms[status.connector.id] = form
    return {
        "statuses": found,
        "may_fetch": can(user, Action.HANDLE_ACCESS, case),
        "button": ButtonForm(),
        "upload_forms": upload_forms,
    }

"""The named operations on connectors: configure, check, list, fetch for a case or a webhook.

Like every service these flush and never commit. :func:`fetch_for_case` and :func:`fetch_meeting`
take a ``step`` the task sets to ``transactions.commit``: it is called after the listing and after
each file with its audit event, so a long download holds no lock (the audit chain's, taken by
``record``, or the connector's row) and a worker that dies keeps every file that was complete.
Permission checks are the callers', via :mod:`rights_portal.permissions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..access.filing import exams_to_choose, scope_of
from ..access.holdings import required
from ..accounts.models import User
from ..audit.services import record
from ..cases.models import Case
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import Exam, ProctoringTool
from ..extensions import db
from . import fetch as fetching
from .connectors import VendorError, connector_for, links_for
from .models import (
    ConnectorKind,
    ItemState,
    VendorCaseCheck,
    VendorConnector,
    VendorItem,
    VendorLink,
)
from .secrets import seal, unseal

#: The credential fields of each kind (names only; the values are sealed).
CREDENTIAL_FIELDS: dict[ConnectorKind, tuple[str, ...]] = {
    ConnectorKind.ZOOM: ("account_id", "client_id", "client_secret", "webhook_secret", "user_id"),
    ConnectorKind.PROCTOREXAM: ("api_token", "secret_key"),
    ConnectorKind.ON_REQUEST: (),
}


def connectors() -> list[VendorConnector]:
    """Every connector, by name."""
    return list(db.session.scalars(select(VendorConnector).order_by(VendorConnector.name)))


def save_connector(
    connector: VendorConnector | None,
    *,
    name: str,
    kind: ConnectorKind,
    tool: ProctoringTool,
    base_url: str,
    token_url: str,
    enabled: bool,
    credentials: dict[str, str],
    actor: User,
) -> VendorConnector:
    """Make or change a connector; empty credential fields keep their stored value."""
    name = name.strip()
    clash = db.session.scalars(
        select(VendorConnector.id).where(func.lower(VendorConnector.name) == name.lower())
    ).first()
    if clash is not None and (connector is None or clash != connector.id):
        raise RuleViolation(_l("A connector with this name exists already."))
    if kind is not ConnectorKind.ON_REQUEST and not base_url.strip().startswith(
        ("https://", "http://")
    ):
        raise RuleViolation(_l("Give the vendor API's address, starting with https://."))
    created = connector is None
    stored = unseal(connector.credentials) if connector is not None else {}
    allowed = CREDENTIAL_FIELDS[kind]
    changed = sorted(k for k, v in credentials.items() if k in allowed and v)
    stored = {k: v for k, v in stored.items() if k in allowed}
    stored.update({k: credentials[k] for k in changed})
    if connector is None:
        connector = VendorConnector(kind=kind, tool_id=tool.id, name=name)
        db.session.add(connector)
    connector.name = name
    connector.kind = kind
    connector.tool_id = tool.id
    connector.base_url = base_url.strip()
    connector.token_url = token_url.strip()
    connector.enabled = enabled
    connector.credentials = seal(stored)
    db.session.flush()
    record(
        "vendors.connector_created" if created else "vendors.connector_changed",
        actor=actor,
        object_type="vendor_connector",
        object_id=connector.id,
        # Which credentials changed, never their values.
        after={
            "name": name,
            "kind": kind.value,
            "tool_id": tool.id,
            "base_url": connector.base_url,
            "enabled": enabled,
            "credentials_changed": changed,
        },
    )
    return connector


def add_link(
    connector: VendorConnector, *, exam: Exam, vendor_ref: str, student: User | None, actor: User
) -> VendorLink:
    """Say which vendor object holds ``exam`` (a Zoom meeting needs its student)."""
    vendor_ref = vendor_ref.strip()
    if not vendor_ref:
        raise RuleViolation(_l("Give the vendor's meeting or exam id."))
    if connector.kind is ConnectorKind.ZOOM and student is None:
        raise RuleViolation(_l("A Zoom meeting is linked to the student it recorded."))
    exists = db.session.scalars(
        select(VendorLink.id).where(
            VendorLink.connector_id == connector.id,
            VendorLink.vendor_ref == vendor_ref,
            VendorLink.exam_id == exam.id,
            VendorLink.student_id == student.id
            if student is not None
            else VendorLink.student_id.is_(None),
        )
    ).first()
    if exists is not None:
        raise RuleViolation(_l("This link exists already."))
    link = VendorLink(
        connector_id=connector.id,
        exam_id=exam.id,
        vendor_ref=vendor_ref[:200],
        student_id=student.id if student else None,
    )
    db.session.add(link)
    db.session.flush()
    record(
        "vendors.link_added",
        actor=actor,
        object_type="vendor_connector",
        object_id=connector.id,
        after={"exam_id": exam.id, "vendor_ref": link.vendor_ref, "student_id": link.student_id},
    )
    return link


def check_connection(connector: VendorConnector, *, actor: User) -> tuple[bool, str]:
    """One authenticated call to the vendor; the outcome is kept on the connector."""
    try:
        message = connector_for(connector).check()
        ok = True
    except VendorError as exc:
        message, ok = str(exc), False
    _note(connector, None if ok else message)
    record(
        "vendors.connection_checked",
        actor=actor,
        object_type="vendor_connector",
        object_id=connector.id,
        after={"ok": ok, "message": message[:500]},
    )
    return ok, message


def _note(connector: VendorConnector, error: str | None) -> None:
    if error is None:
        connector.last_sync_at = now_utc()
        connector.last_error = None
    else:
        connector.last_error = error[:2000]
        connector.last_error_at = now_utc()
    db.session.flush()


def counts(connector: VendorConnector) -> dict[str, int]:
    """How many of the connector's listed items are in each state."""
    rows = db.session.execute(
        select(VendorItem.state, func.count())
        .where(VendorItem.connector_id == connector.id)
        .group_by(VendorItem.state)
    ).all()
    found = {state.value: int(n) for state, n in rows}
    return {state.value: found.get(state.value, 0) for state in ItemState}


def list_into_items(
    connector: VendorConnector, *, student: User | None = None, exam: Exam | None = None
) -> list[VendorItem]:
    """List the vendor's files (of ``student`` / ``exam``) into vendor items; raise VendorError."""
    client = connector_for(connector)
    try:
        items = [
            fetching.remember(connector, remote)[0]
            for remote in client.list_files(student=student, exam=exam)
        ]
    except VendorError as exc:
        _note(connector, str(exc))
        raise
    _note(connector, None)
    return items


@dataclass
class RunReport:
    """What one fetch run did for one connector."""

    connector: VendorConnector
    listed: int = 0
    stored: list[int] = field(default_factory=list)  # recording file ids stored now
    already: int = 0
    errors: list[str] = field(default_factory=list)


Step = Callable[[], None]


def _no_step() -> None:
    """Keep everything in the caller's transaction."""


def _fetch_items(
    connector: VendorConnector,
    items: Iterable[VendorItem],
    report: RunReport,
    *,
    actor: User | None,
    case: Case | None,
    step: Step,
) -> None:
    client = connector_for(connector)
    for item in items:
        if item.state is ItemState.FETCHED:
            report.already += 1
            continue
        after: dict[str, Any] = {
            "connector": connector.name,
            "vendor_file_id": item.vendor_file_id,
            "exam_id": item.exam_id,
            "student_id": item.student_id,
        }
        try:
            outcome = fetching.fetch(client, item)
        except VendorError as exc:
            report.errors.append(f"{item.filename}: {exc}")
            record(
                "vendors.fetch_failed",
                actor=actor,
                object_type="vendor_item",
                object_id=item.id,
                case_id=case.id if case else None,
                after={**after, "error": str(exc)[:500]},
            )
            step()
            continue
        if outcome.stored:
            report.stored.append(required(item.recording_file_id, "stored file"))
        else:
            report.already += 1
        record(
            "vendors.file_fetched",
            actor=actor,
            object_type="vendor_item",
            object_id=item.id,
            case_id=case.id if case else None,
            after={
                **after,
                "recording_file_id": item.recording_file_id,
                "stored": outcome.stored,
                "bytes": outcome.bytes,
            },
        )
        step()


def case_connectors(case: Case) -> list[tuple[VendorConnector, list[Exam]]]:
    """The enabled connectors that may hold data of ``case``'s student, with the exams in scope."""
    scope = scope_of(case)
    student = case.subject
    everything = scope is None or scope.all_data
    exams = exams_to_choose(student) if everything else list(scope.exams)  # type: ignore[union-attr]
    exam_ids = {exam.id for exam in exams}
    found: list[tuple[VendorConnector, list[Exam]]] = []
    for connector in connectors():
        if not connector.enabled:
            continue
        if connector.kind is ConnectorKind.ON_REQUEST:
            covered = [exam for exam in exams if exam.proctoring_tool_id == connector.tool_id]
        else:
            linked = {link.exam_id for link in links_for(connector, student=student, exam=None)}
            covered = [exam for exam in exams if exam.id in linked]
            if scope is None or scope.all_data:
                extra = linked - exam_ids
                covered += list(db.session.scalars(select(Exam).where(Exam.id.in_(extra))))
        if covered:
            found.append((connector, covered))
    return found


def fetch_for_case(case: Case, *, actor: User | None, step: Step = _no_step) -> list[RunReport]:
    """List and fetch, from every API connector, what is missing of the case's student (R11)."""
    reports: list[RunReport] = []
    for connector, exams in case_connectors(case):
        if connector.kind is ConnectorKind.ON_REQUEST:
            continue
        report = RunReport(connector=connector)
        items: list[VendorItem] = []
        try:
            for exam in exams:
                items += list_into_items(connector, student=case.subject, exam=exam)
        except VendorError as exc:
            report.errors.append(str(exc))
            record(
                "vendors.fetch_failed",
                actor=actor,
                object_type="vendor_connector",
                object_id=connector.id,
                case_id=case.id,
                after={"connector": connector.name, "error": str(exc)[:500]},
            )
        report.listed = len(items)
        step()
        if not report.errors:
            _fetch_items(connector, items, report, actor=actor, case=case, step=step)
        _check(connector, case, report)
        reports.append(report)
    return reports


def _check(connector: VendorConnector, case: Case, report: RunReport) -> None:
    check = db.session.scalars(
        select(VendorCaseCheck).where(
            VendorCaseCheck.connector_id == connector.id, VendorCaseCheck.case_id == case.id
        )
    ).one_or_none()
    if check is None:
        check = VendorCaseCheck(connector_id=connector.id, case_id=case.id)
        db.session.add(check)
    check.checked_at = now_utc()
    check.listed = report.listed
    check.fetched = len(report.stored) + report.already
    check.error = "; ".join(report.errors)[:4000] or None
    db.session.flush()


def fetch_meeting(
    connector: VendorConnector, meeting_id: str, *, step: Step = _no_step
) -> RunReport:
    """After Zoom's recording.completed: list and fetch the files of the linked meeting."""
    from .zoom import ZoomConnector

    report = RunReport(connector=connector)
    links = list(
        db.session.scalars(
            select(VendorLink).where(
                VendorLink.connector_id == connector.id, VendorLink.vendor_ref == meeting_id
            )
        )
    )
    client = connector_for(connector)
    if not isinstance(client, ZoomConnector):
        raise VendorError(f"{connector.name} is not a Zoom connector")
    items: list[VendorItem] = []
    try:
        for link in links:
            items += [
                fetching.remember(connector, remote)[0] for remote in client.meeting_files(link)
            ]
    except VendorError as exc:
        _note(connector, str(exc))
        report.errors.append(str(exc))
        record(
            "vendors.fetch_failed",
            actor=None,
            object_type="vendor_connector",
            object_id=connector.id,
            after={"connector": connector.name, "meeting_id": meeting_id, "error": str(exc)[:500]},
        )
        return report
    _note(connector, None)
    report.listed = len(items)
    step()
    _fetch_items(connector, items, report, actor=None, case=None, step=step)
    return report

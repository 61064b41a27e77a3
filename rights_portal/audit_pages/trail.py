"""Reading the trail for the DPO: filters, keyset pages and the CSV export (R24).

Pages are newest first and keyed on the event id (``id < before``), never on an OFFSET, so page
1,000 costs what page 1 costs; each filter has an index that starts with it and ends with the id
(case, actor, action) or bounds a range (period). The export walks the same filtered set in the
same order in batches, so it streams with flat memory whatever its size. Nothing here writes:
the views record that the trail was opened or exported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select, text
from sqlalchemy.orm import aliased

from ..accounts.models import User
from ..accounts.services import normalise_email
from ..audit.models import AuditEvent
from ..cases.deadlines import AMSTERDAM
from ..cases.models import Case
from ..clock import as_utc
from ..extensions import db


@dataclass(frozen=True)
class TrailFilter:
    """What the DPO asked for, as typed; :func:`conditions` resolves it to WHERE clauses."""

    case_reference: str = ""
    actor_email: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict[str, str]:
        """The non-empty filters, for the audit event and the links that keep them."""
        values = {
            "case": self.case_reference,
            "actor": self.actor_email,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> TrailFilter:
        """The filter :meth:`as_dict` gave (a background export keeps it as JSON)."""
        date_from, date_to = values.get("date_from"), values.get("date_to")
        return cls(
            case_reference=values.get("case", ""),
            actor_email=values.get("actor", ""),
            action=values.get("action", ""),
            date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
        )


@dataclass(frozen=True)
class TrailRow:
    """One event as the DPO sees it, with the actor's and the case's names resolved."""

    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_email: str | None
    actor_name: str | None
    actor_role: str | None
    action: str
    object_type: str
    object_id: str | None
    case_id: int | None
    case_reference: str | None
    before: Any
    after: Any
    request_id: str | None
    ip_address: str | None
    prev_hash: str
    hash: str


def _day_start(day: date) -> datetime:
    return as_utc(datetime.combine(day, time.min, tzinfo=AMSTERDAM))


def conditions(trail_filter: TrailFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for the filter; an unknown case or actor matches nothing."""
    clauses: list[ColumnElement[bool]] = []
    if trail_filter.case_reference:
        case_id = db.session.scalar(
            select(Case.id).where(Case.reference == trail_filter.case_reference)
        )
        clauses.append(AuditEvent.case_id == case_id if case_id is not None else false())
    if trail_filter.actor_email:
        actor_id = db.session.scalar(
            select(User.id).where(User.email == normalise_email(trail_filter.actor_email))
        )
        clauses.append(AuditEvent.actor_id == actor_id if actor_id is not None else false())
    if trail_filter.action:
        clauses.append(AuditEvent.action == trail_filter.action)
    if trail_filter.date_from:
        clauses.append(AuditEvent.occurred_at >= _day_start(trail_filter.date_from))
    if trail_filter.date_to:  # inclusive: up to the start of the next day, Amsterdam time
        clauses.append(AuditEvent.occurred_at < _day_start(trail_filter.date_to + timedelta(1)))
    return clauses


def _rows_query(clauses: list[ColumnElement[bool]]) -> Select[*tuple[Any, ...]]:
    actor = aliased(User)
    return (
        select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            actor.email,
            actor.full_name,
            AuditEvent.actor_role,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.case_id,
            Case.reference,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.request_id,
            AuditEvent.ip_address,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Case, Case.id == AuditEvent.case_id)
        .where(*clauses)
        .order_by(AuditEvent.id.desc())
    )


def page(
    clauses: list[ColumnElement[bool]], before: int | None, size: int
) -> tuple[list[TrailRow], int | None]:
    """One page, newest first, of events older than ``before``; and the cursor of the next."""
    query = _rows_query(clauses)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = [TrailRow(*row) for row in db.session.execute(query.limit(size + 1))]
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None


def iter_rows(clauses: list[ColumnElement[bool]], batch_size: int = 1000) -> Iterator[TrailRow]:
    """Every matching event, newest first, fetched in keyset batches (for the export)."""
    before: int | None = None
    while True:
        batch, before = page(clauses, before, batch_size)
        yield from batch
        if before is None:
            return


def known_actions() -> list[str]:
    """The distinct actions on the trail, found with index skips rather than a full scan."""
    rows = db.session.execute(
        text(
            "WITH RECURSIVE actions(action) AS ("
            " SELECT min(action) FROM audit_events"
            " UNION ALL"
            " SELECT (SELECT min(action) FROM audit_events WHERE action > actions.action)"
            " FROM actions WHERE actions.action IS NOT NULL)"
            " SELECT action FROM actions WHERE action IS NOT NULL"
        )
    )
    return [action for (action,) in rows]


CSV_COLUMNS = (
    "id",
    "occurred_at_utc",
    "actor_id",
    "actor_email",
    "actor_name",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "case_reference",
    "before",
    "after",
    "request_id",
    "ip_address",
    "prev_hash",
    "hash",
)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text_value = str(value)
    if text_value.startswith(_FORMULA_START):
        return "'" + text_value
    return text_value


def csv_line(values: tuple[Any, ...] | list[Any]) -> str:
    """One CSV record (RFC 4180, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def csv_record(row: TrailRow) -> list[str]:
    """The export's cells for one event (times in UTC, JSON as text, formulas defused)."""
    return [
        _cell(row.id),
        row.occurred_at.isoformat(timespec="microseconds"),
        _cell(row.actor_id),
        _cell(row.actor_email),
        _cell(row.actor_name),
        _cell(row.actor_role),
        _cell(row.action),
        _cell(row.object_type),
        _cell(row.object_id),
        _cell(row.case_id),
        _cell(row.case_reference),
        _cell(row.before),
        _cell(row.after),
        _cell(row.request_id),
        _cell(row.ip_address),
        row.prev_hash,
        row.hash,
    ]


def csv_chunks(clauses: list[ColumnElement[bool]], batch_size: int = 1000) -> Iterator[str]:
    """The export as text chunks: a header, then one chunk per batch of events."""
    yield "\ufeff" + csv_line(CSV_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(iter_rows(clauses, batch_size), start=1):
        writer.writerow(csv_record(row))
        if count % batch_size == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()

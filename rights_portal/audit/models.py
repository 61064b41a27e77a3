"""The audit event: one link in a single global hash chain.

Each event stores the hash of the event before it and its own hash over a canonical
serialization of its content, so any change, deletion or reordering behind the application's
back is found by :mod:`rights_portal.audit.verify` (R24). The application never updates or
deletes an event: the mapper refuses it here, and the database refuses it with triggers
(see the migration ``audit_append_only``), whoever is connected. The database also extends the
chain itself, through :class:`AuditChainHead` (migration ``audit_chain_head``), so the chain
cannot fork.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Dialect, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ..db_types import UTCDateTime
from ..extensions import Base


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class CanonicalJSON(TypeDecorator[Any]):
    """A JSON column whose stored text is exactly :func:`canonical_json` of the value.

    The verifier can then splice the stored text into the canonical serialization without
    parsing and re-serialising it, which is most of the cost of checking an event
    (docs/rules.md#targets: at least 1,000,000 events per second). ``None`` is stored as SQL NULL.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], str | None]:
        """Serialise canonically ourselves instead of letting the driver pick a spelling."""

        def process(value: Any) -> str | None:
            return None if value is None else canonical_json(value)

        return process


class AuditEvent(Base):
    """Who did what to which object, when, with the state before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The DPO's trail filters on case, actor, action or period and pages by id.
        Index("ix_audit_events_case_id_id", "case_id", "id"),
        Index("ix_audit_events_actor_id_id", "actor_id", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        # No index on hash or prev_hash: sha256 keys land on a random page of the index at
        # every append, which stops fitting in memory as the trail grows. A fork is made
        # impossible by the chain head instead (AuditChainHead).
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    before: Mapped[dict[str, Any] | None] = mapped_column(CanonicalJSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(CanonicalJSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest event of the chain: one row, moved by the database itself at every append.

    A trigger on INSERT into ``audit_events`` (migration ``audit_chain_head``) swaps the head
    for the new event only if the new event names the current head as its predecessor, and
    refuses the insert otherwise: two events naming the same predecessor — a fork — cannot both
    be stored, whoever inserts. :func:`~rights_portal.audit.services.record` locks this row
    (``SELECT … FOR UPDATE``) to serialise appends and reads the head from it. The row cannot be
    deleted, and only that trigger may move it (on SQLite: only to the newest event).
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event through the ORM."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: AuditEvent) -> None:
    # The database triggers refuse it too; failing here names the culprit in Python.
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted (R24)")

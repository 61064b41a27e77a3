"""The verifier: streams the whole trail and reports the first broken link (R24)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from .models import AuditEvent
from .services import GENESIS_HASH, compute_hash


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification run."""

    events_checked: int
    broken_event_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact."""
        return self.broken_event_id is None


def _stream(batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        db.session.expunge_all()


def verify_chain(batch_size: int = 5000) -> VerificationResult:
    """Recompute every hash in id order and check each event points at its predecessor."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in _stream(batch_size):
        if event.prev_hash != expected_prev:
            return VerificationResult(
                checked,
                event.id,
                "prev_hash does not match the previous event (deleted or reordered)",
            )
        if compute_hash(event) != event.hash:
            return VerificationResult(
                checked, event.id, "content does not match its hash (altered)"
            )
        expected_prev = event.hash
        checked += 1
    return VerificationResult(checked)

"""Small database helpers: per-dialect statements, and a worker's claim on a queued job row.

PostgreSQL runs in production, SQLite as the embedded default.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from .clock import now_utc
from .extensions import db


def insert_ignoring_conflicts(model: Any, index_elements: list[str]) -> Any:
    """Return an INSERT that silently skips rows violating the unique key ``index_elements``."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=index_elements)


def claim_job(
    model: Any,
    row_id: int,
    *,
    queued: Any,
    working: Any,
    alive_at: InstrumentedAttribute[Any],
    stale: timedelta,
    stamped: tuple[InstrumentedAttribute[Any], ...] = (),
    **values: Any,
) -> bool:
    """Take a queued job row (or one whose worker stopped answering) for this worker.

    ``model`` has ``id`` and ``status``; ``queued`` and ``working`` are its status values.

    On its own, immediately committed transaction, so a second worker given the same task sees
    the claim at once; the row becomes ``working`` with ``alive_at`` and the ``stamped`` columns
    set to the same now (and ``values``).
    False when the row is not waiting, or is being worked on by a worker still alive.
    """
    now, status = now_utc(), model.status
    with db.engine.begin() as conn:
        taken = conn.execute(
            update(model)
            .where(
                model.id == row_id,
                or_(status == queued, and_(status == working, alive_at <= now - stale)),
            )
            .values({status: working, alive_at: now, **dict.fromkeys(stamped, now), **values})
        )
        return bool(taken.rowcount == 1)

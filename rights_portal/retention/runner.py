"""The purge and the erasure as units of work: the one place that commits between the steps.

Like a task or a CLI command this is an edge: it commits. It must, because R25's "nothing lost
by mistake" needs each deletion intent durable *before* the file leaves storage, and each
completion durable right after. The CLI command and the daily Celery task call :func:`purge`;
the staff views call :func:`carry_out_for_case` after a decision's own commit.

``RETENTION_PURGE_PAUSE_AFTER_INTENT`` / ``RETENTION_PURGE_PAUSE_AFTER_DELETE`` (seconds) make a
run sleep after the first committed intent, or after the first storage delete before it is
marked done, so a test can kill the process at exactly those points.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date

from ..access.storage import Storage, recordings_storage
from ..accounts.models import User
from ..extensions import db
from ..transactions import commit
from . import services
from .models import DeletionRecord, DeletionRule


def _pause(name: str, done: set[str]) -> None:
    seconds = float(os.environ.get(name, "0") or 0)
    if seconds > 0 and name not in done:
        done.add(name)
        time.sleep(seconds)


@dataclass
class PurgeResult:
    """What one run did."""

    plan: services.PurgePlan
    deleted: list[int] = field(default_factory=list)  # file ids deleted by new intents
    completed: list[int] = field(default_factory=list)  # file ids of resumed intents

    def lines(self) -> list[str]:
        """The plan's report and what was done."""
        return [
            *self.plan.lines(),
            f"done: {len(self.deleted)} files deleted, {len(self.completed)} intents completed",
        ]


def _finish(intent: DeletionRecord, store: Storage, paused: set[str]) -> None:
    if intent.deleted_at is None:
        key = intent.storage_key
        if key and os.environ.get("RETENTION_PURGE_PAUSE_AFTER_DELETE"):
            store.delete(key)  # the test's kill point: deleted from storage, not yet marked
            _pause("RETENTION_PURGE_PAUSE_AFTER_DELETE", paused)
        services.carry_out(intent, store=store)
    commit()


def purge(today: date | None = None, *, store: Storage | None = None) -> PurgeResult:
    """Complete any half-done intents, then delete every expired file that nothing holds."""
    store = store or recordings_storage()
    plan = services.plan_purge(today)
    result = PurgeResult(plan=plan)
    paused: set[str] = set()
    for intent in plan.pending:
        _finish(intent, store, paused)
        result.completed.append(intent.file_id)
    for item in plan.to_delete:
        for file in item.files:
            intent = services.write_intent(file, rule=DeletionRule.RETENTION, store=store)
            commit()  # the intent is durable before the file is touched
            _pause("RETENTION_PURGE_PAUSE_AFTER_INTENT", paused)
            _finish(intent, store, paused)
            result.deleted.append(file.id)
    services.record_purge_run(plan, deleted=result.deleted, completed=result.completed)
    commit()
    return result


def carry_out_for_case(case_id: int, *, actor: User | None, store: Storage | None = None) -> int:
    """Carry out the committed deletion intents of one decision; returns how many."""
    store = store or recordings_storage()
    intents = services.pending_intents(case_id)
    for intent in intents:
        services.carry_out(intent, store=store, actor=actor)
        commit()
    db.session.expire_all()
    return len(intents)

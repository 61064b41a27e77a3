"""The purge and the erasure as units of work: the one place that commits between the steps.

Like a task or a CLI command this is an edge: it commits. It must, because R25's "nothing lost
by mistake" needs each deletion intent durable *before* the file leaves storage, and each
completion durable right after. The CLI command and the daily Celery task call :func:`purge`;
the staff views call :func:`carry_out_for_case` after a decision's own commit.

``RETENTION_PURGE_PAUSE_AFTER_INTENT`` / ``RETENTION_PURGE_PAUSE_AFTER_DELETE`` (seconds) make a
run sleep after the first committed intent, or after the first storage delete (the file and its
redacted copies) before it is marked done, so a test can kill the process at exactly those
points.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date

from ..access.storage import Storage, recordings_storage
from ..accounts.models import User
from ..extensions import db
from ..intake import services as intake_services
from ..transactions import commit
from . import services
from .models import DeletionOutcome, DeletionRecord, DeletionRule


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
    cancelled: list[int] = field(default_factory=list)  # file ids whose intent a hold stopped
    # decision ids of redacted copies left behind by deletions from before they went together
    leftover_copies: list[int] = field(default_factory=list)
    # case_intakes ids whose letter or e-mail as received was deleted (R1, R25)
    intake_documents: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The plan's report and what was done."""
        return [
            *self.plan.lines(),
            f"done: {len(self.deleted)} files deleted, {len(self.completed)} intents completed, "
            f"{len(self.cancelled)} intents cancelled because the recording is held, "
            f"{len(self.leftover_copies)} left-over redacted copies deleted, "
            f"{len(self.intake_documents)} registered letters or e-mails deleted",
        ]


def _finish(intent: DeletionRecord, store: Storage, paused: set[str]) -> DeletionOutcome:
    if intent.outcome is None and os.environ.get("RETENTION_PURGE_PAUSE_AFTER_DELETE"):
        # The test's kill point: copies and file deleted from storage, not yet marked.
        services.remove_from_storage(intent, store)
        _pause("RETENTION_PURGE_PAUSE_AFTER_DELETE", paused)
    outcome = services.carry_out(intent, store=store)
    commit()
    return outcome


def purge(today: date | None = None, *, store: Storage | None = None) -> PurgeResult:
    """Complete any half-done intents, then delete every expired file that nothing holds."""
    store = store or recordings_storage()
    plan = services.plan_purge(today)
    result = PurgeResult(plan=plan)
    paused: set[str] = set()
    for intent in plan.pending:
        # A hold placed since the intent was written wins: carry_out checks again (R25).
        if _finish(intent, store, paused).cancelled:
            result.cancelled.append(intent.file_id)
        else:
            result.completed.append(intent.file_id)
    for item in plan.to_delete:
        for file in item.files:
            intent = services.write_intent(file, rule=DeletionRule.RETENTION, store=store)
            commit()  # the intent is durable before the file is touched
            _pause("RETENTION_PURGE_PAUSE_AFTER_INTENT", paused)
            if _finish(intent, store, paused).cancelled:
                result.cancelled.append(file.id)
            else:
                result.deleted.append(file.id)
    # Redacted copies of files deleted before copies went with their file (R25): same steps.
    for decision in services.leftover_copies():
        listed = services.list_leftover_copy(decision, store=store)
        if listed is None:
            continue  # held, or no record of the file's deletion: kept and left for a person
        commit()
        services.delete_listed_copy(decision, listed, store=store)
        commit()
        result.leftover_copies.append(decision.id)
    # Letters and e-mails kept with registered requests: the same retention (R1, R25).
    for intake in intake_services.documents_to_purge(plan.today):
        intake_services.purge_document(intake, store=store)
        commit()
        result.intake_documents.append(intake.id)
    services.record_purge_run(
        plan,
        deleted=result.deleted,
        completed=result.completed,
        cancelled=result.cancelled,
        leftover_copies=result.leftover_copies,
    )
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

"""The purge and a decision's erasure as units of work: the one place that commits between steps.

Like a task or a CLI command this is an edge: it commits. It must commit step by step, not once
at the end, because R25's "nothing lost by mistake" needs each deletion intent durable *before*
the file leaves storage, and each completion durable right after; a run killed in between is
completed by the next one, which deletes nothing twice. The CLI command and the daily Celery
task call :func:`purge`; the task ``rights_portal.delete_decided_files``, queued through the
outbox by a decision, calls :func:`delete_decided_files`.

:data:`step_hook` is called at the two points where a crash matters most (see
:data:`PurgeStep`); it does nothing in production. The kill tests run the purge in an app of
their own that installs a hook pausing there, so they can kill the process at exactly those
points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from flask import Flask, current_app
from sqlalchemy import select

from ..access.blobs import Storage
from ..access.storage import recordings_storage
from ..accounts.models import User
from ..extensions import db
from ..transactions import commit
from . import intents, leftovers
from .models import DeletionOutcome, DeletionRecord, DeletionRule
from .plan import PurgePlan, plan_purge, record_purge_run

#: Where the purge finds the other documents kept under the recordings' retention (the letters
#: and e-mails of registered requests): functions registered by ``create_app`` that delete those
#: due by a day, committing each, and return their ids. So retention imports no domain that
#: keeps documents.
DOCUMENT_PURGERS = "retention_document_purgers"
DocumentPurger = Callable[[date, Storage], list[int]]


def register_document_purger(app: Flask, purger: DocumentPurger) -> None:
    """Let the purge delete another domain's documents that are due (R25)."""
    app.extensions.setdefault(DOCUMENT_PURGERS, []).append(purger)


#: ``intent_committed``: an intent is durable and nothing is deleted yet;
#: ``files_removed``: the intent's copies and file left storage, the intent is not marked done.
PurgeStep = Literal["intent_committed", "files_removed"]


def _nothing_between_steps(step: PurgeStep) -> None:
    """In production nothing happens between the steps of a deletion."""


#: Called by :func:`purge` at each :data:`PurgeStep`; tests replace it (tests/purge_pauses.py).
step_hook: Callable[[PurgeStep], None] = _nothing_between_steps


@dataclass
class PurgeResult:
    """What one run did."""

    plan: PurgePlan
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


def _finish(intent: DeletionRecord, store: Storage) -> DeletionOutcome:
    outcome = intents.carry_out(
        intent, store=store, after_removal=lambda: step_hook("files_removed")
    )
    commit()  # the completion is durable right after the file left storage
    return outcome


def purge(today: date | None = None, *, store: Storage | None = None) -> PurgeResult:
    """Complete any half-done intents, then delete every expired file that nothing holds."""
    store = store or recordings_storage()
    purge_plan = plan_purge(today)
    result = PurgeResult(plan=purge_plan)
    for intent in purge_plan.pending:
        # A hold placed since the intent was written wins: carry_out checks again (R25).
        if _finish(intent, store).cancelled:
            result.cancelled.append(intent.file_id)
        else:
            result.completed.append(intent.file_id)
    for item in purge_plan.to_delete:
        for file in item.files:
            intent = intents.write_intent(file, rule=DeletionRule.RETENTION, store=store)
            commit()  # the intent is durable before the file is touched
            step_hook("intent_committed")
            if _finish(intent, store).cancelled:
                result.cancelled.append(file.id)
            else:
                result.deleted.append(file.id)
    # Redacted copies of files deleted before copies went with their file (R25): same steps.
    for decision in leftovers.leftover_copies():
        listed = leftovers.list_leftover_copy(decision, store=store)
        if listed is None:
            continue  # held, or no record of the file's deletion: kept and left for a person
        commit()
        leftovers.delete_listed_copy(decision, listed, store=store)
        commit()
        result.leftover_copies.append(decision.id)
    # Letters and e-mails kept with registered requests: the same retention (R1, R25).
    for purge_documents in current_app.extensions.get(DOCUMENT_PURGERS, []):
        result.intake_documents.extend(purge_documents(purge_plan.today, store))
    record_purge_run(
        purge_plan,
        deleted=result.deleted,
        completed=result.completed,
        cancelled=result.cancelled,
        leftover_copies=result.leftover_copies,
    )
    commit()
    return result


def _carry_out_pending(
    case_id: int, store: Storage, actor_of: Callable[[DeletionRecord], User | None]
) -> int:
    done = 0
    for pending in intents.pending_intents(case_id):
        # Locked and read again: a second run of the same task (a re-sent outbox row) waits
        # here and then finds the intent done, so nothing is deleted or recorded twice.
        intent = db.session.scalars(
            select(DeletionRecord)
            .where(DeletionRecord.id == pending.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if intent.outcome is None:
            intents.carry_out(intent, store=store, actor=actor_of(intent))
            done += 1
        commit()
    db.session.expire_all()
    return done


def delete_decided_files(case_id: int, *, store: Storage | None = None) -> int:
    """Carry out a decision's committed deletion intents (R25); how many this run carried out.

    Recorded as done by whoever decided (the intent's actor), as when the decision deleted the
    files itself. Idempotent: intents already carried out are skipped, and one that a killed run
    left half-done is completed (its files may be gone already; the record says so).
    """

    def decider(intent: DeletionRecord) -> User | None:
        return db.session.get(User, intent.actor_id) if intent.actor_id else None

    return _carry_out_pending(case_id, store or recordings_storage(), decider)


"""Celery tasks. Each is thin: it loads what it needs by id and calls a domain service.

Tasks are idempotent (acks late, so a killed worker's task runs again): delivering an outbox
message checks ``sent_at`` under a row lock, and the sweep's reminders are unique per milestone.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app

from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access import package as access_package
from rights_portal.audit.anchors import anchor_head, verify_and_anchor
from rights_portal.breaches.reminders import send_reminders
from rights_portal.cases.reminders import sweep
from rights_portal.exports import services as export_services
from rights_portal.extensions import db
from rights_portal.media import services as media_services
from rights_portal.media import worker as media_worker
from rights_portal.notifications.services import deliver, undelivered_ids
from rights_portal.ooapi import sync as ooapi_sync
from rights_portal.register.reminders import sweep as register_sweep
from rights_portal.retention import runner as retention_runner
from rights_portal.transactions import (
    after_commit,
    dispatch,
    dispatch_tasks,
    unit_of_work,
    unsent_task_ids,
)
from rights_portal.vendors import on_request as vendor_on_request
from rights_portal.vendors import tasks as vendor_tasks
from rights_portal.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)


@shared_task(
    name="rights_portal.deliver_email",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=12,
)
def deliver_email(message_id: int) -> bool:
    """Send one outbox message (no-op if it was sent already)."""
    return deliver(message_id)


@shared_task(name="rights_portal.relay_outbox")
def relay_outbox() -> int:
    """Re-dispatch committed messages and queued tasks whose dispatch was lost (broker down)."""
    age = timedelta(seconds=current_app.config["OUTBOX_RELAY_AGE_SECONDS"])
    ids = undelivered_ids(age)
    dispatch(ids)
    task_ids = unsent_task_ids(age)
    dispatch_tasks(task_ids)
    return len(ids) + len(task_ids)


@shared_task(name="rights_portal.deliver_webhook")
def deliver_webhook(message_id: str) -> bool:
    """Attempt one webhook delivery (a no-op once delivered); failures wait for the relay."""
    return webhook_delivery.deliver(message_id)


@shared_task(name="rights_portal.relay_webhooks")
def relay_webhooks() -> int:
    """Send the webhook deliveries whose next attempt is due (retries, lost dispatches)."""
    due = webhook_delivery.due_message_ids()
    db.session.rollback()  # end the read before the broker calls
    webhook_delivery.enqueue(due)
    return len(due)


@shared_task(name="rights_portal.sweep_deadlines")
def sweep_deadlines() -> list[str]:
    """Run the deadline sweep (R9, R10); it commits and dispatches batch by batch itself."""
    report = sweep()
    for line in report.lines():
        log.info(line)
    return report.lines()


@shared_task(name="rights_portal.register_reminders")
@unit_of_work
def register_reminders() -> list[str]:
    """Remind the DPO of DPIA reviews, expiring processor agreements and necessity checks."""
    report = register_sweep()
    for line in report.lines():
        log.info(line)
    return report.lines()


@shared_task(name="rights_portal.breach_reminders")
@unit_of_work
def breach_reminders() -> list[str]:
    """Remind the DPO of breaches awaiting the AP notification (R26), each reminder once."""
    report = send_reminders()
    for line in report.lines():
        log.info(line)
    return report.lines()


@shared_task(name="rights_portal.verify_audit_trail")
@unit_of_work
def verify_audit_trail() -> dict[str, object]:
    """Nightly (R24): verify the whole trail, anchor its head and mail it, or alert the DPO."""
    result = verify_and_anchor()
    return {
        "ok": result.ok,
        "events_checked": result.events_checked,
        "broken_event_id": result.broken_event_id,
        "problem": result.problem,
    }


@shared_task(name="rights_portal.anchor_audit_head")
@unit_of_work
def anchor_audit_head() -> dict[str, object]:
    """Every few minutes (R24): the last anchor still holds; the new head is anchored."""
    result = anchor_head()
    return {
        "ok": result.ok,
        "head_id": result.head_id,
        "broken_event_id": result.broken_event_id,
        "problem": result.problem,
    }


@shared_task(name="rights_portal.build_access_package")
@unit_of_work
def build_access_package(package_id: int) -> str | None:
    """Build an access package (R11, R12); a no-op if it is not queued (or stale) any more."""
    status = access_package.build(package_id)
    return status.value if status else None


@shared_task(name="rights_portal.build_export")
@unit_of_work
def build_export(export_id: int) -> str | None:
    """Build a large export (audit trail CSV, DPO report) into the store; a no-op if not queued."""
    status = export_services.build(export_id)
    return status.value if status else None


@shared_task(name="rights_portal.purge_exports")
@unit_of_work
def purge_exports() -> int:
    """Hourly: delete the files of exports past their retention (EXPORT_RETENTION_HOURS)."""
    return export_services.purge_expired()


@shared_task(name="rights_portal.redact_recording")
@unit_of_work
def redact_recording(redaction_id: int) -> str | None:
    """Cover the bystanders of one recording file (R27), on the ``media`` queue.

    A no-op if the run is not queued (or stale) any more; cancelled runs stop at their next
    progress step.
    """
    status = media_worker.run(redaction_id)
    return status.value if status else None


@shared_task(name="rights_portal.access_package_housekeeping")
@unit_of_work
def access_package_housekeeping() -> dict[str, list[int]]:
    """Delete expired packages' files (R14); re-send builds and redactions whose task was lost."""
    expired = access_lifecycle.expire_packages()
    stale = access_lifecycle.stale_builds()
    stale_redactions = media_worker.stale_runs()
    for package_id in stale:
        after_commit(functools.partial(access_package.enqueue_build, package_id))
    for run_id in stale_redactions:
        after_commit(functools.partial(media_services.enqueue, run_id))
    if expired:
        log.info("expired access packages %s", expired)
    return {"expired": expired, "requeued": stale, "requeued_redactions": stale_redactions}


@shared_task(name="rights_portal.retention_purge")
def retention_purge() -> list[str]:
    """Daily (R25): delete expired recording files nothing holds; complete half-done deletions.

    The runner commits each intent before its file is deleted, so a killed run is completed by
    the next one and deletes nothing twice.
    """
    result = retention_runner.purge()
    for line in result.lines():
        log.info(line)
    return result.lines()


@shared_task(name="rights_portal.delete_decided_files")
def delete_decided_files(case_id: int) -> int:
    """Delete the files a decision erased (R25), queued through the outbox by that decision.

    Not one unit of work on purpose: the runner commits each completed deletion right after its
    file left storage. Idempotent: a second run (a re-sent outbox row) deletes and records
    nothing again, and one after a killed run completes what it left half-done.
    """
    return retention_runner.delete_decided_files(case_id)


@shared_task(name="rights_portal.ooapi_sync")
@unit_of_work
def ooapi_sync_run(trigger: str = "schedule") -> dict[str, object]:
    """One OOAPI sync (beat, or the admin's "sync now"); a no-op while OOAPI_BASE_URL is empty."""
    if ooapi_sync.settings_from(current_app.config) is None:
        return {"status": "not configured"}
    run = ooapi_sync.run(trigger=trigger)
    return {"status": run.status, "changes": len(run.changes), "error": run.error_detail}


@shared_task(name="rights_portal.fetch_vendor_files")
@unit_of_work
def fetch_vendor_files(case_id: int) -> dict[str, object]:
    """List and fetch what the connected vendors hold of an access case's student (R11).

    Commits after the listing and after each file (rights_portal/vendors/tasks.py says why).
    Idempotent: a file fetched before (same vendor id or sha256) is not stored again.
    """
    return vendor_tasks.fetch_for_case(case_id)


@shared_task(name="rights_portal.fetch_zoom_meeting")
@unit_of_work
def fetch_zoom_meeting(connector_id: int, meeting_id: str) -> dict[str, object]:
    """After Zoom's recording.completed webhook: fetch the linked meeting's files."""
    return vendor_tasks.fetch_meeting(connector_id, meeting_id)


@shared_task(name="rights_portal.vendor_request_reminders")
@unit_of_work
def vendor_request_reminders() -> list[int]:
    """Daily: remind vendors without an API (and the handler) of requests coming due."""
    return vendor_on_request.remind_due()

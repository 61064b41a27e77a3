"""The beat schedule, declared in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks, in Celery's timezone (Europe/Amsterdam).

    The deadline sweep, the outbox relay (safety net for a lost dispatch), the register's daily
    reminders to the DPO (unique per tool, kind and date) and the nightly audit-trail
    verification with its anchor and the head anchor every few minutes (R24), and the daily
    retention purge (R25), the hourly deletion of expired exports, and the OOAPI sync when
    OOAPI_BASE_URL is set.
    """
    hour, minute = (int(part) for part in str(config["AUDIT_VERIFY_AT"]).split(":", 1))
    schedule: dict[str, dict[str, Any]] = {
        "deadline-sweep": {
            "task": "rights_portal.sweep_deadlines",
            "schedule": timedelta(minutes=config["DEADLINE_SWEEP_MINUTES"]),
        },
        # R26: reminders at 24, 48 and 66 hours after a breach's discovery; 15 minutes late at most.
        "breach-reminders": {
            "task": "rights_portal.breach_reminders",
            "schedule": timedelta(minutes=15),
        },
        "access-package-housekeeping": {
            "task": "rights_portal.access_package_housekeeping",
            "schedule": timedelta(minutes=config["PACKAGE_HOUSEKEEPING_MINUTES"]),
        },
        # Finished exports are kept EXPORT_RETENTION_HOURS; their files are deleted within the hour.
        "exports-purge": {
            "task": "rights_portal.purge_exports",
            "schedule": timedelta(hours=1),
        },
        "webhook-relay": {
            "task": "rights_portal.relay_webhooks",
            "schedule": timedelta(minutes=1),
        },
        "outbox-relay": {
            "task": "rights_portal.relay_outbox",
            "schedule": timedelta(minutes=1),
        },
        "register-reminders": {
            "task": "rights_portal.register_reminders",
            "schedule": crontab(hour=7, minute=0),  # daily, Europe/Amsterdam (Celery timezone)
        },
        # Vendors without an API: one reminder before the request's due date.
        "vendor-request-reminders": {
            "task": "rights_portal.vendor_request_reminders",
            "schedule": crontab(hour=7, minute=15),  # daily, Europe/Amsterdam
        },
        "retention-purge": {
            "task": "rights_portal.retention_purge",
            "schedule": crontab(hour=3, minute=30),  # daily, Europe/Amsterdam (R25)
        },
        # R24: the head is anchored every few minutes, so a cut-off tail is found within minutes.
        "audit-anchor-head": {
            "task": "rights_portal.anchor_audit_head",
            "schedule": timedelta(minutes=config["AUDIT_HEAD_ANCHOR_MINUTES"]),
        },
        "audit-verify-nightly": {
            "task": "rights_portal.verify_audit_trail",
            "schedule": crontab(hour=hour, minute=minute),
        },
    }
    if config.get("OOAPI_BASE_URL"):  # the OOAPI sync only where a SIS is configured
        schedule["ooapi-sync"] = {
            "task": "rights_portal.ooapi_sync",
            "schedule": timedelta(minutes=config["OOAPI_SYNC_MINUTES"]),
        }
    return schedule

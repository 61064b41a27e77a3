"""The beat schedule, declared in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks: deadline sweep, outbox relay and the register's reminders.

    The outbox relay is the safety net for a lost dispatch; the register's reminders to the DPO
    run daily and are unique per tool, kind and date, so a rerun sends none twice.
    """
    return {
        "deadline-sweep": {
            "task": "rights_portal.sweep_deadlines",
            "schedule": timedelta(minutes=config["DEADLINE_SWEEP_MINUTES"]),
        },
        "outbox-relay": {
            "task": "rights_portal.relay_outbox",
            "schedule": timedelta(minutes=1),
        },
        "register-reminders": {
            "task": "rights_portal.register_reminders",
            "schedule": crontab(hour=7, minute=0),  # daily, Europe/Amsterdam (Celery timezone)
        },
    }

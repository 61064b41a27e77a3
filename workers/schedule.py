"""The beat schedule, declared in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks: deadline sweep, breach reminders, outbox relay (safety net for dispatch)."""
    return {
        "deadline-sweep": {
            "task": "rights_portal.sweep_deadlines",
            "schedule": timedelta(minutes=config["DEADLINE_SWEEP_MINUTES"]),
        },
        # R26: reminders at 24, 48 and 66 hours after a breach's discovery; 15 minutes late at most.
        "breach-reminders": {
            "task": "rights_portal.breach_reminders",
            "schedule": timedelta(minutes=15),
        },
        "outbox-relay": {
            "task": "rights_portal.relay_outbox",
            "schedule": timedelta(minutes=1),
        },
    }

"""The beat schedule, declared in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks: the deadline sweep and the outbox relay (safety net for lost dispatch)."""
    return {
        "deadline-sweep": {
            "task": "rights_portal.sweep_deadlines",
            "schedule": timedelta(minutes=config["DEADLINE_SWEEP_MINUTES"]),
        },
        "outbox-relay": {
            "task": "rights_portal.relay_outbox",
            "schedule": timedelta(minutes=1),
        },
    }

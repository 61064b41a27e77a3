"""The beat schedule, declared in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def beat_schedule(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks: deadline sweep, access-package housekeeping and the outbox relay."""
    return {
        "deadline-sweep": {
            "task": "rights_portal.sweep_deadlines",
            "schedule": timedelta(minutes=config["DEADLINE_SWEEP_MINUTES"]),
        },
        "access-package-housekeeping": {
            "task": "rights_portal.access_package_housekeeping",
            "schedule": timedelta(minutes=config["PACKAGE_HOUSEKEEPING_MINUTES"]),
        },
        "outbox-relay": {
            "task": "rights_portal.relay_outbox",
            "schedule": timedelta(minutes=1),
        },
    }

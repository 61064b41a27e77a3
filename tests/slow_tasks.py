"""A task that holds its worker, for tests that show one queue's long job delays no other.

Loaded only into test workers (``celery worker --include tests.slow_tasks``); the portal's own
tasks live in workers/tasks.py. It writes ``<marker>.started``, then waits until the test
creates ``<marker>.release`` (or ``seconds`` pass), then writes ``<marker>.finished``.
"""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task

HOLD_TASK = "tests.hold_the_worker"


@shared_task(name=HOLD_TASK)
def hold_the_worker(marker: str, seconds: float) -> bool:
    """Occupy the worker like a long package build until released; True if released."""
    base = Path(marker)
    base.with_suffix(".started").touch()
    deadline = time.monotonic() + seconds
    released = False
    while time.monotonic() < deadline:
        if base.with_suffix(".release").exists():
            released = True
            break
        time.sleep(0.1)
    base.with_suffix(".finished").touch()
    return released

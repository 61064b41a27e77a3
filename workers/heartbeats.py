"""Heartbeats of this worker or scheduler process, started and stopped by Celery's signals.

Imported by :mod:`workers.celery_app`, the entry point of both ``celery worker`` and ``celery
beat``, so every process that runs or sends tasks is seen by ``/readyz`` and the staff pages.
"""

from __future__ import annotations

import socket
from typing import Any

from celery.signals import beat_init, worker_ready, worker_shutdown
from flask import Flask

from rights_portal.delivery.heartbeat import HeartbeatThread
from rights_portal.delivery.models import ProcessKind

_running: list[HeartbeatThread] = []


def connect(app: Flask) -> None:
    """Beat for ``app`` once the worker is ready or beat has started; stop at shutdown."""

    def start(name: str, kind: ProcessKind) -> None:
        thread = HeartbeatThread(app, name, kind)
        _running.append(thread)
        thread.start()

    @worker_ready.connect(weak=False)
    def worker_is_ready(sender: Any = None, **_: Any) -> None:
        node = getattr(sender, "hostname", None) or f"celery@{socket.gethostname()}"
        start(node, ProcessKind.WORKER)

    @beat_init.connect(weak=False)
    def beat_is_ready(sender: Any = None, **_: Any) -> None:
        start(f"beat@{socket.gethostname()}", ProcessKind.SCHEDULER)

    @worker_shutdown.connect(weak=False)
    def worker_stops(**_: Any) -> None:
        for thread in _running:
            thread.stop()

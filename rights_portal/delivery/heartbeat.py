"""Writing heartbeats: a background thread in the worker and in the scheduler process.

The thread beats every ``WORKER_HEARTBEAT_SECONDS`` in its own app context and session, so a
long task in the worker's pool does not silence it, and a database hiccup only skips one beat.
:func:`beat` is the single write, used by the thread and by tests.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask

from ..clock import now_utc
from ..extensions import db
from .models import Heartbeat, ProcessKind

log = logging.getLogger(__name__)


def beat(name: str, kind: ProcessKind, pid: int | None = None) -> None:
    """Record that ``name`` is alive now, and commit (a heartbeat is its own unit of work)."""
    row = db.session.get(Heartbeat, name)
    now = now_utc()
    pid = os.getpid() if pid is None else pid
    if row is None or row.pid != pid:  # a new process under the same name starts afresh
        db.session.merge(Heartbeat(name=name, kind=kind, pid=pid, started_at=now, seen_at=now))
    else:
        row.seen_at = now
    db.session.commit()


class HeartbeatThread(threading.Thread):
    """Beats for one process until :meth:`stop` is called (or the process ends: daemon)."""

    def __init__(self, app: Flask, name: str, kind: ProcessKind) -> None:
        super().__init__(name=f"heartbeat-{kind.value}", daemon=True)
        self.app = app
        self.process_name = name
        self.kind = kind
        self.interval = float(app.config["WORKER_HEARTBEAT_SECONDS"])
        self._stopped = threading.Event()

    def run(self) -> None:
        """Beat at once, then every interval."""
        while True:
            with self.app.app_context():
                try:
                    beat(self.process_name, self.kind)
                except Exception:  # the next beat tries again; a missed one is what we report
                    log.exception("heartbeat of %s could not be written", self.process_name)
                    db.session.rollback()
                finally:
                    db.session.remove()
            if self._stopped.wait(self.interval):
                return

    def stop(self) -> None:
        """End the loop after the current beat."""
        self._stopped.set()

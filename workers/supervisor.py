"""``make run``: the portal, its Celery worker and beat as three processes, watched together.

A worker that dies leaves a portal that answers every page but sends nothing — no
acknowledgement, no reminder, no access package — so this supervisor never lets that go
unnoticed: when any of the three exits, it says which, shows the end of its log, stops the
others and exits non-zero. Ctrl-C (or SIGTERM) stops all three.

Run as ``python -m workers.supervisor [--host H] [--port P]`` with the same environment as the
portal (``RIGHTS_PORTAL_INSTANCE``, ``DATABASE_URL``, ``CELERY_BROKER_URL``, …); with none set it
is the embedded default: SQLite database and SQLite broker in ``instance/``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from flask import Flask
from sqlalchemy import select

from rights_portal import create_app
from rights_portal.config import ALL_QUEUES, DEFAULT_INSTANCE
from rights_portal.delivery.models import Heartbeat
from rights_portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.5
READY_TIMEOUT = 60
STOP_TIMEOUT = 20


@dataclass
class Child:
    """One supervised process: what it is called, how it is started and where it logs."""

    name: str
    argv: list[str]
    log: Path | None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process in the supervisor's environment and working directory."""
        self.process = subprocess.Popen(self.argv, cwd=ROOT)  # noqa: S603  (our own argv)

    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """Ask the process to stop (warm shutdown for Celery), kill it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` of its log file, indented, or a note that there is none."""
        if self.log is None or not self.log.exists():
            return "    (no log file)"
        tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in tail) or "    (the log is empty)"


def children(instance: Path, host: str, port: int) -> list[Child]:
    """The three processes of the embedded default, each with its log in ``instance``."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "workers.celery_app"]
    return [
        Child(
            "worker",
            [
                *celery,
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                # One embedded worker takes every queue (a second one would share the SQLite
                # broker); production runs a worker per queue (docs/deployment.md).
                ",".join(ALL_QUEUES),
                f"--logfile={instance / 'worker.log'}",
            ],
            instance / "worker.log",
        ),
        Child(
            "beat",
            [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--logfile={instance / 'beat.log'}",
                f"--schedule={instance / 'celerybeat-schedule'}",
            ],
            instance / "beat.log",
        ),
        Child(
            "portal",
            [python, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", str(port)],
            None,
        ),
    ]


WHAT_STOPS = {
    "worker": "e-mail (acknowledgements, decisions), reminders, access packages and redaction",
    "beat": "the deadline sweep, reminders, escalations and the outbox relay",
    "portal": "the pages",
}


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _worker_seen(app: Flask, worker_pid: int) -> bool:
    """Whether the worker process with ``worker_pid`` has written its heartbeat."""
    with app.app_context():
        try:
            found = db.session.scalar(select(Heartbeat.name).where(Heartbeat.pid == worker_pid))
        finally:
            db.session.remove()
    return found is not None


def supervise(processes: Sequence[Child], instance: Path) -> int:
    """Run until one process exits (return 1, having said why) or Ctrl-C/SIGTERM (return 0)."""
    signal.signal(signal.SIGTERM, _stop_on_signal)
    announced = False
    started = time.monotonic()
    app = create_app()  # only to read the worker's heartbeat; it opens nothing at creation
    try:
        for child in processes:
            child.start()
        worker = next(child for child in processes if child.name == "worker")
        while True:
            for child in processes:
                code = child.exit_code()
                if code is not None:
                    _say_stopped(child, code)
                    return 1
            if not announced and worker.process and _worker_seen(app, worker.process.pid):
                announced = True
                print(
                    f"[run] The worker is up: e-mail is written to {instance / 'mail'} "
                    f"(worker log {worker.log}).",
                    flush=True,
                )
            elif not announced and time.monotonic() - started > READY_TIMEOUT:
                announced = True
                print(
                    f"[run] WARNING: the worker has not reported in {READY_TIMEOUT} s; "
                    f"see {worker.log}.",
                    flush=True,
                )
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        print("\n[run] Stopping the portal, the worker and beat.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for child in reversed(processes):
            child.stop()


def _say_stopped(child: Child, code: int) -> None:
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    print(
        f"\n[run] ERROR: the {child.name} {how}. Without it {WHAT_STOPS[child.name]} "
        "do not happen, so the portal is stopped as well.",
        file=sys.stderr,
        flush=True,
    )
    if child.log is not None:
        print(f"[run] The end of {child.log}:\n{child.log_tail()}", file=sys.stderr, flush=True)
    print("[run] Fix the cause and run `make run` again.", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the address to serve on and supervise the three processes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    instance = Path(os.environ.get("RIGHTS_PORTAL_INSTANCE", DEFAULT_INSTANCE)).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    print(
        f"[run] Starting the portal on http://{args.host}:{args.port} with its worker and beat "
        f"(logs in {instance}). Ctrl-C stops all three.",
        flush=True,
    )
    return supervise(children(instance, args.host, args.port), instance)


if __name__ == "__main__":
    sys.exit(main())

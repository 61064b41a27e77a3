"""How long a reminder takes from the sweep to the mail server, with a long job running or not.

    .venv/bin/python -m bench.queues --broker redis://127.0.0.1:6379/10 --rounds 5

Creates a small database of its own (``rp_bench_queues``, dropped at the end; migrations of this
branch), a loopback SMTP server, and real Celery worker processes on the broker given (Redis or
RabbitMQ). Each round files a case due in two days, sends the deadline sweep as beat does
(routed to ``deadlines``) and times until the reminder reaches the SMTP server. Three phases,
in one run:

1. **reference**: a worker for ``mail,deadlines`` and an idle worker for ``packages``;
2. **packages busy**: the same while the ``packages`` worker holds a long job;
3. **one worker for every queue** (as ``make run``), holding the same long job: the reminder
   waits for it (one round; the job is released after ``--hold`` seconds).

The figure is phase 2 ÷ phase 1 (≈ 1: separate queues keep reminders out of the long job's way)
next to phase 3 (the hold time: what separate queues buy). Bounded: a few rounds of seconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from bench.common import RESULTS, ROOT, app_env, load_average, machine, pg_url

DB = "rp_bench_queues"
HOLD_TASK = "tests.hold_the_worker"


class Inbox:
    """SMTP handler: the subjects received, with the monotonic time each arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes

        subject = str(message_from_bytes(envelope.original_content)["Subject"])
        self.received.append((time.monotonic(), subject))
        return "250 OK"

    def arrival(self, reference: str) -> float | None:
        return next((t for t, subject in self.received if reference in subject), None)


def recreate(db: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def drop(db: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def wait_for(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class Workers:
    """Celery worker processes started by this script, stopped by their own pids."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, queues: Sequence[str], include: bool = False) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.processes)}.log").open("wb")
        argv = [
            sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
            "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip",
            "-Q", ",".join(queues), "-n", f"bench-{os.getpid()}-{len(self.processes)}@%h",
            *(["--include", "tests.slow_tasks"] if include else []),
        ]  # fmt: skip
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", required=True, help="redis://… or amqp://… (a vhost of yours)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the long job runs")
    parser.add_argument("--out", default=str(RESULTS / "queues-redis.md"))
    args = parser.parse_args(argv)

    recreate(DB)
    instance = tempfile.mkdtemp(prefix="bench-queues-")
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd's start-up check needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = app_env(DB, instance)
    env.update(
        CELERY_BROKER_URL=args.broker,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        WORKER_HEARTBEAT_SECONDS="1",
    )
    os.environ.update(env)
    from flask_migrate import upgrade

    from rights_portal import create_app
    from rights_portal.accounts.models import Role, User
    from rights_portal.cases import services
    from rights_portal.cases.models import CaseType
    from rights_portal.clock import today_local
    from rights_portal.delivery.models import Heartbeat
    from rights_portal.extensions import db
    from rights_portal.transactions import commit

    app = create_app({"CELERY": {"broker_url": args.broker, "task_always_eager": False}})
    celery = app.extensions["celery"]
    workers = Workers(env, Path(instance))
    counter = iter(range(1_000_000))

    def due_case() -> str:
        n = next(counter)
        handler = User(email=f"handler{n}@bench.example", full_name=f"Handler {n}",
                       password_hash="x", role=Role.CASE_HANDLER, locale="en")  # fmt: skip
        student = User(email=f"student{n}@bench.example", full_name=f"Student {n}",
                       password_hash="x", role=Role.STUDENT, locale="en",
                       student_number=f"s{n:07d}")  # fmt: skip
        db.session.add_all([handler, student])
        db.session.flush()
        case = services.file_case(
            case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
        )
        services.assign(case, handler, actor=handler)
        case.effective_due = today_local() + timedelta(days=2)
        commit()
        return case.reference

    def seen(*processes: subprocess.Popen[bytes]) -> bool:
        db.session.rollback()
        pids = set(db.session.scalars(db.select(Heartbeat.pid)))
        return all(p.pid in pids for p in processes)

    def reminder_latency() -> float:
        reference = due_case()
        sent = time.monotonic()
        celery.send_task("rights_portal.sweep_deadlines")
        if not wait_for(lambda: inbox.arrival(reference), args.hold * 3 + 60):
            raise SystemExit(f"no reminder for {reference}; logs in {instance}")
        return float(inbox.arrival(reference) or 0) - sent

    def hold(marker: Path, seconds: float) -> None:
        celery.send_task(HOLD_TASK, args=(str(marker), seconds), queue="packages")
        if not wait_for(marker.with_suffix(".started").exists, 60):
            raise SystemExit("the long job never started")

    load_before = load_average()
    results: dict[str, list[float]] = {}
    try:
        with app.app_context():
            upgrade()
            short = workers.start(["mail", "deadlines"])
            packages = workers.start(["packages"], include=True)
            if not wait_for(lambda: seen(short, packages), 120):
                raise SystemExit(f"the workers did not start; logs in {instance}")
            reminder_latency()  # warm-up: the first task of each worker imports the domains
            results["reference"] = [reminder_latency() for _ in range(args.rounds)]
            marker = Path(instance) / "busy"
            hold(marker, 3600)
            results["packages busy"] = [reminder_latency() for _ in range(args.rounds)]
            still_busy = not marker.with_suffix(".finished").exists()
            marker.with_suffix(".release").touch()
            workers.stop_all()

            every = workers.start(["celery", "mail", "deadlines", "packages", "media"], True)
            if not wait_for(lambda: seen(every), 120):
                raise SystemExit(f"the worker did not start; logs in {instance}")
            reminder_latency()  # warm-up
            hold(Path(instance) / "one-worker", args.hold)
            results["one worker, packages busy"] = [reminder_latency()]
            db.session.remove()
    finally:
        workers.stop_all()
        smtp.stop()
        with app.app_context():
            db.engine.dispose()
        drop(DB)

    reference = statistics.median(results["reference"])
    lines = [
        "# Reminder latency with a long job on another queue (bench/queues.py)",
        "",
        "Machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()),
        f"Broker: {args.broker.split('://')[0]}; rounds: {args.rounds}; long job: "
        f"{args.hold:.0f} s in phase 3, held until released in phase 2",
        f"Load before: {load_before}; after: {load_average()}",
        "",
        "From sending the deadline sweep (as beat does) until the reminder reached the SMTP "
        "server, solo worker processes:",
        "",
        "| phase | median s | max s | ÷ reference median |",
        "|---|---:|---:|---:|",
    ]
    for phase, values in results.items():
        median = statistics.median(values)
        lines.append(f"| {phase} | {median:.2f} | {max(values):.2f} | {median / reference:.2f} |")
    lines += [
        "",
        f"The long job was still running when phase 2 ended: {still_busy}.",
        "",
    ]
    report = "\n".join(lines)
    Path(args.out).write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

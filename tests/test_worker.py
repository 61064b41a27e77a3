"""A real Celery worker process on Redis delivers a reminder to the SMTP sink exactly once.

The sweep task is sent twice, as two beat schedulers would; the reminder's unique milestone row
and the outbox's ``sent_at`` make the second run a no-op.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery

from rights_portal.accounts.models import Role
from rights_portal.cases import services
from rights_portal.cases.models import CaseType
from rights_portal.clock import today_local
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(
    database_url, redis_url, smtp_sink, instance_dir, tmp_path
) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "RIGHTS_PORTAL_INSTANCE": instance_dir,
        "RIGHTS_PORTAL_ENV": "test",
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    if process.returncode not in (0, -15):
        print((tmp_path / "worker.log").read_text())


def wait_for(predicate, timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_reminder_arrives_exactly_once_through_a_real_worker(app_ctx, redis_url, smtp_sink, worker):
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    student = UserFactory(email="student@uni.example")
    db.session.commit()
    case = services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    case.effective_due = today_local() + timedelta(days=2)
    commit()
    smtp_sink.clear()

    client = Celery(broker=redis_url)
    client.send_task("rights_portal.sweep_deadlines")
    client.send_task("rights_portal.sweep_deadlines")  # a second scheduler, or a retry

    def reminders():
        return [m for m in smtp_sink.to(handler.email) if case.reference in str(m["Subject"])]

    assert wait_for(lambda: len(reminders()) >= 1), "no reminder arrived from the worker"
    # Give the second sweep time to run completely before counting.
    client.send_task("rights_portal.relay_outbox")
    time.sleep(3)
    assert len(reminders()) == 1
    assert worker.poll() is None, "the worker died"

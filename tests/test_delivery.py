"""A dead worker is visible: heartbeats, /readyz and the staff banner (issue: fresh install).

- the rules: delivery stalls when no worker or scheduler beat within WORKER_STALE_SECONDS, or an
  e-mail waited longer than OUTBOX_STUCK_SECONDS; "since when" is the earliest failing moment;
- a real worker and a real beat process write heartbeats (on Redis, then on RabbitMQ): /readyz is
  200 while they run, and after the worker is killed it turns 503 and every staff page says since
  when nothing went out, students see nothing of it;
- an e-mail stuck in the outbox makes /readyz 503 with its age, even with the worker up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale

from rights_portal.accounts.models import Role
from rights_portal.clock import now_utc, to_local
from rights_portal.delivery.heartbeat import beat
from rights_portal.delivery.models import Heartbeat, ProcessKind
from rights_portal.delivery.status import DeliveryStatus, delivery_status
from rights_portal.extensions import db
from rights_portal.notifications.models import OutboxMessage
from rights_portal.web import delivery_alert
from tests import conftest
from tests.conftest import ROOT, login, wait_for
from tests.factories import UserFactory

NOW = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)  # 14:30 in Amsterdam


def status(**facts: Any) -> DeliveryStatus:
    values: dict[str, Any] = {
        "now": NOW,
        "worker_seen_at": NOW - timedelta(seconds=10),
        "scheduler_seen_at": NOW - timedelta(seconds=10),
        "oldest_unsent_at": None,
        "stale_after": timedelta(seconds=120),
        "stuck_after": timedelta(seconds=600),
    }
    return DeliveryStatus(**{**values, **facts})


def test_recent_heartbeats_and_an_empty_outbox_mean_delivery_flows():
    assert status().flowing
    assert status(oldest_unsent_at=NOW - timedelta(seconds=600)).flowing  # at the limit: still ok


def test_a_worker_silent_longer_than_the_limit_stalls_delivery_since_its_last_beat():
    last = NOW - timedelta(seconds=121)
    stalled = status(worker_seen_at=last)
    assert not stalled.flowing and not stalled.worker_ok and stalled.scheduler_ok
    assert stalled.stalled_since == last
    assert stalled.report()["worker"] == "down"


def test_a_stopped_scheduler_stalls_delivery_too_because_reminders_stop():
    assert not status(scheduler_seen_at=NOW - timedelta(hours=1)).flowing


def test_a_stuck_outbox_stalls_delivery_since_the_oldest_unsent_message():
    oldest = NOW - timedelta(minutes=11)
    stuck = status(oldest_unsent_at=oldest)
    assert not stuck.flowing and stuck.worker_ok
    assert stuck.stalled_since == oldest
    assert stuck.report()["outbox_oldest_unsent_age_seconds"] == 660


def test_the_earliest_failing_moment_is_since_when_nothing_went_out():
    both = status(
        worker_seen_at=NOW - timedelta(minutes=5), oldest_unsent_at=NOW - timedelta(minutes=30)
    )
    assert both.stalled_since == NOW - timedelta(minutes=30)


def test_a_worker_never_seen_has_no_moment_but_is_said_to_be_missing():
    never = status(worker_seen_at=None)
    assert not never.flowing and never.never_seen and never.stalled_since is None


def test_in_process_tasks_need_no_worker():
    assert status(worker_seen_at=None, scheduler_seen_at=None, required=False).flowing


def test_the_banner_names_the_local_time_and_says_what_to_do(app_ctx, time_machine):
    time_machine.move_to(NOW)
    with app_ctx.test_request_context(), force_locale("en"):
        text = delivery_alert(status(worker_seen_at=datetime(2026, 12, 2, 13, 2, tzinfo=UTC)))
        assert text == (
            "E-mail and reminders have not gone out since 14:02. "
            "Tell the application administrator."
        )
        earlier = delivery_alert(status(worker_seen_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)))
        assert "30 November 2026 at 09:00" in earlier
        assert "no worker" in delivery_alert(status(worker_seen_at=None))
        assert delivery_alert(status()) is None


def test_heartbeats_are_read_per_kind_and_a_restarted_process_starts_afresh(app_ctx):
    beat("celery@a", ProcessKind.WORKER, pid=100)
    first = db.session.get(Heartbeat, "celery@a")
    started = first.started_at
    beat("celery@a", ProcessKind.WORKER, pid=100)
    assert db.session.get(Heartbeat, "celery@a").started_at == started
    beat("celery@a", ProcessKind.WORKER, pid=200)  # the same node name, a new process
    assert db.session.get(Heartbeat, "celery@a").pid == 200
    config = {**app_ctx.config, "CELERY": {"task_always_eager": False}}
    found = delivery_status(config)
    assert found.worker_seen_at is not None and found.scheduler_seen_at is None
    assert not found.flowing  # no scheduler yet


# --- with real processes ---------------------------------------------------------------------


@pytest.fixture
def watched_app(make_other_app, database_url, smtp_sink, broker_url):
    """A portal that sends tasks to a real broker (Redis, then RabbitMQ), with short limits."""
    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": broker_url, "task_always_eager": False}
    config.update(WORKER_STALE_SECONDS=4, OUTBOX_STUCK_SECONDS=60)
    return make_other_app(config)


@pytest.fixture
def start_beat(database_url, broker_url, instance_dir, tmp_path):
    processes: list[subprocess.Popen] = []
    logs: list[Any] = []

    def start() -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "RIGHTS_PORTAL_INSTANCE": instance_dir,
            "RIGHTS_PORTAL_ENV": "test",
            "WORKER_HEARTBEAT_SECONDS": "1",
        }
        log = (tmp_path / "beat.log").open("w")
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
             "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        process.wait(20)
    for log in logs:
        log.close()


def readyz(app) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


@pytest.mark.postgres
@pytest.mark.worker
def test_readyz_and_the_staff_banner_with_the_worker_running_then_killed(
    watched_app, start_worker, start_beat, smtp_sink, broker_url
):
    with watched_app.app_context():
        UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER, locale="nl")
        UserFactory(email="student@uni.example")
        db.session.commit()

    code, report = readyz(watched_app)
    assert code == 503 and report["worker"] == "down" and report["worker_last_seen"] is None

    worker = start_worker(smtp_sink.port, broker_url=broker_url, WORKER_HEARTBEAT_SECONDS="1")
    start_beat()
    assert wait_for(lambda: readyz(watched_app)[0] == 200, 60), readyz(watched_app)
    code, report = readyz(watched_app)
    assert report["worker"] == "up" and report["scheduler"] == "up" and report["outbox"] == "ok"

    staff = watched_app.test_client()
    login(staff, "handler@uni.example")
    assert "delivery-alert" not in staff.get("/staff/queue").get_data(as_text=True)

    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert wait_for(lambda: readyz(watched_app)[0] == 503, 30)
    code, report = readyz(watched_app)
    assert report["worker"] == "down" and report["scheduler"] == "up"
    last_seen = datetime.fromisoformat(report["worker_last_seen"])
    assert now_utc() - last_seen > timedelta(seconds=4)

    page = staff.get("/staff/queue").get_data(as_text=True)
    assert "delivery-alert" in page
    assert f"sinds {to_local(last_seen):%H:%M}" in page  # Dutch by default
    requester = watched_app.test_client()
    login(requester, "student@uni.example")
    assert "delivery-alert" not in requester.get("/my/cases").get_data(as_text=True)


@pytest.mark.postgres
def test_an_email_waiting_too_long_makes_readyz_fail_with_its_age(watched_app):
    with watched_app.app_context():
        for kind, name in ((ProcessKind.WORKER, "celery@w"), (ProcessKind.SCHEDULER, "beat@w")):
            beat(name, kind)
        assert readyz(watched_app)[0] == 200
        db.session.add(
            OutboxMessage(
                to_addresses=["a@uni.example"],
                subject="Stuck",
                body_text="x",
                created_at=now_utc() - timedelta(minutes=5),
            )
        )
        db.session.commit()
    code, report = readyz(watched_app)
    assert code == 503
    assert report["outbox"] == "stuck" and report["worker"] == "up"
    assert 295 <= report["outbox_oldest_unsent_age_seconds"] <= 330


def test_readyz_on_a_database_not_yet_migrated_answers_503_not_500(sqlite_app):
    code, report = readyz(sqlite_app)
    assert code == 503
    assert report["database"] == "up" and report["worker"] == "unknown"

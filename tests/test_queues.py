"""Work spread over queues, each with workers of its own, on both supported brokers.

- every task is routed by name to its queue (mail, deadlines, packages, media or the default),
  whichever way it is sent: ``.delay``, the task outbox after a commit, beat's ``send_task``;
  docker-compose.yml runs a worker for every queue;
- with a real worker on the ``packages`` queue busy with a long job, a reminder is swept and
  mailed by the worker of the ``mail`` and ``deadlines`` queues at once, the long job still
  running — on Redis and on RabbitMQ (a vhost of this run's own);
- /readyz probes a RabbitMQ broker as it does Redis: up, or "down" within seconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from kombu import Connection
from sqlalchemy import select

from rights_portal.config import ALL_QUEUES, DEFAULT_QUEUE, TASK_QUEUES, queue_of
from rights_portal.delivery.models import Heartbeat
from rights_portal.extensions import db
from rights_portal.media import services as media_services
from rights_portal.transactions import commit, dispatch, queue_task
from tests import conftest
from tests.conftest import free_port, wait_for
from tests.slow_tasks import HOLD_TASK
from tests.test_worker import due_case, reminders_in, scripted_smtp  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent


def route(celery: Celery, task_name: str) -> str:
    """The queue Celery's router picks for ``task_name`` sent without a queue of its own."""
    return str(celery.amqp.router.route({}, task_name)["queue"].name)


def test_every_task_has_a_queue_and_every_queue_a_worker_in_docker_compose(app):
    celery = app.extensions["celery"]
    ours = {name for name in celery.tasks if name.startswith("rights_portal.")}
    routed = {task for tasks in TASK_QUEUES.values() for task in tasks}
    assert routed <= ours, f"routes name tasks that do not exist: {routed - ours}"
    for name in ours:
        assert route(celery, name) == queue_of(name) in ALL_QUEUES
    assert route(celery, "rights_portal.deliver_email") == "mail"
    assert route(celery, "rights_portal.build_access_package") == "packages"
    assert route(celery, "rights_portal.redact_recording") == "media"

    # Beat's sweeps and the outbox relay are short and go to deadlines; the long nightly
    # verification and the daily purge to the default queue, so they never hold a reminder.
    schedule = celery.conf.beat_schedule
    by_entry = {entry: route(celery, spec["task"]) for entry, spec in schedule.items()}
    long_ones = {"audit-verify-nightly", "retention-purge"}
    expected = {entry: DEFAULT_QUEUE if entry in long_ones else "deadlines" for entry in by_entry}
    assert by_entry == expected, (
        "a beat entry on an unexpected queue: route a short periodic task to 'deadlines' in "
        "TASK_QUEUES (rights_portal/config.py), or list a long one here"
    )

    # A long task holds only its own worker process: one message reserved at a time, acked when
    # done (a killed worker's task is delivered again).
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.task_acks_late is True

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    consumed: set[str] = set()
    for service in compose["services"].values():
        command = service.get("command") or []
        if "worker" in command and "-Q" in command:
            consumed |= set(command[command.index("-Q") + 1].split(","))
    assert consumed == set(ALL_QUEUES)


@pytest.fixture
def broker_app(make_other_app, database_url, smtp_sink, broker_url):
    """A portal that sends its tasks to the real broker under test."""
    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": broker_url, "task_always_eager": False}
    return make_other_app(config)


def drain(celery: Celery, url: str, expected: int, timeout: float = 10) -> dict[str, list[str]]:
    """Take every message off every queue; the names of the tasks found, queue by queue."""
    found: dict[str, list[str]] = {name: [] for name in ALL_QUEUES}
    deadline = time.monotonic() + timeout
    with Connection(url, connect_timeout=5) as conn:
        channel = conn.channel()
        queues = [celery.amqp.queues[name](channel) for name in ALL_QUEUES]
        for queue in queues:
            queue.declare()
        while sum(map(len, found.values())) < expected and time.monotonic() < deadline:
            for queue in queues:
                while (message := queue.get(no_ack=True)) is not None:
                    found[queue.name].append(message.headers["task"])
            time.sleep(0.05)
    return found


@pytest.mark.postgres
def test_each_way_of_sending_puts_the_task_on_its_queue(broker_app, broker_url):
    celery = broker_app.extensions["celery"]
    drain(celery, broker_url, expected=0, timeout=0)  # what earlier tests left behind
    with broker_app.app_context():
        dispatch([1])  # an e-mail's delivery, as after every commit
        queue_task("rights_portal.build_access_package", 1)  # through the task outbox
        queue_task("rights_portal.delete_decided_files", 1)
        commit()
        media_services.enqueue(1)  # .delay
        celery.send_task("rights_portal.sweep_deadlines")  # as beat sends its schedule
        celery.send_task("rights_portal.relay_outbox")
        celery.send_task("rights_portal.verify_audit_trail")
        db.session.remove()

    found = drain(celery, broker_url, expected=7)

    assert {name: sorted(tasks) for name, tasks in found.items()} == {
        "mail": ["rights_portal.deliver_email"],
        "deadlines": ["rights_portal.relay_outbox", "rights_portal.sweep_deadlines"],
        "packages": ["rights_portal.build_access_package", "rights_portal.delete_decided_files"],
        "media": ["rights_portal.redact_recording"],
        DEFAULT_QUEUE: ["rights_portal.verify_audit_trail"],
    }


def worker_seen(pid: int) -> bool:
    db.session.rollback()
    return db.session.scalar(select(Heartbeat.name).where(Heartbeat.pid == pid)) is not None


@pytest.mark.postgres
@pytest.mark.worker
def test_a_long_package_job_does_not_delay_a_reminder(
    due_case,  # noqa: F811
    broker_app,
    broker_url,
    scripted_smtp,  # noqa: F811
    start_worker,
    tmp_path,
):
    smtp = scripted_smtp()
    fast = {"WORKER_HEARTBEAT_SECONDS": "1"}
    packages = start_worker(
        smtp.port, queues=["packages"], broker_url=broker_url, include=["tests.slow_tasks"], **fast
    )
    short = start_worker(smtp.port, queues=["mail", "deadlines"], broker_url=broker_url, **fast)
    assert wait_for(lambda: worker_seen(packages.pid) and worker_seen(short.pid), 90), (
        "the workers did not start"
    )
    celery = broker_app.extensions["celery"]
    marker = tmp_path / "package-build"
    celery.send_task(HOLD_TASK, args=(str(marker), 120), queue="packages")
    try:
        assert wait_for(marker.with_suffix(".started").exists, 30), "the long job never started"

        sent = time.monotonic()
        with broker_app.app_context():
            celery.send_task("rights_portal.sweep_deadlines")  # routed: deadlines, then mail
        assert wait_for(lambda: reminders_in(smtp.accepted, due_case) != [], 30), (
            "the reminder waited behind the package job"
        )
        took = time.monotonic() - sent

        assert not marker.with_suffix(".finished").exists()  # the long job is still running
        assert packages.poll() is None and short.poll() is None
        assert took < 30
    finally:
        marker.with_suffix(".release").touch()
        wait_for(marker.with_suffix(".finished").exists, 30)


def readyz(app: Any) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_readyz_probes_a_rabbitmq_broker(make_other_app, database_url, smtp_sink, rabbitmq_url):
    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": rabbitmq_url, "task_always_eager": False}
    assert readyz(make_other_app(config))[1]["broker"] == "up"

    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": f"amqp://guest:guest@127.0.0.1:{free_port()}//"}
    started = time.monotonic()
    code, report = readyz(make_other_app(config))
    assert code == 503 and report["broker"] == "down"
    assert time.monotonic() - started < 10

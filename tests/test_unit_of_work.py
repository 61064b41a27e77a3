"""One unit of work at each edge (architecture): a request commits once or keeps nothing.

Routes of a throw-away blueprint write a task-outbox row and then answer, abort, violate a rule
or fail; the database shows what was kept. Queued tasks reach the real broker only after the
commit, and a task queued while the broker is down is sent later by the relay.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, abort
from sqlalchemy import func, select

from rights_portal.delivery.models import OutboxTask
from rights_portal.errors import RuleViolation
from rights_portal.extensions import db
from rights_portal.transactions import after_commit, queue_task, unit_of_work

from . import conftest

CALLBACKS: list[str] = []


def _app_with_probe_routes(make_other_app: Any, config: dict[str, Any]) -> Flask:
    other = make_other_app(config)
    probe = Blueprint("uow_probe", __name__)

    def _write(label: str) -> None:
        queue_task("rights_portal.probe", label)
        after_commit(lambda: CALLBACKS.append(label))

    @probe.route("/probe/ok")
    def ok() -> str:
        _write("ok")
        return "done"

    @probe.route("/probe/form-error")
    def form_error() -> tuple[str, int]:
        _write("form-error")  # a refused login keeps its audit event with a 401 (R24)
        return "refused", 401

    @probe.route("/probe/abort")
    def aborted() -> str:
        _write("abort")
        abort(404)

    @probe.route("/probe/rule")
    def rule() -> str:
        _write("rule")
        raise RuleViolation("not allowed")

    @probe.route("/probe/crash")
    def crash() -> str:
        _write("crash")
        raise RuntimeError("a bug")

    other.register_blueprint(probe)
    return other


def _labels(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(row.args[0] for row in db.session.scalars(select(OutboxTask)))


@pytest.fixture
def probe_app(app: Flask, make_other_app: Any, database_url: str, smtp_sink: Any) -> Flask:
    CALLBACKS.clear()
    config = conftest.test_config(database_url, smtp_sink)
    config["PROPAGATE_EXCEPTIONS"] = False  # the crash is answered with the 500 page
    return _app_with_probe_routes(make_other_app, config)


def test_a_request_that_answers_commits_once_then_runs_what_follows(probe_app: Flask) -> None:
    client = probe_app.test_client()
    assert client.get("/probe/ok").status_code == 200
    assert client.get("/probe/form-error").status_code == 401
    assert _labels(probe_app) == ["form-error", "ok"]
    assert CALLBACKS == ["ok", "form-error"]


@pytest.mark.parametrize(("path", "status"), [("abort", 404), ("rule", 409), ("crash", 500)])
def test_a_request_that_fails_keeps_nothing(probe_app: Flask, path: str, status: int) -> None:
    client = probe_app.test_client()
    assert client.get(f"/probe/{path}").status_code == status
    assert _labels(probe_app) == []
    assert CALLBACKS == []  # nothing follows a rolled-back change


def test_a_decorated_task_or_command_commits_or_rolls_back(app: Flask) -> None:
    @unit_of_work
    def works() -> str:
        queue_task("rights_portal.probe", "works")
        return "result"

    @unit_of_work
    def fails() -> None:
        queue_task("rights_portal.probe", "fails")
        raise ValueError("half-way")

    with app.app_context():
        assert works() == "result"
        with pytest.raises(ValueError):
            fails()
    assert _labels(app) == ["works"]


@pytest.mark.worker
def test_queued_tasks_reach_the_broker_after_commit_or_later_by_the_relay(
    app: Flask, make_other_app: Any, database_url: str, smtp_sink: Any, redis_url: str
) -> None:
    import redis

    from workers.tasks import relay_outbox

    queue_name = "uow-probe"
    broker = redis.Redis.from_url(redis_url)
    broker.delete(queue_name)
    down = conftest.test_config(database_url, smtp_sink)
    # Nothing listens on port 1: sending fails at once, as with a broker that is down.
    down["CELERY"] = {"broker_url": "redis://127.0.0.1:1/0", "task_always_eager": False}
    down_app = make_other_app(down)
    with down_app.app_context():
        unit_of_work(lambda: queue_task("rights_portal.probe", "lost", queue=queue_name))()
        row = db.session.scalars(select(OutboxTask)).one()
        assert row.sent_at is None  # committed, not sent: the relay's job
    assert broker.llen(queue_name) == 0

    up = conftest.test_config(database_url, smtp_sink)
    up["CELERY"] = {"broker_url": redis_url, "task_always_eager": False}
    up["OUTBOX_RELAY_AGE_SECONDS"] = 0
    up_app = make_other_app(up)
    with up_app.app_context():
        unit_of_work(lambda: queue_task("rights_portal.probe", "sent", queue=queue_name))()
        assert broker.llen(queue_name) == 1  # sent right after the commit
        assert relay_outbox.run() >= 1  # the relay sends the one that was lost
        assert broker.llen(queue_name) == 2
        unsent = db.session.scalar(
            select(func.count()).select_from(OutboxTask).where(OutboxTask.sent_at.is_(None))
        )
        assert unsent == 0
    broker.delete(queue_name)

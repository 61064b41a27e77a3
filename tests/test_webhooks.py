"""Outbound webhooks against a local receiver that verifies every signature (Standard Webhooks).

The receiver is a real HTTP server in the test process; it checks ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` with the ``standardwebhooks`` library and the
endpoint's secret, and keeps what it accepted. Deliveries go out after commit (never for a
rollback), carry ids and states only, are retried and, after persistent failure, the endpoint is
disabled with a notice to the admins. A worker killed mid-delivery loses nothing: the relay
sends the same message again and the receiver sees each event once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from celery import Celery
from flask import Flask
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as case_services
from rights_portal.cases.models import CaseType
from rights_portal.extensions import db
from rights_portal.transactions import commit
from rights_portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from rights_portal.webhooks.services import register_endpoint
from tests.conftest import login, post_form, wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres


@dataclass
class Receiver:
    """What the receiving system saw: verified events by webhook-id, and refused attempts."""

    secret: str = ""
    fail_first: int = 0  # answer 500 to this many attempts
    hang_first: float = 0.0  # hold the first attempt this long before answering
    attempts: int = 0
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: int = 0
    bad_signatures: int = 0
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.attempts += 1
            attempt = state.attempts
            if attempt == 1 and state.hang_first:
                time.sleep(state.hang_first)
            try:
                event = Webhook(state.secret).verify(body, dict(self.headers.items()))
            except WebhookVerificationError:
                state.bad_signatures += 1
                self.send_response(400)
                self.end_headers()
                return
            if attempt <= state.fail_first:
                self.send_response(500)
                self.end_headers()
                return
            message_id = self.headers["webhook-id"]
            if message_id in state.accepted:
                state.repeats += 1  # a repeat of a message already processed: dropped
            else:
                state.accepted[message_id] = event
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


def _endpoint(receiver: Receiver, events: list[str]) -> WebhookEndpoint:
    admin = UserFactory(role=Role.ADMIN, email=f"hooks-admin-{len(events)}@uni.example")
    endpoint = register_endpoint(receiver.url, events, description="LMS", actor=admin)
    commit()
    receiver.secret = endpoint.secret
    return endpoint


def _student() -> Any:
    student = UserFactory(email="hooked@uni.example", date_of_birth=date(2000, 2, 2))
    db.session.commit()
    return student


def _file(student: Any) -> Any:
    case = case_services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    commit()
    return case


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    app_ctx: Flask, client: Any
) -> None:
    UserFactory(role=Role.ADMIN, email="hooks@uni.example")
    db.session.commit()
    login(client, "hooks@uni.example")
    response = post_form(
        client,
        "/staff/webhooks",
        {"url": "https://lms.uni.example/hooks", "events": ["case.filed", "case.decided"]},
        token_from="/staff/webhooks",
    )
    assert response.status_code == 201
    secret = response.get_data(as_text=True).split('id="webhook-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    assert secret not in client.get("/staff/webhooks").get_data(as_text=True)
    registered = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "webhook.endpoint_registered")
    ).one()
    assert registered.after["events"] == ["case.decided", "case.filed"]
    refused = post_form(
        client,
        "/staff/webhooks",
        {"url": "ftp://x", "events": ["case.filed"]},
        token_from="/staff/webhooks",
    )
    assert refused.status_code == 400


def test_a_filed_case_is_announced_after_commit_signed_and_without_personal_data(
    app_ctx: Flask, receiver: Receiver
) -> None:
    _endpoint(receiver, ["case.filed"])
    student = _student()
    case = _file(student)  # eager tasks in the suite: sent right after the commit
    assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0
    [event] = receiver.accepted.values()
    assert event["type"] == "case.filed"
    assert event["data"] == {
        "case": case.reference,
        "case_type": "access",
        "status": "received",
        "effective_due": case.effective_due.isoformat(),
    }
    text = json.dumps(event)
    assert student.email not in text and student.student_number not in text
    assert student.full_name not in text
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.delivered_at is not None and delivery.attempts == 1


def test_nothing_is_announced_for_a_change_that_rolled_back(
    app_ctx: Flask, receiver: Receiver
) -> None:
    _endpoint(receiver, ["case.filed"])
    student = _student()
    case_services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    db.session.rollback()
    assert receiver.attempts == 0
    assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_a_failing_endpoint_is_retried_then_disabled_with_a_notice_and_a_log(
    app: Flask, app_ctx: Flask, receiver: Receiver, smtp_sink: Any
) -> None:
    from workers.tasks import relay_webhooks

    receiver.fail_first = 100
    app.config["WEBHOOK_DISABLE_AFTER"] = 2
    try:
        endpoint = _endpoint(receiver, ["case.filed"])
        student = _student()
        _file(student)
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert delivery.delivered_at is None and delivery.attempts == 1
        assert delivery.last_status == 500 and delivery.next_attempt_at > delivery.created_at
        delivery.next_attempt_at = delivery.created_at  # the backoff has passed
        db.session.commit()
        relay_webhooks.run()
        db.session.expire_all()
        endpoint = db.session.get(WebhookEndpoint, endpoint.id)
        assert endpoint is not None and not endpoint.is_active
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert delivery.attempts == 2 and delivery.abandoned_at is not None
        assert any("disabled" in str(m["Subject"]) for m in smtp_sink.messages)
        _file(student)  # a disabled endpoint gets no new deliveries
        assert len(db.session.scalars(select(WebhookDelivery)).all()) == 1
        admin = app.test_client()
        login(admin, "hooks-admin-1@uni.example")
        log = admin.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
        assert delivery.message_id in log and "HTTP 500" not in log and "500" in log
        enabled = post_form(
            admin,
            f"/staff/webhooks/{endpoint.id}/enable",
            {},
            token_from=f"/staff/webhooks/{endpoint.id}",
        )
        assert enabled.status_code == 302
        db.session.expire_all()
        assert db.session.get(WebhookEndpoint, endpoint.id).is_active
        assert db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "webhook.endpoint_enabled")
        ).one()
    finally:
        app.config["WEBHOOK_DISABLE_AFTER"] = 15


@pytest.mark.redis
@pytest.mark.worker
def test_a_worker_killed_mid_delivery_loses_nothing_and_the_receiver_sees_it_once(
    app: Flask,
    make_other_app: Any,
    database_url: str,
    smtp_sink: Any,
    redis_url: str,
    receiver: Receiver,
    start_worker: Any,
) -> None:
    from tests import conftest

    receiver.hang_first = 20  # the first attempt hangs: the worker is killed inside it
    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": redis_url, "task_always_eager": False}
    broker_app = make_other_app(config)
    with broker_app.app_context():
        _endpoint(receiver, ["case.filed"])
        student = _student()
        first = start_worker(smtp_sink.port)
        reference = _file(student).reference  # sent to the real worker after the commit
        assert wait_for(lambda: receiver.attempts >= 1), "the worker never tried to deliver"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        start_worker(smtp_sink.port)
        Celery(broker=redis_url).send_task("rights_portal.relay_webhooks")
        assert wait_for(
            lambda: (
                (db.session.expire_all() or True)
                and db.session.scalars(select(WebhookDelivery)).one().delivered_at is not None
            ),
            60,
        ), "the delivery was lost"
        Celery(broker=redis_url).send_task("rights_portal.relay_webhooks")
        time.sleep(2)
    [event] = receiver.accepted.values()
    assert event["data"]["case"] == reference
    assert receiver.attempts >= 2  # the killed attempt, then the relay's, with the same id
    assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0

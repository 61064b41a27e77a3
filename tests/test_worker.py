"""Real Celery worker processes deliver each reminder exactly once (R9), on Redis and RabbitMQ.

- the sweep task sent twice (two beat schedulers, or a retried sweep) mails each milestone once;
- a mail server that refuses at first makes the delivery task retry until it is accepted, once;
- a worker killed with SIGKILL in the middle of sending loses nothing and duplicates nothing: the
  outbox row stays unsent, the relay hands it to the next worker, the server accepts it once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import Celery

from rights_portal.accounts.models import Role
from rights_portal.cases import services
from rights_portal.cases.models import Case, CaseType
from rights_portal.clock import today_local
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.worker]  # each broker marks its own (conftest)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ScriptedSmtp:
    """An SMTP server whose first ``refuse`` deliveries are answered 451 after ``delay`` seconds."""

    refuse: int = 0
    delay: float = 0.0
    attempts: int = 0
    accepted: list[Message] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.attempts <= self.refuse:
            await asyncio.sleep(self.delay)
            return "451 4.3.0 try again later"
        self.accepted.append(message_from_bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture
def scripted_smtp() -> Iterator[Callable[..., ScriptedSmtp]]:
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> ScriptedSmtp:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        handler = ScriptedSmtp(port=port, **kwargs)
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def due_case(app_ctx) -> Case:
    """An assigned case due in two days, so the sweep owes its handler the 'before:2' reminder."""
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    student = UserFactory(email="student@uni.example")
    db.session.commit()
    case = services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    services.assign(case, handler, actor=handler)
    case.effective_due = today_local() + timedelta(days=2)
    commit()
    return case


def reminders_in(messages: list[Message], case: Case) -> list[Message]:
    return [
        m for m in messages if case.reference in str(m["Subject"]) and "handler@" in str(m["To"])
    ]


def test_two_sweeps_through_a_real_worker_mail_the_reminder_once(
    due_case, broker_url, scripted_smtp, start_worker
):
    smtp = scripted_smtp()
    worker = start_worker(smtp.port, broker_url=broker_url)
    client = Celery(broker=broker_url)
    client.send_task("rights_portal.sweep_deadlines")
    client.send_task("rights_portal.sweep_deadlines")  # a second scheduler, or a retry
    assert wait_for(lambda: len(reminders_in(smtp.accepted, due_case)) >= 1), "no reminder arrived"
    client.send_task("rights_portal.relay_outbox")
    time.sleep(3)  # the solo worker runs the second sweep and the relay before this ends
    assert len(reminders_in(smtp.accepted, due_case)) == 1
    assert worker.poll() is None, "the worker died"


def test_a_refusing_mail_server_makes_the_task_retry_until_accepted_once(
    due_case, broker_url, scripted_smtp, start_worker
):
    smtp = scripted_smtp(refuse=2)
    start_worker(smtp.port, broker_url=broker_url)
    Celery(broker=broker_url).send_task("rights_portal.sweep_deadlines")
    assert wait_for(lambda: len(reminders_in(smtp.accepted, due_case)) >= 1, 60), "never delivered"
    time.sleep(2)
    assert smtp.attempts >= 3  # two refusals, then the accepted attempt
    assert len(reminders_in(smtp.accepted, due_case)) == 1


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    due_case, broker_url, scripted_smtp, start_worker
):
    smtp = scripted_smtp(refuse=1, delay=30)  # the first attempt hangs: the worker dies in it
    first = start_worker(smtp.port, broker_url=broker_url)
    client = Celery(broker=broker_url)
    client.send_task("rights_portal.sweep_deadlines")
    assert wait_for(lambda: smtp.attempts >= 1), "the worker never tried to send"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert smtp.accepted == []

    # Another worker; the relay (beat's safety net) finds the committed, unsent outbox row.
    start_worker(smtp.port, broker_url=broker_url, OUTBOX_RELAY_AGE_SECONDS="1")
    time.sleep(1.5)
    client.send_task("rights_portal.relay_outbox")
    assert wait_for(lambda: len(reminders_in(smtp.accepted, due_case)) >= 1), (
        "the reminder was lost"
    )
    client.send_task("rights_portal.sweep_deadlines")
    client.send_task("rights_portal.relay_outbox")
    time.sleep(3)
    assert len(reminders_in(smtp.accepted, due_case)) == 1

"""The register's daily reminder through a real Celery worker on Redis: one e-mail, sent twice.

Beat sends ``rights_portal.register_reminders`` by name; a second scheduler or a retry sends it
again. The unique (tool, kind, due date) row makes the second run send nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery import Celery

from rights_portal.accounts.models import Role
from rights_portal.clock import today_local
from rights_portal.exams.models import ToolKind
from rights_portal.extensions import db
from rights_portal.register import entries
from rights_portal.transactions import commit
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.test_register import complete_facts

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_a_dpia_review_in_30_days_reaches_the_dpo_once_through_a_real_worker(
    app_ctx,
    redis_url,
    smtp_sink,
    start_worker,
):
    dpo = UserFactory(email="dpo@uni.example", role=Role.DPO)
    db.session.commit()
    today = today_local()  # the worker runs on the real clock
    entries.create_entry(
        name="ProctorCam",
        kind=ToolKind.PROCTORING,
        facts=complete_facts(
            in_use_since=today - timedelta(days=100),
            necessity_reviewed_on=today - timedelta(days=50),
            dpia_on=today - timedelta(days=300),
            dpo_advice_on=today - timedelta(days=290),
            dpia_next_review_on=today + timedelta(days=30),
            processor_agreement_on=today - timedelta(days=310),
            processor_agreement_expires_on=today + timedelta(days=700),
        ),
        actor=None,
    )
    commit()
    smtp_sink.clear()

    worker = start_worker(smtp_sink.port)
    client = Celery(broker=redis_url)
    client.send_task("rights_portal.register_reminders")
    client.send_task("rights_portal.register_reminders")  # a second scheduler, or a retry

    assert wait_for(lambda: len(smtp_sink.to(dpo.email)) >= 1), "no reminder from the worker"
    client.send_task("rights_portal.relay_outbox")
    time.sleep(3)  # let the second run finish before counting
    [mail] = smtp_sink.to(dpo.email)
    assert "DPIA of ProctorCam" in str(mail["Subject"])
    assert worker.poll() is None, "the worker died"

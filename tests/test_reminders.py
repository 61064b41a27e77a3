"""The deadline sweep on PostgreSQL: reminders to the right people, each exactly once (R9, R10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.audit.services import record
from rights_portal.cases import services
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType, EscalationDigest, Reminder
from rights_portal.cases.reminders import ESCALATION_KEY, sweep
from rights_portal.extensions import db
from rights_portal.notifications.models import OutboxMessage
from rights_portal.transactions import commit
from tests.conftest import ROOT, wait_for
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member

pytestmark = pytest.mark.postgres

RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=AMSTERDAM)  # statutory due: Wed 2 Dec 2026
DUE = date(2026, 12, 2)


@pytest.fixture
def people(app_ctx):
    programme = ProgrammeFactory()
    people = {
        "programme": programme,
        "student": UserFactory(email="student@uni.example", programme_id=programme.id),
        "handler_a": UserFactory(email="a@uni.example", role=Role.CASE_HANDLER),
        "handler_b": UserFactory(email="b@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(programme, email="board@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
    }
    db.session.commit()
    return people


def access_case(people) -> Case:
    case = services.file_case(
        case_type=CaseType.ACCESS,
        subject=people["student"],
        filed_by=people["student"],
        description="",
        received_at=RECEIVED,
    )
    commit()
    return case


def reminder_mails(sink, reference):
    return [m for m in sink.messages if reference in str(m["Subject"])]


def test_seven_days_before_due_the_handler_pool_is_reminded_once(people, smtp_sink):
    case = access_case(people)
    assert case.effective_due == DUE
    smtp_sink.clear()
    report = sweep(DUE - timedelta(days=7))
    commit()
    assert report.reminders_sent == [(case.reference, "before:7")]
    [mail] = smtp_sink.messages
    assert "a@uni.example" in mail["To"] and "b@uni.example" in mail["To"]
    assert "student@uni.example" not in mail["To"]
    sweep(DUE - timedelta(days=7))
    commit()
    sweep(DUE - timedelta(days=6))
    commit()
    assert len(smtp_sink.messages) == 1


def test_an_assigned_case_reminds_only_its_assignee(people, smtp_sink):
    case = access_case(people)
    services.assign(case, people["handler_a"], actor=people["handler_a"])
    commit()
    smtp_sink.clear()
    sweep(DUE - timedelta(days=2))
    commit()
    [mail] = smtp_sink.messages
    assert mail["To"] == "a@uni.example"


def test_an_unassigned_objection_reminds_the_exam_board(people, smtp_sink):
    exam = ExamFactory(
        programme=people["programme"], starts_at=datetime(2026, 12, 7, 9, tzinfo=AMSTERDAM)
    )
    case = services.file_case(
        case_type=CaseType.OBJECTION,
        subject=people["student"],
        filed_by=people["student"],
        description="grounds",
        exam=exam,
        received_at=RECEIVED,
    )
    commit()
    assert case.effective_due == date(2026, 11, 30)  # exam-bound, earlier than statutory (R7)
    smtp_sink.clear()
    sweep(date(2026, 11, 30))
    commit()
    [mail] = smtp_sink.messages
    assert mail["To"] == "board@uni.example"


def test_a_sweep_after_downtime_records_every_missed_milestone_and_escalates_once(
    people, smtp_sink
):
    case = access_case(people)
    smtp_sink.clear()
    report = sweep(DUE + timedelta(days=3))  # the first sweep in weeks (R10)
    commit()
    keys = set(db.session.scalars(select(Reminder.key).where(Reminder.case_id == case.id)))
    assert keys == {
        "before:7",
        "before:2",
        "due",
        "overdue:2026-12-03",
        "overdue:2026-12-04",
        "overdue:2026-12-05",
        "escalation",
    }
    assert report.reminders_sent == [(case.reference, "overdue:2026-12-05")]
    assert report.reminders_superseded == 5
    assert report.escalations == [case.reference]
    subjects = smtp_sink.subjects()
    assert len(subjects) == 2
    assert any("digest" in s for s in subjects)
    [escalation] = [m for m in smtp_sink.messages if "digest" in str(m["Subject"])]
    assert escalation["To"] == "dpo@uni.example"

    smtp_sink.clear()
    sweep(DUE + timedelta(days=3))
    commit()
    assert smtp_sink.messages == []
    report = sweep(DUE + timedelta(days=4))  # daily while overdue, escalated only once
    commit()
    assert report.reminders_sent == [(case.reference, "overdue:2026-12-06")]
    assert report.escalations == []
    assert len(smtp_sink.messages) == 1


def test_decided_and_withdrawn_cases_get_no_reminders(people, smtp_sink):
    case = access_case(people)
    services.withdraw(case, actor=people["student"])
    commit()
    smtp_sink.clear()
    report = sweep(DUE)
    commit()
    assert report.cases_examined == 0
    assert smtp_sink.messages == []


def test_two_concurrent_sweeps_send_each_reminder_once(app, people, smtp_sink):
    cases = [access_case(people) for _ in range(5)]
    smtp_sink.clear()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                sweep(DUE)
                commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    for case in cases:
        assert len(reminder_mails(smtp_sink, case.reference)) == 1


def test_sweep_cli_prints_what_it_did(app, people, smtp_sink):
    case = access_case(people)
    result = CliRunner().invoke(
        app.cli, ["deadlines", "sweep", "--today", "2026-12-02"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "sweep for 2026-12-02" in result.output
    assert f"reminder due for {case.reference}" in result.output


# --- The sweep commits per batch (the audit chain is not locked for the whole sweep) -----------


def test_other_audited_actions_append_to_the_trail_between_the_sweeps_batches(
    app, people, monkeypatch
):
    # Each reminder appends an audit event, which locks the chain head until the transaction
    # ends. After every batch the sweep commits, so a login or staff action waits one batch at
    # most: here, after each commit, another session appends an event, giving up after 2 s.
    cases = [access_case(people) for _ in range(5)]
    sweep_session = db.session()
    outcomes: list[str] = []

    def append_elsewhere() -> None:
        with app.app_context():  # a session and connection of its own, like another request
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            record("test.between_batches", actor=None, object_type="test")
            commit()

    def after_commit(session: Session) -> None:
        if session is not sweep_session:
            return
        failures: list[BaseException] = []

        def run() -> None:
            try:
                append_elsewhere()
            except BaseException as exc:  # reported below
                failures.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(30)
        outcomes.append(repr(failures[0]) if failures else "appended")

    monkeypatch.setitem(app.config, "DEADLINE_SWEEP_BATCH_SIZE", 2)
    event.listen(Session, "after_commit", after_commit)
    try:
        report = sweep(DUE)
    finally:
        event.remove(Session, "after_commit", after_commit)
    assert sorted(report.reminders_sent) == sorted((c.reference, "due") for c in cases)
    assert outcomes == ["appended"] * 4  # three batches of cases, then the digest's transaction
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.in_(("case.reminder_sent", "test.between_batches")))
        .order_by(AuditEvent.id)
    ).all()
    sent, other = "case.reminder_sent", "test.between_batches"
    assert actions == [sent, sent, other, sent, sent, other, sent, other, other]


def test_the_sweep_leaves_the_whole_run_to_the_caller_without_commit_each(people, smtp_sink):
    case = access_case(people)
    smtp_sink.clear()
    report = sweep(DUE + timedelta(days=3), commit_each=False, batch_size=1)
    assert report.escalations == [case.reference]
    db.session.rollback()  # as bench/sweep.py does: the next run does the same work again
    assert db.session.scalar(select(func.count(Reminder.id))) == 0
    assert smtp_sink.messages == []
    assert sweep(DUE + timedelta(days=3)).escalations == [case.reference]


# --- A sweep killed half-way: the next one finishes it, nothing twice (R9) ---------------------


@contextmanager
def held_lock(statement: str, **params: object) -> Iterator[sa.Connection]:
    """Hold the lock ``statement`` takes, on a connection of its own, until the block ends."""
    with db.engine.connect() as conn:
        conn.execute(text(statement), params)
        try:
            yield conn
        finally:
            conn.rollback()


def kill_cli_sweep_when_it_waits(database_url, instance_dir, today: date, query: str) -> None:
    """Run ``flask deadlines sweep`` in a process and SIGKILL it while ``query`` waits for a lock.

    Then its connection is dropped, as the server does once it notices the client is gone, and
    whatever that transaction did is rolled back; earlier transactions stay committed.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RIGHTS_PORTAL_ENV": "test",
        "RIGHTS_PORTAL_INSTANCE": instance_dir,
        "CELERY_BROKER_URL": "memory://",  # mails stay in the outbox; nobody delivers them here
        "DEADLINE_SWEEP_BATCH_SIZE": "2",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "deadlines",
            "sweep",
            "--today",
            str(today),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    waiting = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE :query"
    )
    pids: list[int] = []
    try:
        with db.engine.connect() as conn:

            def scalars(statement: sa.TextClause, **params: object) -> list[int]:
                rows = list(conn.execute(statement, params).scalars())
                conn.rollback()  # pg_stat_activity is a snapshot per transaction
                return rows

            def blocked() -> bool:
                pids[:] = scalars(waiting, query=f"{query}%")
                return bool(pids) or process.poll() is not None

            assert wait_for(blocked), "the sweep never got to the lock"
            assert process.poll() is None, process.communicate()[0].decode()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            scalars(text("SELECT pg_terminate_backend(:pid)::int"), pid=pids[0])
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            assert wait_for(lambda: scalars(gone, pid=pids[0]) == [0])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize("killed", ["in_the_second_batch", "before_the_digest"])
def test_a_sweep_killed_half_way_is_finished_by_the_next_without_sending_anything_twice(
    people, smtp_sink, database_url, instance_dir, killed
):
    cases = [access_case(people) for _ in range(3)]
    references = {case.reference for case in cases}
    today = DUE + timedelta(days=3)  # all three overdue: reminded and escalated (R9, R10)
    smtp_sink.clear()
    if killed == "in_the_second_batch":
        # The third case's reminder row waits for its case row; the first batch is committed.
        lock = "SELECT id FROM cases WHERE id = :id FOR UPDATE"
        query = "INSERT INTO reminders"
    else:
        # Every case is done and committed; the digest's transaction waits for its table.
        lock = "LOCK TABLE escalation_digests IN SHARE MODE"
        query = "INSERT INTO escalation_digests"
    with held_lock(lock, id=cases[2].id):
        kill_cli_sweep_when_it_waits(database_url, instance_dir, today, query)
    db.session.expire_all()
    escalated = set(
        db.session.scalars(
            select(Case.reference).join(Reminder).where(Reminder.key == ESCALATION_KEY)
        )
    )
    assert escalated == (
        references if killed == "before_the_digest" else references - {cases[2].reference}
    )
    assert db.session.scalar(select(func.count(EscalationDigest.id))) == 0

    report = sweep(today)  # the next run
    commit()
    assert report.escalations == ([] if killed == "before_the_digest" else [cases[2].reference])
    assert set(report.announced) == references  # also those of the sweep that died
    [digest] = [m for m in smtp_sink.messages if "digest" in str(m["Subject"])]
    assert digest["To"] == "dpo@uni.example"
    body = digest.get_payload(decode=True).decode()
    assert all(f"{reference} [new]" in body for reference in references)
    assert sweep(today).announced == []  # and once only
    assert sweep(today + timedelta(days=1)).announced == []

    # Each milestone is recorded once, each case's latest one mailed once, one digest in all.
    for case in cases:
        keys = db.session.scalars(select(Reminder.key).where(Reminder.case_id == case.id)).all()
        assert len(keys) == len(set(keys)) == 8  # before:7, before:2, due, 3-6 Dec, escalation
        mailed = db.session.scalars(
            select(Reminder.key).where(
                Reminder.case_id == case.id, Reminder.outbox_message_id.is_not(None)
            )
        ).all()
        assert sorted(mailed) == ["overdue:2026-12-05", "overdue:2026-12-06"]
        mails = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.subject.contains(case.reference)
            )
        )
        assert mails == 3  # the acknowledgement of receipt and those two reminders
    assert db.session.scalar(select(func.count(EscalationDigest.id))) == 1
    assert (
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.subject.contains("digest"))
        )
        == 1
    )


def test_escalations_from_before_the_digest_link_count_as_announced(sqlite_app):
    # Before revision b340d0f85b9d each escalation was announced in the transaction that
    # recorded it (or, with no DPO, by nobody); the first sweep after the upgrade must not
    # announce them all again. On SQLite, the embedded default, where the migration rebuilds
    # the table.
    from flask_migrate import upgrade

    with sqlite_app.app_context():
        upgrade(revision="ad1a55d4b377")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO reminders"
                    " (id, case_id, key, milestone_on, superseded, created_at) VALUES"
                    " (1, 1, 'escalation', '2026-11-02', 0, '2026-11-02 06:00:00.000000'),"
                    " (2, 1, 'due', '2026-11-01', 0, '2026-11-01 06:00:00.000000'),"
                    " (3, 2, 'escalation', '2026-11-03', 0, '2026-11-03 06:00:00.000000')"
                )
            )
            conn.execute(  # the digest that announced the first; no DPO on the 3rd
                text(
                    "INSERT INTO escalation_digests (id, day, case_count, created_at)"
                    " VALUES (7, '2026-11-02', 1, '2026-11-02 06:00:00.100000')"
                )
            )
        upgrade()
        links = {
            reminder_id: digest_id
            for reminder_id, digest_id in db.session.execute(
                select(Reminder.id, Reminder.escalation_digest_id)
            )
        }
        assert links[1] == 7 and links[2] is None
        backfilled = db.session.get(EscalationDigest, links[3])
        assert backfilled is not None and backfilled.day == date(2026, 11, 3)
        assert backfilled.outbox_message_id is None

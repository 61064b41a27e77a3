"""The audit trail on PostgreSQL: append-only in the database, tamper-evident, one chain (R24).

Tampering is done the way an attacker with database rights would: as a superuser who first
disables the append-only trigger, in a transaction of its own, behind the application's back.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from rights_portal.accounts.models import Role, User
from rights_portal.audit.anchors import read_anchors
from rights_portal.audit.models import AuditEvent, AuditTrailIsAppendOnly
from rights_portal.audit.services import (
    GENESIS_HASH,
    canonical_bytes_from_columns,
    canonical_payload_bytes,
    record,
)
from rights_portal.audit.verify import verify_chain
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres
TRIGGER = "audit_events_append_only"


@pytest.fixture
def trail(app_ctx):
    """Ten committed events from a handler, and a DPO to be told about the trail."""
    handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
    UserFactory(email="dpo@uni.example", role=Role.DPO, locale="en")
    db.session.commit()
    for number in range(10):
        record(
            "test.event",
            actor=handler,
            object_type="test",
            object_id=number,
            before={"n": number},
            after={"n": number + 1, "note": "café ✓"},
        )
    commit()
    return db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()


def behind_the_apps_back(*statements: tuple[str, dict]) -> None:
    """Run SQL as the superuser with the append-only trigger disabled, in one transaction."""
    db.session.commit()  # release our locks: ALTER TABLE needs the table to itself
    with db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE audit_events DISABLE TRIGGER {TRIGGER}"))
        for statement, params in statements:
            conn.execute(text(statement), params)
        conn.execute(text(f"ALTER TABLE audit_events ENABLE TRIGGER {TRIGGER}"))


def audit_verify(app, *args: str):
    return CliRunner().invoke(app.cli, ["audit", "verify", *args])


def reference_hash(row, prev_hash: str | None = None) -> str:
    """What a tamperer who knows the algorithm computes for ``row``."""
    return hashlib.sha256(
        canonical_payload_bytes(
            prev_hash=prev_hash or row.prev_hash,
            occurred_at=row.occurred_at.isoformat(timespec="microseconds"),
            actor_id=row.actor_id,
            actor_role=row.actor_role,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            case_id=row.case_id,
            before=row.before,
            after=row.after,
            request_id=row.request_id,
            ip_address=row.ip_address,
        )
    ).hexdigest()


# --- append-only in the database -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'user.deleted' WHERE id = 3",
        "UPDATE audit_events SET action = 'user.deleted' WHERE id = -1",  # even matching nothing
        "DELETE FROM audit_events WHERE id = 3",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
    ],
)
def test_update_delete_and_truncate_issued_directly_in_postgresql_are_rejected(
    app, trail, statement
):
    db.session.commit()
    with (
        pytest.raises(sa.exc.ProgrammingError, match="audit_events is append-only"),
        db.engine.begin() as conn,  # as the superuser the tests connect as
    ):
        conn.execute(text(statement))
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 10
    assert verify_chain().ok


def test_the_application_cannot_change_or_delete_an_event_through_the_orm(app, trail):
    event = db.session.get(AuditEvent, trail[0])
    event.action = "user.deleted"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, trail[0]))
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_stored_json_is_the_canonical_spelling_the_verifier_splices(app, trail):
    stored = db.session.execute(
        text("SELECT after::text FROM audit_events WHERE id = :id"), {"id": trail[0]}
    ).scalar_one()
    assert stored == '{"n":1,"note":"café ✓"}'


# --- the verifier ---------------------------------------------------------------------------


def test_audit_verify_passes_on_an_intact_chain(app, trail):
    result = audit_verify(app)
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 10 event(s) verified" in result.output
    assert f"head is event {trail[-1]}" in result.output


def test_an_event_altered_behind_the_apps_back_is_found_by_audit_verify_with_its_id(app, trail):
    victim = trail[4]
    behind_the_apps_back(
        (
            "UPDATE audit_events SET after = CAST(:after AS json) WHERE id = :id",
            {"after": '{"n":99}', "id": victim},
        )
    )
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at event {victim}: content altered" in result.output
    assert "(4 event(s) before it verified)" in result.output


def test_an_altered_and_rehashed_event_breaks_the_link_to_the_next_one(app, trail):
    victim = trail[4]
    behind_the_apps_back(
        ("UPDATE audit_events SET action = 'user.deleted' WHERE id = :id", {"id": victim})
    )
    row = db.session.get(AuditEvent, victim)
    behind_the_apps_back(
        (
            "UPDATE audit_events SET hash = :hash WHERE id = :id",
            {"hash": reference_hash(row), "id": victim},
        )
    )
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at event {trail[5]}: broken link" in result.output
    assert f"or event {victim} was altered and re-hashed" in result.output


def test_a_deleted_event_is_found_at_the_event_after_it(app, trail):
    behind_the_apps_back(("DELETE FROM audit_events WHERE id = :id", {"id": trail[3]}))
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at event {trail[4]}: broken link" in result.output


def test_deleting_the_first_event_is_found(app, trail):
    behind_the_apps_back(("DELETE FROM audit_events WHERE id = :id", {"id": trail[0]}))
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at event {trail[1]}: the first event does not start the chain" in (
        result.output
    )


def test_reordered_events_are_detected(app, trail):
    first, second = trail[2], trail[6]
    behind_the_apps_back(
        ("UPDATE audit_events SET id = -1 WHERE id = :id", {"id": first}),
        ("UPDATE audit_events SET id = :new WHERE id = :old", {"new": first, "old": second}),
        ("UPDATE audit_events SET id = :new WHERE id = -1", {"new": second}),
    )
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at event {first}: broken link" in result.output


def test_events_whose_json_was_stored_in_another_spelling_still_verify(app, trail):
    """Events written before the canonical column type verify through the slow path."""
    head = db.session.get(AuditEvent, trail[-1])
    occurred_at = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
    before = {"z": 1, "a": [1, 2], "s": "ë"}
    digest = hashlib.sha256(
        canonical_payload_bytes(
            prev_hash=head.hash,
            occurred_at=occurred_at.isoformat(timespec="microseconds"),
            actor_id=None,
            actor_role=None,
            action="legacy.event",
            object_type="test",
            object_id=None,
            case_id=None,
            before=before,
            after=None,
            request_id=None,
            ip_address=None,
        )
    ).hexdigest()
    db.session.execute(  # INSERT stays allowed: the trail is append-only, not read-only
        text(
            "INSERT INTO audit_events (occurred_at, action, object_type, before, prev_hash, hash)"
            " VALUES (:at, 'legacy.event', 'test', CAST(:before AS json), :prev, :hash)"
        ),
        {"at": occurred_at, "before": json.dumps(before), "prev": head.hash, "hash": digest},
    )
    db.session.commit()
    result = verify_chain()
    assert result.ok, result.problem
    assert result.events_checked == 11


@settings(max_examples=300, deadline=None)
@given(
    text_value=st.text(),
    optional_text=st.one_of(st.none(), st.text(max_size=20)),
    number=st.one_of(st.none(), st.integers(min_value=0, max_value=2**31)),
    document=st.one_of(
        st.none(),
        st.dictionaries(
            st.text(max_size=8),
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.lists(st.text())),
            max_size=4,
        ),
    ),
)
def test_the_verifiers_fast_spelling_equals_the_reference_serialization(
    text_value, optional_text, number, document
):
    canonical = (
        None
        if document is None
        else json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )
    values = {
        "occurred_at": "2026-11-23T10:00:00.000001+00:00",
        "actor_id": number,
        "actor_role": optional_text,
        "action": text_value,
        "object_type": text_value[::-1],
        "object_id": optional_text,
        "case_id": number,
        "request_id": optional_text,
        "ip_address": optional_text,
        "prev_hash": GENESIS_HASH,
    }
    fast = canonical_bytes_from_columns(**values, before_json=canonical, after_json=None)
    reference = canonical_payload_bytes(**values, before=document, after=None)
    assert fast == reference


TAMPERINGS = {
    "altered": [("UPDATE audit_events SET object_id = 'x' WHERE id = 6", {})],
    "altered at a range boundary": [("UPDATE audit_events SET object_id = 'x' WHERE id = 7", {})],
    "deleted": [("DELETE FROM audit_events WHERE id = 4", {})],
    "deleted at a range boundary": [("DELETE FROM audit_events WHERE id = 3", {})],
    "first deleted": [("DELETE FROM audit_events WHERE id = 1", {})],
    "escaped text": [("UPDATE audit_events SET action = E'a\\tb\"c\\\\' WHERE id = 8", {})],
    "json altered": [('UPDATE audit_events SET after = \'{"n":"x\\\\y"}\' WHERE id = 5', {})],
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_ranges_checked_in_parallel_report_what_the_streaming_verifier_reports(
    app, trail, tmp_path, tampering
):
    """Ranges of 3 ids in 2 processes against the one-stream verifier, with anchors."""
    from rights_portal.audit.verify import Anchor, _verify_stream

    rows = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id))
    anchors = [Anchor(i, h, n, "2026-12-03T10:00:00+00:00") for n, (i, h) in enumerate(rows, 1)]
    anchors = anchors[1::3]
    behind_the_apps_back(*TAMPERINGS[tampering])
    parallel = verify_chain(anchors=anchors, range_size=3, workers=2)
    streamed = _verify_stream(db.engine, anchors, 2)
    assert not parallel.ok
    assert parallel == streamed


def test_special_characters_verify_in_parallel_ranges(app, app_ctx):
    """Quotes, backslashes, tabs, newlines and control characters take the exact spelling."""
    for number, value in enumerate(['a"b', "c\\d", "e\tf", "g\nh", "i\x01j", "k\\N", "ë ✓"]):
        record(
            value, actor=None, object_type=value, object_id=value, after={"v": value, "n": number}
        )
    commit()
    result = verify_chain(range_size=2, workers=2)
    assert result.ok and result.events_checked == 7, result.problem


# --- anchors --------------------------------------------------------------------------------


def test_cutting_off_the_tail_is_caught_by_an_anchor(app, trail, tmp_path):
    anchored = CliRunner().invoke(app.cli, ["audit", "anchor"])
    assert anchored.exit_code == 0, anchored.output
    [anchor] = read_anchors(Path(app.config["AUDIT_ANCHOR_FILE"]))
    assert (anchor.head_id, anchor.events) == (trail[-1], 10)
    copy = tmp_path / "from-the-dpo-mailbox.log"
    copy.write_text(Path(app.config["AUDIT_ANCHOR_FILE"]).read_text())
    # The anchor run recorded audit.verified after the head; cut the last two events off.
    behind_the_apps_back(("DELETE FROM audit_events WHERE id >= :id", {"id": trail[-1]}))
    assert audit_verify(app).exit_code == 0  # a chain cannot see its own tail missing...
    result = audit_verify(app, "--anchors", str(copy))
    assert result.exit_code == 1  # ...the anchor can
    assert f"BROKEN at event {trail[-1]}" in result.output and "is missing" in result.output


def test_a_rewrite_of_the_whole_chain_is_caught_by_the_anchor_log(app, trail):
    assert CliRunner().invoke(app.cli, ["audit", "anchor"]).exit_code == 0
    # Alter event 3, then recompute every hash after it: a consistent, rewritten chain.
    behind_the_apps_back(
        ("UPDATE audit_events SET action = 'user.deleted' WHERE id = :id", {"id": trail[2]})
    )
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.id >= trail[2]).order_by(AuditEvent.id)
    ).all()
    previous = db.session.get(AuditEvent, trail[1]).hash
    updates = []
    for row in rows:
        new_hash = reference_hash(row, prev_hash=previous)
        updates.append(
            (
                "UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id",
                {"prev": previous, "hash": new_hash, "id": row.id},
            )
        )
        previous = new_hash
    behind_the_apps_back(*updates)
    assert audit_verify(app).exit_code == 0  # the rewritten chain is consistent in itself
    result = audit_verify(app, "--with-anchor-log")
    assert result.exit_code == 1
    assert f"BROKEN at event {trail[-1]}" in result.output
    assert "the trail was rewritten" in result.output


def test_a_damaged_anchor_log_is_refused_with_a_clear_message(app, trail, tmp_path):
    damaged = tmp_path / "anchors.log"
    damaged.write_text("not json\n")
    result = audit_verify(app, "--anchors", str(damaged))
    assert result.exit_code == 1
    assert "line 1: not an anchor" in result.output


# --- the nightly task -----------------------------------------------------------------------


def run_nightly(app):
    return app.extensions["celery"].tasks["rights_portal.verify_audit_trail"].apply().get()


def test_nightly_task_anchors_the_head_and_mails_it_to_the_dpo(app, trail, smtp_sink):
    outcome = run_nightly(app)
    assert outcome["ok"] is True and outcome["events_checked"] == 10
    line = json.loads(Path(app.config["AUDIT_ANCHOR_FILE"]).read_text().splitlines()[-1])
    head = db.session.get(AuditEvent, trail[-1])
    assert line["head_id"] == head.id and line["head_hash"] == head.hash and line["events"] == 10
    [mail] = smtp_sink.to("dpo@uni.example")
    assert "anchor" in mail["Subject"]
    assert head.hash in mail.get_payload(decode=True).decode()
    verified = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.verified")
    ).one()
    assert verified.after["head_hash"] == head.hash
    # The next night checks against this anchor and anchors again.
    assert run_nightly(app)["ok"] is True
    assert len(read_anchors(Path(app.config["AUDIT_ANCHOR_FILE"]))) == 2


def test_nightly_task_alerts_the_dpo_by_email_when_the_trail_is_broken(app, trail, smtp_sink):
    victim = trail[6]
    behind_the_apps_back(("UPDATE audit_events SET object_id = 'x' WHERE id = :id", {"id": victim}))
    outcome = run_nightly(app)
    assert outcome["ok"] is False and outcome["broken_event_id"] == victim
    [mail] = smtp_sink.to("dpo@uni.example")
    assert "Alarm" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert f"First broken event: {victim}" in body and "content altered" in body
    assert not Path(app.config["AUDIT_ANCHOR_FILE"]).exists()  # a broken head is not anchored
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.verification_failed")
    ).one()
    assert failed.after["broken_event_id"] == victim


def test_the_verification_runs_nightly_from_the_beat_schedule(app):
    entry = app.extensions["celery"].conf.beat_schedule["audit-verify-nightly"]
    assert entry["task"] == "rights_portal.verify_audit_trail"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}


# --- concurrent writers ---------------------------------------------------------------------

WRITERS = 8
EVENTS_EACH = 25


def test_eight_concurrent_writers_produce_one_unbroken_chain(app, app_ctx):
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with app.app_context():  # its own session and connection
                barrier.wait()
                for number in range(EVENTS_EACH):
                    record(
                        "test.concurrent",
                        actor=None,
                        object_type="writer",
                        object_id=f"{writer}-{number}",
                    )
                    commit()  # every event in a transaction of its own
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    rows = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.id)
    ).all()
    assert len(rows) == WRITERS * EVENTS_EACH  # no gaps: every append landed
    assert len({row.prev_hash for row in rows}) == len(rows)  # no forks
    expected = GENESIS_HASH
    for row in rows:  # one chain, in id order
        assert row.prev_hash == expected
        expected = row.hash
    assert {row.object_id for row in rows} == {
        f"{w}-{n}" for w in range(WRITERS) for n in range(EVENTS_EACH)
    }
    writers_in_order = [row.object_id.split("-")[0] for row in rows]
    assert writers_in_order != sorted(writers_in_order), "the writers never interleaved"
    result = verify_chain(range_size=7, workers=2)  # many ranges, joined across processes
    assert result.ok and result.events_checked == WRITERS * EVENTS_EACH


def test_the_database_refuses_an_event_that_does_not_name_the_head_a_fork(app, trail):
    """Even bypassing record() and its lock: the chain head trigger refuses the fork."""
    second = db.session.get(AuditEvent, trail[1])
    insert = text(
        "INSERT INTO audit_events (occurred_at, action, object_type, prev_hash, hash)"
        " VALUES (now(), 'forged.event', 'test', :prev, :hash)"
    )
    db.session.commit()
    for prev in (second.prev_hash, GENESIS_HASH, "f" * 64):  # a taken link, a new root, nonsense
        with (
            pytest.raises(sa.exc.IntegrityError, match="audit chain fork refused"),
            db.engine.begin() as conn,
        ):
            conn.execute(insert, {"prev": prev, "hash": "e" * 64})
    head = db.session.execute(text("SELECT event_id, hash FROM audit_chain_head")).one()
    assert head == (trail[-1], db.session.get(AuditEvent, trail[-1]).hash)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 10
    assert verify_chain().ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_chain_head SET hash = repeat('0', 64), event_id = NULL",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head",
        "INSERT INTO audit_chain_head (id, event_id, hash) VALUES (2, NULL, repeat('0', 64))",
    ],
)
def test_the_chain_head_cannot_be_moved_by_hand(app, trail, statement):
    db.session.commit()
    with (
        pytest.raises(sa.exc.ProgrammingError, match="audit_chain_head moves only"),
        db.engine.begin() as conn,
    ):
        conn.execute(text(statement))
    record("test.after", actor=None, object_type="test")  # the chain goes on from its head
    commit()
    assert verify_chain().ok


# --- role changes ---------------------------------------------------------------------------


def test_users_set_role_changes_the_role_and_records_it(app, app_ctx):
    user = UserFactory(email="pieter@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    result = CliRunner().invoke(
        app.cli, ["users", "set-role", "--email", "Pieter@uni.example", "--role", "dpo"]
    )
    assert result.exit_code == 0, result.output
    assert "case_handler -> dpo" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).role is Role.DPO
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.role_changed")
    ).one()
    assert event.object_id == str(user.id)
    assert event.before == {"role": "case_handler"}
    assert event.after == {"role": "dpo", "via": "cli"}


def test_users_set_role_refuses_students_and_unknown_accounts(app, app_ctx):
    UserFactory(email="sanne@uni.example")
    db.session.commit()
    runner = CliRunner()
    student = runner.invoke(
        app.cli, ["users", "set-role", "--email", "sanne@uni.example", "--role", "dpo"]
    )
    assert student.exit_code == 1 and "cannot be changed" in student.output
    unknown = runner.invoke(
        app.cli, ["users", "set-role", "--email", "nobody@uni.example", "--role", "dpo"]
    )
    assert unknown.exit_code == 1 and "no account" in unknown.output
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.role_changed")
        )
        == 0
    )


# --- SQLite, the embedded default -----------------------------------------------------------


def test_on_sqlite_triggers_refuse_update_and_delete_and_the_chain_verifies(sqlite_app):
    from flask_migrate import upgrade

    with sqlite_app.app_context():
        upgrade()
        for number in range(5):
            record("test.sqlite", actor=None, object_type="test", after={"n": number})
            commit()
        result = verify_chain(batch_size=2)
        assert result.ok and result.events_checked == 5, result.problem
        from rights_portal.audit.verify import Anchor, verify_from

        anchor = Anchor(result.head_id, result.head_hash, 5, "2026-12-02T10:00:00+00:00")
        record("test.sqlite", actor=None, object_type="test", after={"n": 5})
        commit()
        since = verify_from(anchor)  # the head check reads SQLite's timestamps as well
        assert since.ok and since.events_checked == 6, since.problem
        for statement in (
            "UPDATE audit_events SET action = 'x' WHERE id = 2",
            "DELETE FROM audit_events WHERE id = 2",
        ):
            with (
                pytest.raises(sa.exc.IntegrityError, match="append-only"),
                db.engine.begin() as conn,
            ):
                conn.execute(text(statement))
        with db.engine.begin() as conn:  # behind the back: drop the trigger, then alter
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("UPDATE audit_events SET action = 'x' WHERE id = 4"))
        broken = verify_chain()
        assert broken.broken_event_id == 4 and "content altered" in str(broken.problem)
        with pytest.raises(sa.exc.IntegrityError, match="fork refused"), db.engine.begin() as conn:
            conn.execute(  # naming a predecessor that is not the head: refused by the trigger
                text(
                    "INSERT INTO audit_events (occurred_at, action, object_type, prev_hash, hash)"
                    " VALUES ('2026-12-03 10:00:00.000000', 'x', 'test', :prev, :hash)"
                ),
                {"prev": GENESIS_HASH, "hash": "e" * 64},
            )
        for statement in (
            "UPDATE audit_chain_head SET hash = 'x'",
            "DELETE FROM audit_chain_head",
        ):
            with pytest.raises(sa.exc.IntegrityError, match="moves only"), db.engine.begin() as c:
                c.execute(text(statement))


# --- the head anchor of every few minutes (issue 20, finding 6) -----------------------------


def run_head_check(app):
    return app.extensions["celery"].tasks["rights_portal.anchor_audit_head"].apply().get()


def more_events(count: int) -> None:
    for number in range(count):
        record("test.later", actor=None, object_type="test", object_id=number)
    commit()


def test_the_head_is_anchored_every_few_minutes_from_the_beat_schedule(app):
    entry = app.extensions["celery"].conf.beat_schedule["audit-anchor-head"]
    assert entry["task"] == "rights_portal.anchor_audit_head"
    assert entry["schedule"].total_seconds() == 5 * 60


def test_the_head_check_anchors_new_heads_and_the_nightly_check_agrees(app, trail, smtp_sink):
    assert run_head_check(app)["ok"] is True  # the first run verifies everything
    more_events(3)
    outcome = run_head_check(app)
    assert outcome["ok"] is True
    anchors = read_anchors(Path(app.config["AUDIT_ANCHOR_FILE"]))
    assert [(a.head_id, a.events) for a in anchors] == [(trail[-1], 10), (outcome["head_id"], 13)]
    assert run_head_check(app)["ok"] is True  # nothing new: nothing appended
    assert len(read_anchors(Path(app.config["AUDIT_ANCHOR_FILE"]))) == 2
    assert smtp_sink.to("dpo@uni.example") == []  # a success is not mailed every few minutes
    assert audit_verify(app, "--with-anchor-log").exit_code == 0  # counts agree with the chain


def test_cutting_off_the_tail_is_found_by_the_next_head_check_within_minutes(app, trail, smtp_sink):
    more_events(2)
    anchored = run_head_check(app)
    more_events(2)
    assert run_head_check(app)["ok"] is True
    head = run_head_check(app)["head_id"]
    # Someone who can disable the triggers removes the newest events, anchored head included.
    behind_the_apps_back(("DELETE FROM audit_events WHERE id > :id", {"id": anchored["head_id"]}))
    assert audit_verify(app).exit_code == 0  # the chain alone cannot see it
    outcome = run_head_check(app)  # the next run, at most AUDIT_HEAD_ANCHOR_MINUTES later
    assert outcome["ok"] is False
    assert outcome["broken_event_id"] == head and "is missing" in outcome["problem"]
    [mail] = smtp_sink.to("dpo@uni.example")
    assert "Alarm" in mail["Subject"]
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.verification_failed")
    ).one()
    assert failed.after["head_check"] is True


def test_a_rewritten_anchored_event_is_found_by_the_head_check(app, trail, smtp_sink):
    head = run_head_check(app)["head_id"]
    row = db.session.get(AuditEvent, head)
    assert row is not None
    forged = "f" * 64
    behind_the_apps_back(
        ("UPDATE audit_events SET hash = :hash WHERE id = :id", {"hash": forged, "id": head})
    )
    outcome = run_head_check(app)
    assert outcome["ok"] is False and outcome["broken_event_id"] == head
    assert "rewritten" in outcome["problem"] or "altered" in outcome["problem"]


def test_an_altered_event_after_the_last_anchor_is_found_by_the_head_check(app, trail):
    run_head_check(app)
    more_events(3)
    victim = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first()
    behind_the_apps_back(("UPDATE audit_events SET object_id = 'x' WHERE id = :id", {"id": victim}))
    outcome = run_head_check(app)
    assert outcome["ok"] is False and outcome["broken_event_id"] == victim

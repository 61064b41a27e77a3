"""The data-breach register on PostgreSQL (GDPR art. 33, 34; R26).

The 72-hour clock in real hours across a weekend and a change of summer time; reminders to the
DPO at 24, 48 and 66 hours, each exactly once however often the task runs; a breach closed
without an AP notification keeps its reason (art. 33(5)); affected students are told once each,
in their own language; every change is on the audit trail; the register exports as CSV and PDF.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.breaches import services, subjects
from rights_portal.breaches.models import (
    Breach,
    BreachAffectedStudent,
    BreachReminder,
    BreachStatus,
    RiskLevel,
)
from rights_portal.clock import AMSTERDAM
from rights_portal.errors import RuleViolation
from rights_portal.extensions import db
from rights_portal.notifications.models import OutboxMessage
from rights_portal.transactions import commit
from tests.conftest import login, post_form
from tests.export_support import export_and_download
from tests.factories import ProctoringToolFactory, UserFactory
from workers.tasks import breach_reminders

pytestmark = pytest.mark.postgres

FRIDAY_23H = datetime(2026, 12, 4, 23, 0, tzinfo=AMSTERDAM)
MONDAY_23H = datetime(2026, 12, 7, 23, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def people(app_ctx):
    people = {
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "handler2": UserFactory(email="handler2@uni.example", role=Role.CASE_HANDLER),
        "admin": UserFactory(email="admin@uni.example", role=Role.ADMIN),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO, full_name="Anouk FG"),
        "student_nl": UserFactory(email="sanne@uni.example", locale="nl", student_number="s1001"),
        "student_en": UserFactory(email="tom@uni.example", locale="en", student_number="s1002"),
    }
    db.session.commit()
    return people


def client_for(app, email):
    client = app.test_client()
    login(client, email)
    return client


def new_breach(people, discovered_at=FRIDAY_23H, **kw) -> Breach:
    """A breach reported ten minutes after its discovery."""
    with time_machine.travel(discovered_at + timedelta(minutes=10), tick=False):
        breach = services.report_breach(
            reporter=people["handler"],
            description="A USB stick with exam recordings was lost on the train.",
            discovered_at=discovered_at,
            data_categories="webcam recordings",
            data_subjects="students of one exam",
            **kw,
        )
        commit()
    return breach


# --- The 72-hour clock ------------------------------------------------------------------------


def test_a_breach_found_at_23h_on_friday_must_be_notified_by_23h_on_monday(app, people, smtp_sink):
    with time_machine.travel(FRIDAY_23H + timedelta(minutes=20), tick=False):
        handler = client_for(app, "handler@uni.example")
        response = post_form(
            handler,
            "/staff/breaches/new",
            {
                "description": "A USB stick with exam recordings was lost on the train.",
                "discovered_on": "2026-12-04",
                "discovered_time": "23:00",
                "data_categories": "webcam recordings",
                "data_subjects": "students of one exam",
                "tool_id": "0",
            },
        )
    assert response.status_code == 302
    breach = db.session.scalars(select(Breach)).one()
    assert breach.discovered_at == datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    assert breach.ap_deadline == MONDAY_23H
    assert breach.ap_deadline.astimezone(AMSTERDAM).strftime("%A %H:%M") == "Monday 23:00"
    # The DPO hears of it at once, with the deadline in Amsterdam time.
    [mail] = smtp_sink.to("dpo@uni.example")
    assert breach.reference in str(mail["Subject"])
    assert "7 December 2026 at 23:00" in mail.get_payload(decode=True).decode()


def test_the_deadline_is_72_real_hours_across_the_end_of_summer_time(app_ctx, people):
    # Saturday 24 Oct 2026 12:00 CEST; the clocks go back on Sunday 25 Oct at 03:00.
    breach = new_breach(people, discovered_at=datetime(2026, 10, 24, 12, 0, tzinfo=AMSTERDAM))
    assert breach.ap_deadline - breach.discovered_at == timedelta(hours=72)
    assert breach.ap_deadline.astimezone(AMSTERDAM) == datetime(
        2026, 10, 27, 11, 0, tzinfo=AMSTERDAM
    )  # 11:00 in winter time: one wall-clock hour earlier, the same 72 real hours


def test_a_time_skipped_by_summer_time_is_refused_and_nothing_is_stored(app, people):
    with time_machine.travel(datetime(2026, 3, 30, 9, 0, tzinfo=AMSTERDAM), tick=False):
        handler = client_for(app, "handler@uni.example")
        response = post_form(
            handler,
            "/staff/breaches/new",
            {"description": "x", "discovered_on": "2026-03-29", "discovered_time": "02:30"},
        )
    assert response.status_code == 400
    assert "clocks moved forward" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Breach)) == 0


def test_a_discovery_in_the_future_is_refused(app, people):
    with time_machine.travel(FRIDAY_23H, tick=False):
        handler = client_for(app, "handler@uni.example")
        response = post_form(
            handler,
            "/staff/breaches/new",
            {"description": "x", "discovered_on": "2026-12-05", "discovered_time": "10:00"},
        )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Breach)) == 0


# --- Reminders at 24, 48 and 66 hours ---------------------------------------------------------


def reminder_subjects(sink):
    return [s for s in sink.subjects() if "Reminder" in s]


def run_task():
    """The beat task's body in this app (a shared task called directly would run in whichever
    app another test built last)."""
    return breach_reminders.run()


def run_twice_at(moment):
    with time_machine.travel(moment, tick=False):
        first = run_task()
        second = run_task()
    return first, second


def test_the_dpo_is_reminded_at_24_48_and_66_hours_each_exactly_once(app, people, smtp_sink):
    breach = new_breach(people)
    smtp_sink.clear()
    expected: list[str] = []
    for hours_after, sent in [
        (timedelta(hours=23, minutes=59), None),
        (timedelta(hours=24), 24),
        (timedelta(hours=30), None),
        (timedelta(hours=48, minutes=10), 48),
        (timedelta(hours=65), None),
        (timedelta(hours=66), 66),
        (timedelta(hours=71), None),
        (timedelta(hours=80), None),
    ]:
        run_twice_at(FRIDAY_23H + hours_after)
        if sent is not None:
            expected.append(
                f"Reminder: data breach {breach.reference}, {sent} hours since discovery"
            )
        assert reminder_subjects(smtp_sink) == expected, hours_after
    assert all(m["To"] == "dpo@uni.example" for m in smtp_sink.messages)
    rows = db.session.scalars(select(BreachReminder).order_by(BreachReminder.hours)).all()
    assert [(r.hours, r.superseded, r.outbox_message_id is not None) for r in rows] == [
        (24, False, True),
        (48, False, True),
        (66, False, True),
    ]
    # R24: each reminder is on the trail once, like its mail.
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "breach.reminder_sent")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.object_id, e.after["hours"]) for e in events] == [
        (str(breach.id), 24),
        (str(breach.id), 48),
        (str(breach.id), 66),
    ]


def test_the_reminder_task_runs_every_15_minutes_on_the_beat(app):
    from workers.schedule import beat_schedule

    entry = beat_schedule(app.config)["breach-reminders"]
    assert entry["task"] == "rights_portal.breach_reminders"
    assert entry["schedule"] == timedelta(minutes=15)
    assert "rights_portal.breach_reminders" in app.extensions["celery"].tasks


def test_a_late_run_records_missed_reminders_and_mails_only_the_latest(app, people, smtp_sink):
    breach = new_breach(people)
    smtp_sink.clear()
    run_twice_at(FRIDAY_23H + timedelta(hours=50))  # workers were down for two days
    assert reminder_subjects(smtp_sink) == [
        f"Reminder: data breach {breach.reference}, 48 hours since discovery"
    ]
    rows = db.session.scalars(select(BreachReminder).order_by(BreachReminder.hours)).all()
    assert [(r.hours, r.superseded) for r in rows] == [(24, True), (48, False)]
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "breach.reminder_sent")
    ).all()
    assert event.after["hours"] == 48 and event.after["missed"] == [24]


def test_no_reminders_once_the_ap_is_notified_or_the_risk_is_assessed_as_none(
    app, people, smtp_sink
):
    notified = new_breach(people)
    no_risk = new_breach(people)
    with time_machine.travel(FRIDAY_23H + timedelta(hours=2), tick=False):
        services.record_ap_notification(
            notified,
            actor=people["dpo"],
            notified_at=FRIDAY_23H + timedelta(hours=1),
            reference="AP-2026-1",
        )
        services.assess(
            no_risk, actor=people["dpo"], risk=RiskLevel.NO_RISK, assessment="Encrypted."
        )
        commit()
    smtp_sink.clear()
    run_twice_at(FRIDAY_23H + timedelta(hours=25))
    assert reminder_subjects(smtp_sink) == []


def test_two_schedulers_running_at_once_still_send_each_reminder_once(app, people, smtp_sink):
    new_breach(people)
    smtp_sink.clear()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with (
                app.app_context(),
                time_machine.travel(FRIDAY_23H + timedelta(hours=24, minutes=1)),
            ):
                barrier.wait()
                run_task()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(reminder_subjects(smtp_sink)) == 1


# --- Art. 33(5): a breach not notified keeps its reason -----------------------------------------


def assessed_breach(people, risk=RiskLevel.RISK) -> Breach:
    breach = new_breach(people)
    services.assess(breach, actor=people["dpo"], risk=risk, assessment="Unencrypted recordings.")
    commit()
    return breach


def test_closing_a_breach_not_notified_to_the_ap_requires_a_reason(app, people):
    breach = assessed_breach(people)
    with time_machine.travel(FRIDAY_23H + timedelta(days=5), tick=False):
        dpo = client_for(app, "dpo@uni.example")
        url = f"/staff/breaches/{breach.id}"
        response = post_form(dpo, f"{url}/close", {"not_notified_reason": "  "}, token_from=url)
        assert response.status_code == 400
        assert "record the reason" in response.get_data(as_text=True)
        db.session.refresh(breach)
        assert breach.status is BreachStatus.ASSESSED

        with pytest.raises(RuleViolation):
            services.close(breach, actor=people["dpo"])
        db.session.rollback()

        response = post_form(
            dpo,
            f"{url}/close",
            {"not_notified_reason": "The stick was found the same day, still sealed."},
            token_from=url,
        )
        assert response.status_code == 302
        db.session.refresh(breach)
        assert breach.status is BreachStatus.CLOSED
        assert breach.not_notified_reason == "The stick was found the same day, still sealed."
        # It stays in the register, with its reason, for the DPO and in the export.
        assert breach.reference in dpo.get("/staff/breaches").get_data(as_text=True)
        export = dpo.get("/staff/breaches/export.csv")
        exported = export.data.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert "breach.register_exported" in events_of(export)  # the file leaves the portal (R24)
    assert row["Reason for not notifying"] == "The stick was found the same day, still sealed."


def test_the_database_refuses_a_closed_unnotified_breach_without_a_reason(app_ctx, people):
    breach = assessed_breach(people)
    with pytest.raises(sa.exc.IntegrityError, match="not_notified_has_reason"):
        db.session.execute(
            sa.text(
                "UPDATE breaches SET status = 'closed', closed_at = now(), closed_by_id = :dpo"
                " WHERE id = :id"
            ),
            {"dpo": people["dpo"].id, "id": breach.id},
        )
        db.session.flush()
    db.session.rollback()


def test_a_notification_after_the_deadline_needs_the_reasons_for_the_delay(app, people):
    breach = assessed_breach(people)
    with time_machine.travel(MONDAY_23H + timedelta(hours=3), tick=False):
        dpo = client_for(app, "dpo@uni.example")
        url = f"/staff/breaches/{breach.id}"
        form = {"notified_on": "2026-12-08", "notified_time": "01:00", "ap_reference": "AP-77"}
        assert post_form(dpo, f"{url}/ap-notification", form, token_from=url).status_code == 400
        db.session.refresh(breach)
        assert breach.ap_notified_at is None
        form["lateness_reason"] = "The vendor told us only on Monday evening what was on it."
        assert post_form(dpo, f"{url}/ap-notification", form, token_from=url).status_code == 302
    db.session.refresh(breach)
    assert breach.ap_notified_at == datetime(2026, 12, 8, 1, 0, tzinfo=AMSTERDAM)
    assert breach.notified_late and breach.ap_reference == "AP-77"
    with pytest.raises(sa.exc.IntegrityError, match="late_notification_has_reason"):
        db.session.execute(sa.text("UPDATE breaches SET lateness_reason = NULL"))
        db.session.flush()
    db.session.rollback()


def test_a_high_risk_breach_closes_only_with_the_people_informed_or_a_reason(app_ctx, people):
    breach = assessed_breach(people, RiskLevel.HIGH_RISK)
    services.record_ap_notification(
        breach,
        actor=people["dpo"],
        notified_at=FRIDAY_23H + timedelta(hours=5),
        reference="AP-1",
        now=FRIDAY_23H + timedelta(hours=6),
    )
    with pytest.raises(RuleViolation, match="34"):
        services.close(breach, actor=people["dpo"])
    services.close(
        breach, actor=people["dpo"], subjects_not_informed_reason="Art. 34(3)(a): encrypted."
    )
    commit()
    assert breach.status is BreachStatus.CLOSED


# --- Affected students ----------------------------------------------------------------------


def test_affected_students_are_told_once_each_in_their_own_language(app, people, smtp_sink):
    breach = assessed_breach(people, RiskLevel.HIGH_RISK)
    dpo = client_for(app, "dpo@uni.example")
    url = f"/staff/breaches/{breach.id}"

    unknown = post_form(dpo, f"{url}/students", {"numbers": "s1001 s9999"}, token_from=url)
    assert unknown.status_code == 400
    assert "s9999" in unknown.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(BreachAffectedStudent)) == 0

    added = post_form(dpo, f"{url}/students", {"numbers": "s1001,\ns1002 s1001"}, token_from=url)
    assert added.status_code == 302
    notice = {
        "text_nl": "Een USB-stick met opnames van je tentamen is kwijtgeraakt.",
        "text_en": "A USB stick with recordings of your exam was lost.",
    }
    assert post_form(dpo, f"{url}/notice", notice, token_from=url).status_code == 302
    smtp_sink.clear()
    assert post_form(dpo, f"{url}/notify-students", {}, token_from=url).status_code == 302
    assert post_form(dpo, f"{url}/notify-students", {}, token_from=url).status_code == 302

    [to_sanne] = smtp_sink.to("sanne@uni.example")
    [to_tom] = smtp_sink.to("tom@uni.example")
    assert "Een USB-stick met opnames" in to_sanne.get_payload(decode=True).decode()
    assert "A USB stick with recordings" in to_tom.get_payload(decode=True).decode()
    assert str(to_tom["Subject"]) == "Important: something went wrong with your personal data"
    assert len(smtp_sink.messages) == 2
    db.session.refresh(breach)
    assert breach.subjects_informed_at is not None
    links = db.session.scalars(select(BreachAffectedStudent)).all()
    assert all(link.notified_at and link.outbox_message_id for link in links)


def test_an_english_reader_on_the_list_needs_the_english_text(app_ctx, people):
    breach = assessed_breach(people)
    subjects.add_affected_students(breach, actor=people["dpo"], numbers=["s1002"])
    subjects.write_subject_notice(breach, actor=people["dpo"], text_nl="Er ging iets mis.")
    # The message is lazy; read it in English whatever the compiled catalogues say.
    with force_locale("en"), pytest.raises(RuleViolation, match="English"):
        subjects.notify_affected_students(breach, actor=people["dpo"])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1  # DPO alert


# --- Links, permissions, audit and export -----------------------------------------------------


def test_staff_see_their_own_reports_and_only_the_dpo_manages_the_register(app, people):
    tool = ProctoringToolFactory(name="ProctorCam")
    db.session.commit()
    admin = client_for(app, "admin@uni.example")
    response = post_form(
        admin,
        "/staff/breaches/new",
        {
            "description": "Wrong recipients in a mailing.",
            "discovered_on": "2026-11-01",
            "discovered_time": "09:15",
            "tool_id": str(tool.id),
        },
    )
    assert response.status_code == 302
    breach = db.session.scalars(select(Breach)).one()
    assert breach.tool_id == tool.id
    url = f"/staff/breaches/{breach.id}"
    assert admin.get(url).status_code == 200
    assert (
        post_form(
            admin, f"{url}/assess", {"risk": "risk", "assessment": "x"}, token_from=url
        ).status_code
        == 403
    )
    other = client_for(app, "handler2@uni.example")
    assert other.get(url).status_code == 404
    assert breach.reference not in other.get("/staff/breaches").get_data(as_text=True)
    assert other.get("/staff/breaches/export.csv").status_code == 403
    student = client_for(app, "sanne@uni.example")
    assert student.get("/staff/breaches").status_code == 403
    assert student.get("/staff/breaches/new").status_code == 403
    dpo = client_for(app, "dpo@uni.example")
    assert breach.reference in dpo.get("/staff/breaches").get_data(as_text=True)


def test_every_change_to_a_breach_is_an_audit_event(app, people):
    from tests.test_dpo_dashboard import CaseFactory

    student = people["student_nl"]
    case = CaseFactory(
        subject_id=student.id,
        filed_by_id=student.id,
        received_on=datetime(2026, 11, 2).date(),
        statutory_due=datetime(2026, 12, 2).date(),
    )
    tool = ProctoringToolFactory()
    db.session.commit()
    breach = assessed_breach(people, RiskLevel.HIGH_RISK)
    dpo = people["dpo"]
    services.record_ap_notification(
        breach,
        actor=dpo,
        notified_at=FRIDAY_23H + timedelta(hours=2),
        reference="AP-9",
        now=FRIDAY_23H + timedelta(hours=3),
    )
    services.record_remedial_actions(breach, actor=dpo, text="Sticks are now encrypted.")
    services.set_tool(breach, actor=dpo, tool=tool)
    assert services.link_case(breach, actor=dpo, case=case) is True
    assert services.link_case(breach, actor=dpo, case=case) is False
    subjects.add_affected_students(breach, actor=dpo, numbers=["s1001"])
    subjects.write_subject_notice(breach, actor=dpo, text_nl="Er ging iets mis met je gegevens.")
    subjects.notify_affected_students(breach, actor=dpo)
    services.close(breach, actor=dpo)
    commit()
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "breach", AuditEvent.object_id == str(breach.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "breach.reported",
        "breach.assessed",
        "breach.ap_notified",
        "breach.remedial_actions",
        "breach.tool_set",
        "breach.case_linked",
        "breach.students_added",
        "breach.notice_written",
        "breach.subjects_informed",
        "breach.closed",
    ]
    with pytest.raises(RuleViolation):
        services.record_remedial_actions(breach, actor=dpo, text="changed afterwards")


def events_of(response) -> set[str]:
    """The actions recorded by the request that produced ``response``."""
    return set(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.request_id == response.headers["X-Request-ID"]
            )
        )
    )


def test_each_step_through_the_pages_records_its_event_with_that_request(app, people, smtp_sink):
    """R24: every POST of the register, and staff opening a breach, are on the trail."""
    from tests.test_dpo_dashboard import CaseFactory

    student = people["student_en"]
    case = CaseFactory(
        subject_id=student.id,
        filed_by_id=student.id,
        received_on=datetime(2026, 11, 2).date(),
        statutory_due=datetime(2026, 12, 2).date(),
    )
    tool = ProctoringToolFactory(name="ProctorCam")
    db.session.commit()
    with time_machine.travel(FRIDAY_23H + timedelta(hours=2), tick=True):
        handler = client_for(app, "handler@uni.example")
        reported = post_form(
            handler,
            "/staff/breaches/new",
            {
                "description": "A USB stick with exam recordings was lost on the train.",
                "discovered_on": "2026-12-04",
                "discovered_time": "23:00",
                "tool_id": "0",
            },
        )
        assert reported.status_code == 302
        assert "breach.reported" in events_of(reported)
        breach = db.session.scalars(select(Breach)).one()
        url = f"/staff/breaches/{breach.id}"
        # The reporter opening their own report is staff reading personal data too.
        assert "breach.viewed" in events_of(handler.get(url))
        dpo = client_for(app, "dpo@uni.example")
        opened = dpo.get(url)
        assert opened.status_code == 200 and "breach.viewed" in events_of(opened)
        steps = [
            ("assess", {"risk": "high_risk", "assessment": "Unencrypted."}, "breach.assessed"),
            (
                "ap-notification",
                {"notified_on": "2026-12-05", "notified_time": "00:30", "ap_reference": "AP-9"},
                "breach.ap_notified",
            ),
            (
                "remedial",
                {"remedial_actions": "Sticks are encrypted now."},
                "breach.remedial_actions",
            ),
            ("tool", {"tool_id": str(tool.id)}, "breach.tool_set"),
            ("cases", {"case_reference": case.reference}, "breach.case_linked"),
            ("students", {"numbers": "s1002"}, "breach.students_added"),
            (
                "notice",
                {"text_nl": "Er ging iets mis.", "text_en": "Something went wrong."},
                "breach.notice_written",
            ),
            ("notify-students", {}, "breach.subjects_informed"),
            ("close", {}, "breach.closed"),
        ]
        for path, data, action in steps:
            response = post_form(dpo, f"{url}/{path}", data, token_from=url)
            assert response.status_code == 302, (path, response.status_code)
            assert action in events_of(response), path
    db.session.expire_all()
    assert db.session.get(Breach, breach.id).status is BreachStatus.CLOSED


def test_the_accountability_report_is_a_pdf_with_the_statistics_and_the_register(app, people):
    breach = assessed_breach(people)
    services.close(breach, actor=people["dpo"], not_notified_reason="Found back, sealed.")
    commit()
    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=AMSTERDAM), tick=False):
        dpo = client_for(app, "dpo@uni.example")
        args = {"from": "2026-12-01", "to": "2026-12-31"}
        asked, response = export_and_download(dpo, "/staff/dpo/report.pdf", args)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        # R24: the report takes the register's free text out of the portal: who took it is
        # logged when it is asked for, and every download.
        assert "dpo.report_exported" in events_of(asked)
        assert "export.downloaded" in events_of(response)
        from rights_portal.dpo import report
        from rights_portal.dpo.queries import Filters

        with app.test_request_context():
            from flask_login import login_user

            login_user(people["dpo"])
            html = report.render_html(
                Filters(
                    start=datetime(2026, 12, 1).date(),
                    end=datetime(2026, 12, 31).date(),
                    programme_id=None,
                    today=datetime(2026, 12, 20).date(),
                )
            )
        for text in (
            "Accountability report",
            "Decided within the legal term, per month",
            breach.reference,
            "Found back, sealed.",
        ):
            assert text in html
        try:
            from pypdf import PdfReader
        except ImportError:
            pass
        else:
            pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
            assert breach.reference in pdf_text and "Found back, sealed." in pdf_text
        # Case handlers read the dashboard but not the register inside the report.
        handler = client_for(app, "handler@uni.example")
        assert handler.get("/staff/dpo/report.pdf", query_string=args).status_code == 403


def test_the_dpo_links_a_case_by_reference_and_the_page_has_unique_field_ids(app, people):
    import re

    from tests.test_dpo_dashboard import CaseFactory

    student = people["student_nl"]
    case = CaseFactory(
        subject_id=student.id,
        filed_by_id=student.id,
        received_on=datetime(2026, 11, 2).date(),
        statutory_due=datetime(2026, 12, 2).date(),
    )
    db.session.commit()
    breach = new_breach(people)
    dpo = client_for(app, "dpo@uni.example")
    url = f"/staff/breaches/{breach.id}"
    unknown = post_form(dpo, f"{url}/cases", {"case_reference": "RP-1999-000001"}, token_from=url)
    assert unknown.status_code == 400
    assert "There is no case with this reference." in unknown.get_data(as_text=True)
    linked = post_form(
        dpo, f"{url}/cases", {"case_reference": case.reference.lower()}, token_from=url
    )
    assert linked.status_code == 302
    page = dpo.get(url).get_data(as_text=True)
    assert f"/staff/cases/{case.reference}" in page
    ids = [i for i in re.findall(r'\sid="([^"]+)"', page) if i != "csrf_token"]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'for="ap_reference"' in page and 'for="case_reference"' in page

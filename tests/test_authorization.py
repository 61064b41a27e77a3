"""Every route, every role: the one permission layer answers 404, 403 or a login everywhere.

The walk iterates over ``app.url_map`` itself (only ``static`` is skipped) and looks each
endpoint up in ``EXPECTED``, an explicit table of what every role gets. A route that nobody
classified makes the test fail, so a new page cannot ship without someone deciding who may
open it. URL parameters are filled with real objects: a case of a student or of a guardian
(a student's own case, a guardian's case for their child, and a case whose guardian's link was
revoked since, a student's request for human review of an automated flag, and a student's
access request answered with a released package), the verified link of a
guardian, a real invitation token, the target programme's exam, that flag, a register tool with
its version 1, the answered access request's recording file, redacted copy and package, a
breach the case handler reported and a dashboard figure.

Outcomes: a case that is not yours is 404 (its existence is not revealed), an area your role
may not enter is 403, an anonymous visitor is sent to the login page, and nothing is ever a 500
(docs/rules.md#roles, R20-R22). POSTs carry a valid CSRF token, so a refusal is the permission
layer's and not the CSRF check's; their forms are empty, so an allowed POST changes nothing but is
answered with a form error (400), a rule refusal (409) or a redirect.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from rights_portal.access import lifecycle as access_lifecycle
from rights_portal.access.storage import recordings_storage
from rights_portal.accounts import registration
from rights_portal.accounts import services as accounts
from rights_portal.accounts.models import LinkStatus, Role, UserSession
from rights_portal.breaches import services as breaches
from rights_portal.cases import services as cases
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import CaseType
from rights_portal.exams.models import AutomatedFlag, FileKind, Recording, RecordingFile, ToolKind
from rights_portal.extensions import db
from rights_portal.identity import services as identity
from rights_portal.media.models import Redaction, RedactionStatus
from rights_portal.register import entries as register_entries
from tests.access_support import handled_access_case
from tests.conftest import login
from tests.factories import (
    ExamFactory,
    ProgrammeFactory,
    UserFactory,
    board_member,
    guardian_link,
)
from tests.media_support import make_image
from tests.test_register import complete_facts

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)

# --- outcomes --------------------------------------------------------------------------------

OK = "ok"  # the view was reached: 2xx, a redirect other than to login, or a form/rule error
LOGIN = "login"  # 302 to the login page
FORBIDDEN = 403
NOT_FOUND = 404
OWNER = "owner"  # OK for the role that filed the target case, 404 for every other requester
DECIDER = "decider"  # OK for the role that decides the target case's type, else 403
REVIEWER = "reviewer"  # OK for the board that reviews the target case's flag (R18), else 403
ACCESS_CASE = "access_case"  # OK on an access request, 403 on other case types (R11)
# OK on the access request that holds the walk's file, redacted copy and package; 404 on another
# access request (someone else's object), 403 on other case types.
ACCESS_OBJECT = "access_object"
# 404 on an access request (the walk has no object of this kind, e.g. no vendor connector), 403
# on other case types.
ACCESS_CASE_NO_OBJECT = "access_case_no_object"
PACKAGE_OWNER = "package_owner"  # OK for who filed the released package's case, else 404 (R14)
LOGGED_OUT = "logged_out"  # logging out ends on the login page too
UNAUTHENTICATED = 401  # the API: a session cookie is no bearer token, for every role

REQUESTERS = (
    "student",
    "other_student",
    "child",
    "guardian_linked",
    "guardian_unlinked",
    "guardian_pending",
    "guardian_revoked",
)
STAFF = ("case_handler", "exam_board", "exam_board_other", "dpo", "admin")
ROLES = ("anonymous", *REQUESTERS, *STAFF)


def expect(default: Any, **by_role: Any) -> dict[str, Any]:
    """Every role gets ``default`` unless named; anonymous visitors must log in unless named."""
    unknown = set(by_role) - set(ROLES)
    assert not unknown, unknown
    table = {role: default for role in ROLES}
    table["anonymous"] = LOGIN
    table.update(by_role)
    return table


def public() -> dict[str, Any]:
    return expect(OK, anonymous=OK)


def requesters(outcome: Any) -> dict[str, Any]:
    return dict.fromkeys(REQUESTERS, outcome)


def guardians(outcome: Any) -> dict[str, Any]:
    return {role: outcome for role in REQUESTERS if role.startswith("guardian")}


def students(outcome: Any) -> dict[str, Any]:
    return {role: outcome for role in REQUESTERS if not role.startswith("guardian")}


STAFF_CASE_VIEW = expect(
    FORBIDDEN, case_handler=OK, dpo=OK, exam_board=OK, exam_board_other=NOT_FOUND
)
STAFF_CASE_DECIDE = expect(
    FORBIDDEN, case_handler=DECIDER, exam_board=DECIDER, exam_board_other=NOT_FOUND
)
STAFF_IDENTITY = expect(FORBIDDEN, case_handler=OK, exam_board_other=NOT_FOUND)
OWN_CASE = expect(FORBIDDEN, **requesters(OWNER))
# A breach reported by the case handler: staff who did not report it get a 404.
BREACH_VIEW = expect(
    FORBIDDEN, **{**dict.fromkeys(STAFF, NOT_FOUND), "case_handler": OK, "dpo": OK}
)
BREACH_MANAGE = expect(
    FORBIDDEN, **{**dict.fromkeys(STAFF, NOT_FOUND), "case_handler": FORBIDDEN, "dpo": OK}
)

# Endpoint -> role -> outcome. Adding a route means adding a row here.
EXPECTED: dict[str, dict[str, Any]] = {
    "index": expect(OK),
    "web.healthz": public(),
    # The API answers bearer tokens only (tests/test_api.py walks its scopes); its document and
    # reference page are public.
    "api-docs.openapi_json": public(),
    "api_docs.reference": public(),
    "api_v1.Cases": expect(UNAUTHENTICATED, anonymous=UNAUTHENTICATED),
    "api_v1.OneCase": expect(UNAUTHENTICATED, anonymous=UNAUTHENTICATED),
    "api_v1.CaseMessages": expect(UNAUTHENTICATED, anonymous=UNAUTHENTICATED),
    "api_v1.CaseEvents": expect(UNAUTHENTICATED, anonymous=UNAUTHENTICATED),
    "api_v1.DpoFigures": expect(UNAUTHENTICATED, anonymous=UNAUTHENTICATED),
    "api_admin.api_clients": expect(FORBIDDEN, admin=OK),
    "api_admin.deactivate": expect(FORBIDDEN, admin=NOT_FOUND),
    "webhooks.endpoints": expect(FORBIDDEN, admin=OK),
    "webhooks.log": expect(FORBIDDEN, admin=NOT_FOUND),
    "webhooks.enable": expect(FORBIDDEN, admin=NOT_FOUND),
    # Without OOAPI_BASE_URL (as in the walk) "sync now" explains the settings and redirects.
    "ooapi.connector": expect(FORBIDDEN, admin=OK),
    "ooapi.sync_now": expect(FORBIDDEN, admin=OK),
    # Vendor connectors: the admin's pages (no connector exists in the walk: 404 for the admin),
    # the access handler's buttons on an access request, and Zoom's public, signed webhook.
    "vendors.connectors": expect(FORBIDDEN, admin=OK),
    "vendors.connector": expect(FORBIDDEN, admin=NOT_FOUND),
    "vendors.add_link": expect(FORBIDDEN, admin=NOT_FOUND),
    "vendors.check": expect(FORBIDDEN, admin=NOT_FOUND),
    "vendors.fetch_missing": expect(FORBIDDEN, case_handler=ACCESS_CASE),
    "vendors.request_files": expect(FORBIDDEN, case_handler=ACCESS_CASE_NO_OBJECT),
    "vendors.upload": expect(FORBIDDEN, case_handler=ACCESS_CASE_NO_OBJECT),
    "vendors.zoom_webhook": expect(NOT_FOUND, anonymous=NOT_FOUND),
    # Without OIDC_ISSUER (as in the walk) the institutional login does not exist: 404.
    "institution.start": expect(NOT_FOUND, anonymous=NOT_FOUND),
    "institution.callback": expect(NOT_FOUND, anonymous=NOT_FOUND),
    "institution.staff_links": expect(FORBIDDEN, admin=OK),
    "institution.pending_ages": expect(FORBIDDEN, case_handler=OK, admin=OK),
    "web.readyz": public(),
    "accounts.login": public(),
    "accounts.logout": expect(LOGGED_OUT),
    "accounts.set_language": public(),
    "accounts.register": public(),
    "accounts.invitation": public(),
    "accounts.forgot_password": public(),
    # The walk's token is an invitation token, so as a reset token it is invalid: 404 for all.
    "accounts.reset_password_page": expect(NOT_FOUND, anonymous=NOT_FOUND),
    # Likewise as an e-mail verification token.
    "accounts.verify_email_page": expect(NOT_FOUND, anonymous=NOT_FOUND),
    "accounts.unlock_login": expect(NOT_FOUND, anonymous=NOT_FOUND),
    # Without a password step first, the code step sends everyone back to the login page.
    "accounts.login_code": expect(LOGIN),
    "accounts.two_factor": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "accounts.disable_two_factor": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "accounts.regenerate_recovery_codes": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    # Everyone's own security page; "log out everywhere" re-issues the walker's own session.
    "accounts.account_security": expect(OK),
    "accounts.end_sessions": expect(OK),
    # The world's spare session of the student (another browser): only its owner ends it.
    "accounts.end_one_session_page": expect(NOT_FOUND, student=OK),
    "portal.my_cases": expect(FORBIDDEN, **requesters(OK)),
    # R20: the child under 16 gets a page explaining that a guardian files for them.
    "portal.file_request": expect(FORBIDDEN, student=OK, other_student=OK),
    "portal.case_detail": OWN_CASE,
    "portal.withdraw": OWN_CASE,
    "portal.answer_identity": OWN_CASE,
    "portal.children": expect(FORBIDDEN, **guardians(OK)),
    # The privacy notice of a proctored exam: students of its programme, guardians with a verified
    # link to such a student (R21), and every staff member; anyone else gets a 404.
    "portal.exam_privacy": expect(
        OK,
        guardian_unlinked=NOT_FOUND,
        guardian_pending=NOT_FOUND,
        guardian_revoked=NOT_FOUND,
    ),
    "portal.request_link": expect(FORBIDDEN, **guardians(OK)),
    # R21: only the guardian's own verified link; pending or someone else's is a 404.
    "portal.file_for_child": expect(
        FORBIDDEN,
        guardian_linked=OK,
        guardian_unlinked=NOT_FOUND,
        guardian_pending=NOT_FOUND,
        guardian_revoked=NOT_FOUND,
    ),
    "staff.queue": expect(FORBIDDEN, case_handler=OK, exam_board=OK, exam_board_other=OK, dpo=OK),
    "staff.case_detail": STAFF_CASE_VIEW,
    "staff.assign": STAFF_CASE_DECIDE,
    "staff.decide": STAFF_CASE_DECIDE,
    # Confirming fulfilment is for who decides the case (a type fulfilled by hand, registry).
    "staff.fulfil": STAFF_CASE_DECIDE,
    "staff.identity_doubt": STAFF_IDENTITY,
    "staff.identity_check": STAFF_IDENTITY,
    "staff.guardian_links": expect(FORBIDDEN, case_handler=OK, dpo=OK),
    "staff.guardian_link": expect(FORBIDDEN, case_handler=OK, dpo=OK),
    "staff.verify_link": expect(FORBIDDEN, case_handler=OK),
    "staff.reject_link": expect(FORBIDDEN, case_handler=OK),
    "staff.revoke_link": expect(FORBIDDEN, case_handler=OK),
    "staff.invite_guardian": expect(FORBIDDEN, case_handler=OK),
    "staff.admin_home": expect(FORBIDDEN, admin=OK),
    # Working on a case is for the handlers and the board that decides it; the DPO reads along
    # but does not write (docs/rules.md#roles), so messaging is theirs too, not the read-only DPO's.
    "staff.post_message": expect(
        FORBIDDEN, case_handler=OK, exam_board=OK, exam_board_other=NOT_FOUND
    ),
    "staff.ask": STAFF_CASE_DECIDE,
    "staff.extend": STAFF_CASE_DECIDE,
    "staff.mark_duplicate": STAFF_CASE_DECIDE,
    "portal.post_message": OWN_CASE,
    "portal.respond_alternative": OWN_CASE,  # R17: the requester answers the offer
    # The exam board's own pages (R16-R18): only the board of the case's or flag's programme.
    "examboard.workspace": expect(FORBIDDEN, exam_board=OK, exam_board_other=OK),
    "staff.sign_off": expect(FORBIDDEN, exam_board=DECIDER, exam_board_other=NOT_FOUND),
    "staff.assign_alternative": expect(FORBIDDEN, exam_board=DECIDER, exam_board_other=NOT_FOUND),
    "staff.review_flag_for_case": expect(
        FORBIDDEN, exam_board=REVIEWER, exam_board_other=NOT_FOUND
    ),
    "examboard.review_flag": expect(FORBIDDEN, exam_board=OK, exam_board_other=NOT_FOUND),
    # Who sits where at an alternative sitting: the exam's board and the handlers who arrange it.
    "examboard.invigilation_list": expect(
        FORBIDDEN, case_handler=OK, exam_board=OK, exam_board_other=NOT_FOUND
    ),
    # R17: late alternatives and their justification, for the DPO and (own programmes) the board.
    "examboard.late_alternatives": expect(FORBIDDEN, dpo=OK, exam_board=OK, exam_board_other=OK),
    # R24: the whole trail is the DPO's alone.
    "audit.trail": expect(FORBIDDEN, dpo=OK),
    "audit.export": expect(FORBIDDEN, dpo=OK),
    # Background exports (the trail's CSV, the report's PDF): the page and its status are for
    # whoever may ask for one; a download only for who asked (the walk has none: 404).
    "exports.list_exports": expect(FORBIDDEN, dpo=OK),
    "exports.status": expect(FORBIDDEN, dpo=OK),
    "exports.download": expect(FORBIDDEN, dpo=NOT_FOUND),
    # The register of tools: every staff member reads it; the admin and the DPO keep it.
    "register.index": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "register.tool_detail": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "register.tool_version": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "register.new_entry": expect(FORBIDDEN, admin=OK, dpo=OK),
    "register.edit_entry": expect(FORBIDDEN, admin=OK, dpo=OK),
    # R25: retention, deletions and legal holds are the DPO's.
    "retention.index": expect(FORBIDDEN, dpo=OK),
    "retention.place_hold": expect(FORBIDDEN, dpo=OK),
    "retention.release_hold": expect(FORBIDDEN, dpo=OK),
    # Exams and the tool they use are configuration: the admin's.
    "register.exams": expect(FORBIDDEN, admin=OK),
    "register.new_exam": expect(FORBIDDEN, admin=OK),
    "register.edit_exam": expect(FORBIDDEN, admin=OK),
    # Access requests (R11-R14, R24): the handlers work on them, the DPO reads along (opening is
    # audited); deciding items, building and releasing is the handler's; the download is the
    # filer's alone.
    "access.workspace": expect(FORBIDDEN, case_handler=ACCESS_CASE, dpo=ACCESS_CASE),
    "access.latest_package": expect(FORBIDDEN, case_handler=ACCESS_CASE, dpo=ACCESS_CASE),
    "access.open_file": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.open_redacted": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.package_page": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.preview_letter": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.staff_download": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.decide_item": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "access.build": expect(FORBIDDEN, case_handler=ACCESS_CASE),
    "access.release": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "access.retry_build": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "access.package_progress": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    "access.import_export": expect(FORBIDDEN, case_handler=OK),
    "access.download": expect(FORBIDDEN, **requesters(PACKAGE_OWNER)),
    "media.request_redaction": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "media.cancel": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "media.retry": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "media.confirm": expect(FORBIDDEN, case_handler=ACCESS_OBJECT),
    "media.faces": expect(FORBIDDEN, case_handler=ACCESS_OBJECT, dpo=ACCESS_OBJECT),
    # The DPO's dashboard (R26): the DPO and the privacy office (handlers) read the figures; the
    # accountability report carries the whole breach register, so it is the DPO's alone.
    "dpo.dashboard": expect(FORBIDDEN, dpo=OK, case_handler=OK),
    "dpo.export_csv": expect(FORBIDDEN, dpo=OK, case_handler=OK),
    "dpo.report_pdf": expect(FORBIDDEN, dpo=OK),
    # The breach register: anyone on staff reports (the 72 hours run from discovery) and sees
    # their own reports; the DPO sees and manages them all. The walk's breach is the handler's,
    # so for other staff it does not exist (404) and its reporter may read but not manage it.
    # R1: case handlers register requests received outside the portal. The walk's cases came
    # through the portal, so their document and letter are 404 (tests/test_intake.py opens them).
    "intake.register": expect(FORBIDDEN, case_handler=OK),
    "intake.document": expect(FORBIDDEN, case_handler=NOT_FOUND, dpo=NOT_FOUND),
    "intake.acknowledgement": expect(FORBIDDEN, case_handler=NOT_FOUND),
    # Requesters without an account (R1, R20-R22): none of the walk's cases has one, so even a
    # handler finds nothing there (tests/test_intake_external.py walks them).
    "intake.requester_identity": expect(FORBIDDEN, case_handler=NOT_FOUND),
    "intake.requester_link": expect(FORBIDDEN, case_handler=NOT_FOUND),
    "intake.requester_answer": expect(FORBIDDEN, case_handler=NOT_FOUND),
    "intake.letter": expect(FORBIDDEN, case_handler=NOT_FOUND),
    "breaches.register": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "breaches.report": expect(FORBIDDEN, **dict.fromkeys(STAFF, OK)),
    "breaches.export_csv": expect(FORBIDDEN, dpo=OK),
    "breaches.detail": BREACH_VIEW,
    **dict.fromkeys(
        (
            "breaches.assess",
            "breaches.ap_notification",
            "breaches.remedial",
            "breaches.tool",
            "breaches.link_case",
            "breaches.add_students",
            "breaches.notice",
            "breaches.notify_students",
            "breaches.close",
        ),
        BREACH_MANAGE,
    ),
}


@dataclass(frozen=True)
class Target:
    """The case whose reference fills ``<reference>``: who filed it and who decides it."""

    name: str
    owner: str | None
    decider: str
    reviewer: str | None = None  # who reviews the case's automated flag (R18), if it has one
    access: bool = False  # an access request (R11)
    holds_access_objects: bool = False  # the case of the walk's file, redacted copy and package


TARGETS = (
    Target("student_case", owner="student", decider="exam_board"),  # an objection
    # Access, for the child; its package is being built, so an empty build request is refused.
    Target("guardian_case", owner="guardian_linked", decider="case_handler", access=True),
    # Filed by a guardian whose link was revoked afterwards: no requester sees it any more (R21).
    Target("revoked_case", owner=None, decider="case_handler", access=True),
    # The student asks for human review of an automated flag: the board reviews it (R18).
    Target("review_case", owner="student", decider="exam_board", reviewer="exam_board"),
    # The student's access request, answered: a redacted file, a released package (R13, R14).
    Target(
        "delivered_case",
        owner="student",
        decider="case_handler",
        access=True,
        holds_access_objects=True,
    ),
)


def resolve(outcome: Any, role: str, target: Target) -> Any:
    if outcome == OWNER:
        return OK if role == target.owner else NOT_FOUND
    if outcome == DECIDER:
        return OK if role == target.decider else FORBIDDEN
    if outcome == REVIEWER:
        return OK if role == target.reviewer else FORBIDDEN
    if outcome == ACCESS_CASE:
        return OK if target.access else FORBIDDEN
    if outcome == ACCESS_CASE_NO_OBJECT:
        return NOT_FOUND if target.access else FORBIDDEN
    if outcome == ACCESS_OBJECT:
        if not target.access:
            return FORBIDDEN
        return OK if target.holds_access_objects else NOT_FOUND
    if outcome == PACKAGE_OWNER:
        return OK if role == target.owner and target.holds_access_objects else NOT_FOUND
    return outcome


# --- the world ---------------------------------------------------------------------------------


def finished_redaction(delivered: Any, folder: Path) -> Redaction:
    """A finished automatic redaction (R27) of a screenshot of the delivered case's student."""
    recording = delivered.file.recording
    stored = recordings_storage().put(io.BytesIO(make_image(folder / "screen.png").read_bytes()))
    file = RecordingFile(
        recording=recording,
        kind=FileKind.SCREENSHOT,
        filename="screen.png",
        media_type="image/png",
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )
    db.session.add(file)
    db.session.flush()
    track = {
        "id": 1,
        "start_s": 0.0,
        "end_s": 0.0,
        "best_frame": 0,
        "best_box": [60, 100, 240, 300],  # the requester's picture in tests/media_support.py
    }
    run = Redaction(
        case_id=delivered.case.id,
        file_id=file.id,
        status=RedactionStatus.DONE,
        progress=100,
        threshold=0.4,
        requested_by_id=delivered.decision.decided_by_id,
        finished_at=NOW,
        decision_id=delivered.decision.id,
        record={"tracks": [track], "requester_track": 1, "tracks_covered": []},
    )
    db.session.add(run)
    db.session.commit()
    return run


@pytest.fixture
def world(app_ctx, tmp_path):
    with time_machine.travel(NOW, tick=False):
        programme = ProgrammeFactory(code="PSY")
        other_programme = ProgrammeFactory(code="CS")
        exam = ExamFactory(programme=programme, starts_at=NOW + timedelta(days=21))
        handler = UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER)
        child = UserFactory(
            email="child@uni.example", programme_id=programme.id, date_of_birth=date(2012, 5, 1)
        )
        people = {
            "student": UserFactory(
                email="student@uni.example",
                programme_id=programme.id,
                date_of_birth=date(2004, 5, 1),
            ),
            "other_student": UserFactory(email="other@uni.example", programme_id=programme.id),
            "child": child,
            "guardian_linked": UserFactory(email="linked@home.example", role=Role.GUARDIAN),
            "guardian_unlinked": UserFactory(email="unlinked@home.example", role=Role.GUARDIAN),
            "guardian_pending": UserFactory(email="pending@home.example", role=Role.GUARDIAN),
            "guardian_revoked": UserFactory(email="revoked@home.example", role=Role.GUARDIAN),
            "case_handler": handler,
            "exam_board": board_member(programme, email="board@uni.example"),
            "exam_board_other": board_member(other_programme, email="board-cs@uni.example"),
            "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
            "admin": UserFactory(email="admin@uni.example", role=Role.ADMIN),
        }
        link = guardian_link(people["guardian_linked"], child, verifier=handler)
        guardian_link(people["guardian_pending"], child, status=LinkStatus.PENDING)
        revoked = guardian_link(people["guardian_revoked"], child, verifier=handler)

        student_case = cases.file_case(
            case_type=CaseType.OBJECTION,
            subject=people["student"],
            filed_by=people["student"],
            description="Being filmed at home is unbearable for me.",
            exam=exam,
        )
        cases.assign(student_case, people["exam_board"], actor=people["exam_board"])
        # A recording of the student's exam with an automated flag, and their request to have a
        # person review it (R18).
        recording = Recording(
            student_id=people["student"].id,
            exam_id=exam.id,
            recorded_at=NOW - timedelta(days=60),
            retention_until=date(2027, 3, 1),
        )
        flag = AutomatedFlag(code="gaze_away", description="Looked away for 14 seconds")
        recording.flags.append(flag)
        db.session.add(recording)
        db.session.flush()
        review_case = cases.file_case(
            case_type=CaseType.HUMAN_REVIEW,
            subject=people["student"],
            filed_by=people["student"],
            description="My cat walked over the keyboard.",
            exam=exam,
            flag_id=flag.id,
        )
        cases.assign(review_case, people["exam_board"], actor=people["exam_board"])
        guardian_case = cases.file_case(
            case_type=CaseType.ACCESS,
            subject=child,
            filed_by=people["guardian_linked"],
            description="All recordings of my child",
        )
        cases.assign(guardian_case, handler, actor=handler)
        access_lifecycle.request_build(guardian_case, actor=handler)
        revoked_case = cases.file_case(
            case_type=CaseType.ACCESS,
            subject=child,
            filed_by=people["guardian_revoked"],
            description="Everything",
        )
        cases.assign(revoked_case, handler, actor=handler)
        access_lifecycle.request_build(revoked_case, actor=handler)
        accounts.revoke_link(revoked, actor=handler, reason="Court decision: no authority.")
        for case in (
            student_case,
            guardian_case,
            revoked_case,
            review_case,
        ):  # the answer page has a form
            identity.raise_doubt(case, actor=handler, reason="The request came from a new device.")
        invitation = registration.invite_guardian(
            email="invited@home.example", full_name="Invited Parent", locale="en", actor=handler
        )
        tool = register_entries.create_entry(
            name="ProctorCam", kind=ToolKind.PROCTORING, facts=complete_facts(), actor=None
        )
        breach = breaches.report_breach(
            reporter=handler,
            description="A USB stick with exam recordings was lost on the train.",
            discovered_at=NOW - timedelta(hours=1),
        )
        db.session.commit()
        # Of an earlier exam than the objection's, whose recordings the objection restricts (R16).
        earlier_exam = ExamFactory(programme=programme, starts_at=NOW - timedelta(days=30))
        delivered = handled_access_case(
            student=people["student"], handler=handler, exam=earlier_exam
        )
        run = finished_redaction(delivered, tmp_path)
        # The student is also logged in on another browser (the walk's own login is separate).
        spare_session = UserSession(
            user_id=people["student"].id, token_hash="0" * 64, user_agent="Firefox/1"
        )
        db.session.add(spare_session)
        db.session.commit()
        return {
            "people": people,
            "params": {
                "student_case": student_case.reference,
                "guardian_case": guardian_case.reference,
                "revoked_case": revoked_case.reference,
                "review_case": review_case.reference,
                "delivered_case": delivered.case.reference,
                "file_id": delivered.file.id,
                "item_type": "file",
                "item_id": delivered.file.id,
                "decision_id": delivered.decision.id,
                "package_id": delivered.package.id,
                "run_id": run.id,
                "exam_id": exam.id,
                "flag_id": flag.id,
                "tool_id": tool.id,
                "number": 1,
                "link_id": link.id,
                "case_type": CaseType.OBJECTION.value,
                "token": registration.invitation_token(invitation),
                "breach_id": breach.id,
                "key": "open",  # a dashboard figure
                "session_id": spare_session.id,
                "letter_id": 1,  # no case of the walk has letters (intake.letter)
                "client_id": 999999,  # no API client exists in the walk (404 for the admin)
                "endpoint_id": 999999,  # no webhook endpoint exists in the walk
                "connector_id": 999999,  # no vendor connector exists in the walk
                "export_id": 999999,  # no export exists in the walk (tests/test_exports.py)
            },
        }


# --- the walk ------------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def session_for(app: Flask, world: dict[str, Any], role: str) -> tuple[FlaskClient, str]:
    """A client logged in as ``role`` (HTTP login) and its CSRF token."""
    client = app.test_client()
    if role != "anonymous":
        login(client, world["people"][role].email)
    page = client.get("/a-page-that-does-not-exist")  # every page carries the token
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the error page"
    return client, match.group(1)


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def verdict(response: Any, expected: Any) -> str | None:
    """None if ``response`` is what ``expected`` says, else what went wrong."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if expected in (LOGIN, LOGGED_OUT):
        return None if is_login_redirect(response) else f"expected login redirect, got {status}"
    if expected in (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED):
        return None if status == expected else f"expected {expected}, got {status}"
    assert expected == OK
    if status in (401, 403, 404, 405) or is_login_redirect(response):
        return f"expected access, got {status} {response.headers.get('Location', '')}"
    return None


def walk(app: Flask, world: dict[str, Any], role: str, targets: tuple[Target, ...]) -> list[str]:
    """Request every route with every method as ``role``, once per target; list what is wrong.

    Logging out comes last, so one login serves the whole walk.
    """
    client, token = session_for(app, world, role)
    adapter = app.url_map.bind("localhost")
    problems = []
    rules = sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
        key=lambda r: (r.endpoint == "accounts.logout", r.endpoint, r.rule),
    )
    for rule in rules:
        if rule.endpoint not in EXPECTED:
            problems.append(f"{rule.endpoint} ({rule.rule}) is not classified in EXPECTED")
            continue
        # A route without a case in its URL is the same for every target: walk it once.
        walked = targets if "reference" in rule.arguments else targets[:1]
        for target in walked:
            params = {**world["params"], "reference": world["params"][target.name]}
            expected = resolve(EXPECTED[rule.endpoint][role], role, target)
            url = adapter.build(rule.endpoint, {k: params[k] for k in rule.arguments})
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.open(url, method=method, data={"csrf_token": token})
                problem = verdict(response, expected)
                if problem:
                    problems.append(f"{method} {url} [{rule.endpoint}] as {role}: {problem}")
    return problems


def test_every_route_is_classified_for_every_role(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert endpoints - set(EXPECTED) == set(), "routes nobody classified"
    assert set(EXPECTED) - endpoints == set(), "classified routes that no longer exist"
    for endpoint, table in EXPECTED.items():
        assert set(table) == set(ROLES), endpoint


@pytest.mark.parametrize("role", ROLES)
def test_route_walk_gives_each_role_exactly_its_access(app, world, role):
    with time_machine.travel(NOW, tick=True):
        problems = walk(app, world, role, TARGETS)
    assert not problems, "\n".join(problems)


def test_the_walk_notices_an_unclassified_route(
    app, world, database_url, smtp_sink, make_other_app
):
    """A new route that nobody put in EXPECTED fails the walk (checked on a throwaway app)."""
    from tests.conftest import test_config

    other = make_other_app(test_config(database_url, smtp_sink))
    other.add_url_rule("/my/new-page/<reference>", "portal.new_page", lambda reference: "hi")
    with time_machine.travel(NOW, tick=True):
        problems = walk(other, world, "student", TARGETS[:1])
    assert problems == ["portal.new_page (/my/new-page/<reference>) is not classified in EXPECTED"]


# --- the clauses for lists ------------------------------------------------------------------------


def test_the_boards_list_clauses_hold_its_own_programmes_and_nothing_for_anyone_else(world):
    """The exam board's workspace and queue filter are clauses of the permission layer too."""
    from sqlalchemy import select

    from rights_portal.cases.models import Case
    from rights_portal.exams.models import Programme
    from rights_portal.permissions import (
        board_cases_clause,
        visible_cases_clause,
        visible_programmes_clause,
    )

    people, params = world["people"], world["params"]

    def references(user: Any, clause: Any) -> set[str]:
        return set(db.session.scalars(select(Case.reference).where(clause(user))))

    def programmes(user: Any) -> set[str]:
        query = select(Programme.code).where(visible_programmes_clause(user))
        return set(db.session.scalars(query))

    board, other_board = people["exam_board"], people["exam_board_other"]
    own = references(board, board_cases_clause)
    assert {params["student_case"], params["review_case"]} <= own
    assert own == references(board, visible_cases_clause)  # the workspace is what it may see
    assert references(other_board, board_cases_clause) == set()
    # The DPO sees every case, but the board's workspace is no list of theirs.
    assert references(people["dpo"], board_cases_clause) == set()
    assert references(people["dpo"], visible_cases_clause) >= own
    assert programmes(board) == {"PSY"}
    assert programmes(other_board) == {"CS"}
    assert {"PSY", "CS"} <= programmes(people["case_handler"])

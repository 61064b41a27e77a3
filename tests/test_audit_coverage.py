"""Complete coverage of the trail (R24): every state-changing route and task writes an event.

The registries below are the contract. Every POST (PUT, PATCH, DELETE) endpoint of the app must
appear in ``AUDITED_POST_ROUTES`` with the action(s) it records, and is performed here over HTTP;
the event must carry the request id of that very request. An endpoint whose domain tests already
perform and assert it may instead be listed in ``COVERED_ELSEWHERE`` with that test's node id.
Every task is either in ``AUDITED_TASKS`` (run here) or in ``TASKS_WITHOUT_EVENTS`` with the
reason it changes nothing worth recording. Every GET view that opens one object (a URL with a
variable part) is either in ``AUDITED_VIEWS`` or in ``UNAUDITED_VIEWS`` with a reason.

So a route, task or view added later without being registered fails
``test_every_…_is_registered``; one registered without an event fails the test that performs it.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from rights_portal.access import filing as access_filing
from rights_portal.access.storage import recordings_storage
from rights_portal.accounts.models import Role
from rights_portal.audit.models import AuditEvent
from rights_portal.breaches import services as breach_services
from rights_portal.cases import services
from rights_portal.cases.models import Case, CaseType, Channel, Outcome
from rights_portal.clock import now_utc, today_local
from rights_portal.exams.models import AutomatedFlag, FileKind, Recording, RecordingFile, ToolKind
from rights_portal.exports import services as export_services
from rights_portal.exports.models import ExportKind
from rights_portal.extensions import db
from rights_portal.intake import letters as intake_letters
from rights_portal.intake import requesters as intake_requesters
from rights_portal.intake import services as intake_services
from rights_portal.intake.models import AcknowledgeBy, RequesterRelation
from rights_portal.media import services as media_services
from rights_portal.media import worker as media_worker
from rights_portal.media.models import Redaction
from rights_portal.register import entries as register_entries
from rights_portal.retention import erasure
from rights_portal.transactions import commit
from tests.access_support import handled_access_case
from tests.conftest import login, post_form
from tests.factories import ExamFactory, ProgrammeFactory, UserFactory, board_member, guardian_link
from tests.media_support import make_image
from tests.test_register import complete_facts

pytestmark = pytest.mark.postgres

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# endpoint -> the action(s) it records (each one is asserted below)
AUDITED_POST_ROUTES: dict[str, tuple[str, ...]] = {
    "accounts.login": ("user.login", "user.login_failed"),
    "accounts.logout": ("user.logout",),
    "accounts.end_sessions": ("user.sessions_ended",),
    "accounts.set_language": ("user.locale_changed",),
    "portal.file_request": ("case.received",),
    "portal.withdraw": ("case.withdrawn",),
    "staff.assign": ("case.assigned",),
    "staff.decide": ("case.decided",),
}
BREACH_STEPS = (
    "tests/test_breaches.py::test_each_step_through_the_pages_records_its_event_with_that_request"
)
# endpoint -> (action, "tests/test_module.py::test_name" that performs it and asserts the event)
MEDIA_STEPS = (
    "tests/test_media_redaction.py::"
    "test_the_handler_redacts_confirms_cancels_and_retries_on_the_workspace"
)
COVERED_ELSEWHERE: dict[str, tuple[str, str]] = {
    "vendors.connectors": (
        "vendors.connector_created",
        "tests/test_vendors.py::test_an_admin_configures_a_connector_checks_it_and_links_an_exam",
    ),
    "vendors.connector": (
        "vendors.connector_changed",
        "tests/test_vendors.py::test_an_admin_configures_a_connector_checks_it_and_links_an_exam",
    ),
    "vendors.add_link": (
        "vendors.link_added",
        "tests/test_vendors.py::test_an_admin_configures_a_connector_checks_it_and_links_an_exam",
    ),
    "vendors.check": (
        "vendors.connection_checked",
        "tests/test_vendors.py::test_an_admin_configures_a_connector_checks_it_and_links_an_exam",
    ),
    "vendors.fetch_missing": (
        "vendors.fetch_queued",
        "tests/test_vendors.py::test_the_handler_sees_each_vendor_fetches_what_is_missing_and_the_package_holds_it",
    ),
    "vendors.request_files": (
        "vendors.request_sent",
        "tests/test_vendors.py::test_a_vendor_without_an_api_is_asked_reminded_once_and_its_files_uploaded",
    ),
    "vendors.upload": (
        "vendors.request_file_received",
        "tests/test_vendors.py::test_a_vendor_without_an_api_is_asked_reminded_once_and_its_files_uploaded",
    ),
    "vendors.zoom_webhook": (
        "vendors.webhook_received",
        "tests/test_vendors.py::test_recording_completed_queues_the_fetch_of_the_linked_meeting",
    ),
    "audit.export": (
        "audit.trail_exported",
        "tests/test_exports.py::test_the_dpo_asks_for_the_trail_as_csv_and_downloads_it_when_ready",
    ),
    "dpo.report_pdf": (
        "dpo.report_exported",
        "tests/test_exports.py::test_the_report_is_built_as_pdf_in_the_background",
    ),
    "api_v1.Cases": (
        "case.received",
        "tests/test_api.py::test_filing_through_the_api_records_channel_and_client_and_files_once",
    ),
    "api_v1.CaseMessages": (
        "case.message_posted",
        "tests/test_api.py::test_the_requester_message_goes_only_on_the_clients_own_case",
    ),
    "api_admin.api_clients": (
        "api.client_created",
        "tests/test_api.py::test_an_admin_makes_a_client_whose_token_is_shown_once_and_stored_hashed",
    ),
    "api_admin.deactivate": (
        "api.client_deactivated",
        "tests/test_api.py::test_an_admin_makes_a_client_whose_token_is_shown_once_and_stored_hashed",
    ),
    "webhooks.endpoints": (
        "webhook.endpoint_registered",
        "tests/test_webhooks.py::test_an_admin_registers_an_endpoint_and_sees_its_secret_once",
    ),
    "webhooks.enable": (
        "webhook.endpoint_enabled",
        "tests/test_webhooks.py::test_a_failing_endpoint_is_retried_then_disabled_with_a_notice_and_a_log",
    ),
    "ooapi.sync_now": (
        "ooapi.sync_requested",
        "tests/test_ooapi.py::test_the_admin_sees_the_connector_and_syncs_now_and_others_may_not",
    ),
    "institution.staff_links": (
        "user.institution_linked",
        "tests/test_institution_login.py::test_an_admin_links_a_staff_account_on_the_page_and_others_cannot",
    ),
    "institution.pending_ages": (
        "user.age_confirmed",
        "tests/test_institution_login.py::test_a_handler_confirms_a_students_age_on_the_page",
    ),
    "intake.register": (
        "case.registered",
        "tests/test_intake.py::test_a_handler_registers_a_letter_and_the_clock_runs_from_its_receipt",
    ),
    "intake.requester_identity": (
        "intake.requester_identity_checked",
        "tests/test_intake_external.py::test_the_decision_is_held_until_identity_and_authority_are_checked_then_e_mailed",
    ),
    "intake.requester_link": (
        "intake.requester_linked",
        "tests/test_intake_external.py::test_the_case_is_linked_to_the_parents_account_only_once_their_guardian_link_is_verified",
    ),
    "intake.requester_answer": (
        "intake.answer_recorded",
        "tests/test_intake_external.py::test_the_handler_enters_the_answer_given_by_letter_and_the_clock_runs_again",
    ),
    "media.request_redaction": ("media.redaction_requested", MEDIA_STEPS),
    "media.cancel": ("media.redaction_cancelled", MEDIA_STEPS),
    "media.retry": ("media.redaction_requested", MEDIA_STEPS),
    "media.confirm": ("media.requester_confirmed", MEDIA_STEPS),
    "accounts.forgot_password": (
        "user.password_reset_requested",
        "tests/test_auth_security.py::test_a_reset_link_is_mailed_only_to_a_known_address_and_the_answer_is_the_same",
    ),
    "accounts.reset_password_page": (
        "user.password_reset",
        "tests/test_auth_security.py::test_a_reset_link_works_once_and_the_old_password_stops_working",
    ),
    "accounts.login_code": (
        "user.login",
        "tests/test_auth_security.py::test_staff_enrol_a_second_factor_and_login_then_asks_for_a_code",
    ),
    "accounts.two_factor": (
        "user.totp_enrolled",
        "tests/test_auth_security.py::test_staff_enrol_a_second_factor_and_login_then_asks_for_a_code",
    ),
    "accounts.disable_two_factor": (
        "user.totp_disabled",
        "tests/test_auth_security.py::test_staff_can_turn_the_second_factor_off_with_a_current_code",
    ),
    "accounts.end_one_session_page": (
        "user.session_ended",
        "tests/test_auth_security.py::test_the_security_page_lists_open_sessions_and_ends_one_of_them",
    ),
    "accounts.regenerate_recovery_codes": (
        "user.recovery_codes_generated",
        "tests/test_auth_security.py::test_a_new_set_of_recovery_codes_replaces_the_old_one",
    ),
    "accounts.register": (
        "guardian.registered",
        "tests/test_guardians.py::test_a_verified_guardian_files_for_the_child_and_receives_the_answer",
    ),
    "portal.request_link": (
        "guardian_link.requested",
        "tests/test_guardians.py::test_a_verified_guardian_files_for_the_child_and_receives_the_answer",
    ),
    "staff.verify_link": (
        "guardian_link.verified",
        "tests/test_guardians.py::test_a_verified_guardian_files_for_the_child_and_receives_the_answer",
    ),
    "portal.file_for_child": (
        "case.received",
        "tests/test_guardians.py::test_a_verified_guardian_files_for_the_child_and_receives_the_answer",
    ),
    "staff.invite_guardian": (
        "guardian.invited",
        "tests/test_guardians.py::test_a_handler_invites_a_parent_who_sets_a_password_once",
    ),
    "accounts.invitation": (
        "guardian.invitation_accepted",
        "tests/test_guardians.py::test_a_handler_invites_a_parent_who_sets_a_password_once",
    ),
    "staff.reject_link": (
        "guardian_link.rejected",
        "tests/test_guardians.py::test_an_unverified_guardian_sees_nothing_and_is_told_what_happens_next",
    ),
    "staff.revoke_link": (
        "guardian_link.revoked",
        "tests/test_guardians.py::test_an_unverified_guardian_sees_nothing_and_is_told_what_happens_next",
    ),
    "staff.identity_doubt": (
        "identity.doubt_raised",
        "tests/test_identity.py::test_doubt_asks_the_requester_for_proof_and_the_check_returns_the_case_to_review",
    ),
    "portal.answer_identity": (
        "identity.answered",
        "tests/test_identity.py::test_doubt_asks_the_requester_for_proof_and_the_check_returns_the_case_to_review",
    ),
    "staff.identity_check": (
        "identity.checked",
        "tests/test_identity.py::test_doubt_asks_the_requester_for_proof_and_the_check_returns_the_case_to_review",
    ),
    "staff.post_message": (
        "case.message_posted",
        "tests/test_deadline_workflow.py::test_a_message_from_staff_reaches_the_requester_as_a_link_only",
    ),
    "portal.post_message": (
        "case.message_posted",
        "tests/test_deadline_workflow.py::test_a_message_from_the_requester_reaches_the_handler_as_a_link_only",
    ),
    "staff.ask": (
        "case.paused",
        "tests/test_deadline_workflow.py::test_a_prompt_question_pauses_the_clock_until_the_answer_and_moves_the_due_date",
    ),
    "staff.extend": (
        "case.extended",
        "tests/test_deadline_workflow.py::test_extension_by_two_months_moves_the_due_date_and_tells_the_requester_why",
    ),
    "staff.fulfil": (
        "case.fulfilled",
        "tests/test_case_registry.py::test_a_throwaway_type_registered_alone_is_filed_decided_and_fulfilled_over_http",
    ),
    "staff.mark_duplicate": (
        "case.marked_duplicate",
        "tests/test_deadline_workflow.py::test_a_duplicate_is_closed_with_a_notice_and_linked_to_the_original",
    ),
    "staff.assign_alternative": (
        "alternative.assigned",
        "tests/test_exam_board.py::test_the_student_accepts_the_alternative_or_asks_for_another_slot_with_a_reason",
    ),
    "portal.respond_alternative": (
        "alternative.accepted",
        "tests/test_exam_board.py::test_the_student_accepts_the_alternative_or_asks_for_another_slot_with_a_reason",
    ),
    "staff.sign_off": (
        "case.decision_signed_off",
        "tests/test_exam_board.py::test_a_board_that_requires_sign_off_needs_a_second_member",
    ),
    "examboard.review_flag": (
        "flag.reviewed",
        "tests/test_exam_board.py::test_a_flag_cannot_become_a_fraud_finding_without_a_named_review",
    ),
    "staff.review_flag_for_case": (
        "flag.reviewed",
        "tests/test_exam_board.py::test_the_students_view_is_in_the_file_before_the_human_review_decides",
    ),
    "register.new_entry": (
        "register.entry_created",
        "tests/test_register.py::test_the_admin_adds_a_tool_through_the_form",
    ),
    "register.edit_entry": (
        "register.version_created",
        "tests/test_register.py::test_the_dpo_records_a_change_through_the_form_and_the_history_shows_it",
    ),
    "register.new_exam": (
        "exam.tool_override",
        "tests/test_register.py::test_an_exam_cannot_use_a_tool_without_a_dpia_unless_the_dpo_overrides",
    ),
    "retention.place_hold": (
        "retention.hold_placed",
        "tests/test_retention.py::test_held_recordings_are_kept_and_listed_with_the_reason_until_the_hold_ends",
    ),
    "retention.release_hold": (
        "retention.hold_released",
        "tests/test_retention.py::test_held_recordings_are_kept_and_listed_with_the_reason_until_the_hold_ends",
    ),
    "register.edit_exam": (
        "exam.updated",
        "tests/test_register.py::test_an_exam_already_linked_keeps_its_tool_when_its_title_changes",
    ),
    "access.import_export": (
        "recordings.imported",
        "tests/test_access_import.py::test_a_handler_uploads_a_zip_larger_than_the_default_request_limit",
    ),
    "access.decide_item": (
        "access.item_decided",
        "tests/test_access_workspace.py::test_a_redaction_needs_the_redacted_copy_and_whom_it_protects",
    ),
    "access.build": (
        "package.build_requested",
        "tests/test_access_package.py::test_a_built_package_holds_the_media_the_data_and_the_letter",
    ),
    "access.retry_build": (
        "package.build_retried",
        "tests/test_ux_polish.py::test_a_stuck_build_shows_an_error_and_a_retry_that_is_audited",
    ),
    "access.release": (
        "package.released",
        "tests/test_access_package.py::test_releasing_decides_partly_granted_with_the_refusals_and_closes_the_case",
    ),
    "breaches.report": (
        "breach.reported",
        BREACH_STEPS,
    ),
    "breaches.assess": (
        "breach.assessed",
        BREACH_STEPS,
    ),
    "breaches.ap_notification": (
        "breach.ap_notified",
        BREACH_STEPS,
    ),
    "breaches.remedial": (
        "breach.remedial_actions",
        BREACH_STEPS,
    ),
    "breaches.tool": (
        "breach.tool_set",
        BREACH_STEPS,
    ),
    "breaches.link_case": (
        "breach.case_linked",
        BREACH_STEPS,
    ),
    "breaches.add_students": (
        "breach.students_added",
        BREACH_STEPS,
    ),
    "breaches.notice": (
        "breach.notice_written",
        BREACH_STEPS,
    ),
    "breaches.notify_students": (
        "breach.subjects_informed",
        BREACH_STEPS,
    ),
    "breaches.close": (
        "breach.closed",
        BREACH_STEPS,
    ),
}

# task name -> the action(s) a run records
AUDITED_TASKS: dict[str, tuple[str, ...]] = {
    "rights_portal.sweep_deadlines": ("case.reminder_sent", "case.escalated"),
    "rights_portal.verify_audit_trail": ("audit.verified",),
    "rights_portal.register_reminders": ("register.reminder_sent",),
    "rights_portal.build_access_package": ("package.built",),
    "rights_portal.access_package_housekeeping": ("package.expired",),
    # before the purge, which would otherwise complete the decision's intents itself
    "rights_portal.delete_decided_files": ("recording_file.deleted",),
    "rights_portal.retention_purge": ("retention.purged",),
    "rights_portal.breach_reminders": ("breach.reminder_sent",),
    "rights_portal.redact_recording": ("media.redacted", "access.item_decided"),
    "rights_portal.build_export": ("export.built",),
    "rights_portal.purge_exports": ("export.deleted",),
}
TASKS_WITHOUT_EVENTS: dict[str, str] = {
    "rights_portal.anchor_audit_head": (
        "every few minutes appends the head to the anchor log; an event each time would only move"
        " the head it anchors. A failed check records audit.verification_failed"
        " (tests/test_audit_trail.py::test_cutting_off_the_tail_is_found_by_the_next_head_check_"
        "within_minutes)"
    ),
    "rights_portal.deliver_email": (
        "hands one committed outbox message to SMTP; what caused the mail is on the trail"
        " already and the outbox row keeps when it was sent"
    ),
    "rights_portal.relay_outbox": "re-enqueues undelivered outbox messages; changes nothing",
    "rights_portal.deliver_webhook": (
        "sends one committed webhook delivery (ids and states only); what caused it is on the"
        " trail already, the delivery row keeps its attempts, and disabling a failing endpoint"
        " records webhook.endpoint_disabled (tests/test_webhooks.py)"
    ),
    "rights_portal.relay_webhooks": "re-enqueues webhook deliveries that are due; changes nothing",
    "rights_portal.ooapi_sync": (
        "a no-op without OOAPI_BASE_URL (as here); against a source it records each change"
        " (programme.created, exam.created, exam.updated, enrolment.recorded, …) or"
        " ooapi.sync_failed (tests/test_ooapi.py::"
        "test_the_admin_sees_the_connector_and_syncs_now_and_others_may_not)"
    ),
    "rights_portal.fetch_vendor_files": (
        "records vendors.file_fetched / vendors.fetch_failed per file (tests/test_vendors.py::"
        "test_the_handler_sees_each_vendor_fetches_what_is_missing_and_the_package_holds_it)"
    ),
    "rights_portal.fetch_zoom_meeting": (
        "records vendors.file_fetched per file (tests/test_vendors.py::"
        "test_recording_completed_queues_the_fetch_of_the_linked_meeting)"
    ),
    "rights_portal.vendor_request_reminders": (
        "records vendors.request_reminded per reminder (tests/test_vendors.py::"
        "test_a_vendor_without_an_api_is_asked_reminded_once_and_its_files_uploaded)"
    ),
}

# GET endpoint that opens one object -> the action it records
AUDITED_VIEWS: dict[str, str] = {
    "staff.case_detail": "case.viewed",
    "examboard.review_flag": "recording.material_viewed",
    "examboard.invigilation_list": "exam.alternatives_viewed",
    "staff.guardian_link": "guardian_link.viewed",
    "access.workspace": "access_workspace.opened",
    "access.open_file": "recording.opened",
    "access.open_redacted": "redacted_copy.opened",
    "access.package_page": "package_page.opened",
    "access.preview_letter": "package_letter.opened",
    "access.staff_download": "package.opened",
    "access.download": "package.downloaded",
    "breaches.detail": "breach.viewed",  # lists the affected students and their notices
    "intake.document": "intake.document_opened",
    "intake.acknowledgement": "intake.acknowledgement_printed",
    "intake.letter": "intake.letter_printed",  # a letter to a requester without an account
    "media.faces": "media_faces.opened",  # the faces found in a recording (R27)
    "exports.download": "export.downloaded",  # R24: the trail or the report leaves the portal
}
UNAUDITED_VIEWS: dict[str, str] = {
    "api_v1.OneCase": (
        "an API call with a bearer token, no session: records api.case_read (asserted in"
        " tests/test_api.py::test_filing_through_the_api_records_channel_and_client_and_files_once)"
    ),
    "api_v1.CaseEvents": (
        "an API call with a bearer token: records api.case_read (tests/test_api.py::"
        "test_the_staff_list_pages_by_keyset_and_filters)"
    ),
    "vendors.connector": (
        "a connector's settings, links and counts for the admin; secrets are never shown; saving"
        " records vendors.connector_changed"
    ),
    "webhooks.log": "an endpoint's delivery log: event types, ids and states, no personal data",
    "static": "stylesheets and images",
    "portal.file_request": "an empty form for the logged-in student; shows no one's data",
    "portal.case_detail": "the requester reading their own case; no staff access to record",
    "accounts.invitation": "the invited parent's own password form; shows no one else's data",
    "accounts.reset_password_page": "the account holder's own new-password form; no one's data",
    "accounts.verify_email_page": "a registration's own e-mailed link; records user.email_verified",
    "accounts.unlock_login": (
        "the owner's e-mailed unlock link; records user.login_unlocked (tests/test_auth_security.py"
        "::test_wrong_passwords_slow_down_then_lock_and_the_owner_lifts_the_lock_by_email)"
    ),
    "portal.answer_identity": "the requester answering about their own case",
    "intake.requester_identity": (
        "the handler's form to record an identity check; shows only the requester's name and"
        " records intake.requester_identity_checked on POST"
    ),
    "intake.requester_link": (
        "the handler's form to link a case to an account; shows only the requester's name and"
        " records intake.requester_linked on POST"
    ),
    "intake.requester_answer": (
        "the handler's form to enter a requester's answer; shows only the requester's name and"
        " records intake.answer_recorded on POST"
    ),
    "portal.file_for_child": "a verified guardian's filing form for their own child",
    "staff.identity_doubt": "a form on a case whose opening staff.case_detail records",
    "staff.identity_check": "a form on a case whose opening staff.case_detail records",
    "register.tool_detail": "the register of a tool: institutional facts, no personal data",
    "register.tool_version": "an old version of a tool's register entry: no personal data",
    "register.edit_entry": "the edit form of a tool's register entry: no personal data",
    "register.edit_exam": "the edit form of an exam: no personal data",
    "access.latest_package": "a redirect to access.package_page, which records the opening",
    "access.package_progress": (
        "a build's state and percentage for the package page's script: no contents, like the"
        " package page while building, which is not recorded either"
    ),
    "dpo.export_csv": (
        "one dashboard figure's table as CSV: counts per type, month or programme, and for"
        " overdue cases their references and handlers, exactly what the (unlogged) dashboard"
        " page shows; no student's data"
    ),
    "portal.exam_privacy": (
        "an exam's privacy notice: the tool's institutional facts, no personal data (a tool "
        "that predates the register is adopted with register.entry_adopted, asserted in "
        "tests/test_privacy_notice.py)"
    ),
}


def state_changing_endpoints(app: Flask) -> set[str]:
    return {
        rule.endpoint for rule in app.url_map.iter_rules() if STATE_CHANGING & set(rule.methods)
    }


def object_views(app: Flask) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.arguments
    }


def app_tasks(app: Flask) -> set[str]:
    return {name for name in app.extensions["celery"].tasks if name.startswith("rights_portal.")}


# --- the registries are complete -------------------------------------------------------------


def test_every_state_changing_route_is_registered_with_the_event_it_writes(app):
    endpoints = state_changing_endpoints(app)
    registered = set(AUDITED_POST_ROUTES) | set(COVERED_ELSEWHERE)
    unknown = endpoints - registered
    assert not unknown, (
        f"POST routes without an audit mapping: {sorted(unknown)}. Make each record an audit"
        " event (rights_portal.audit.services.record) and register it in AUDITED_POST_ROUTES"
        " with a performer below, or in COVERED_ELSEWHERE with the test that asserts it."
    )
    assert not registered - endpoints, f"stale entries: {sorted(registered - endpoints)}"
    assert not set(AUDITED_POST_ROUTES) & set(COVERED_ELSEWHERE)


def test_routes_covered_elsewhere_name_an_existing_test():
    for endpoint, (action, node) in COVERED_ELSEWHERE.items():
        path, _, name = node.partition("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{endpoint}: no test {node}"
        assert action, endpoint


def test_every_task_is_registered_as_audited_or_with_a_reason_it_writes_nothing(app):
    tasks = app_tasks(app)
    registered = set(AUDITED_TASKS) | set(TASKS_WITHOUT_EVENTS)
    assert not tasks - registered, (
        f"tasks without an audit mapping: {sorted(tasks - registered)}: register them in"
        " AUDITED_TASKS (and make them record an event) or in TASKS_WITHOUT_EVENTS with a reason"
    )
    assert not registered - tasks, f"stale entries: {sorted(registered - tasks)}"
    assert all(reason.strip() for reason in TASKS_WITHOUT_EVENTS.values())


def test_every_view_that_opens_an_object_is_audited_or_has_a_reason_not_to_be(app):
    views = object_views(app)
    registered = set(AUDITED_VIEWS) | set(UNAUDITED_VIEWS)
    assert not views - registered, (
        f"views opening an object without an audit decision: {sorted(views - registered)}:"
        " staff opening a case, recording or package must record it (R24); register the view"
        " in AUDITED_VIEWS, or in UNAUDITED_VIEWS with the reason it shows nothing to record"
    )
    assert not registered - views, f"stale entries: {sorted(registered - views)}"


# --- and each registered route, task and view really writes its event ----------------------


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory()
    people = {
        "exam": ExamFactory(programme=programme),
        "student": UserFactory(email="sanne@uni.example", programme_id=programme.id, locale="en"),
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(programme, email="board@uni.example"),
        "dpo": UserFactory(email="dpo@uni.example", role=Role.DPO),
    }
    db.session.commit()
    return people


def trail_export(dpo: Any) -> Any:
    """A queued export of the audit trail asked for by ``dpo`` (committed)."""
    export = export_services.request_export(
        ExportKind.AUDIT_TRAIL,
        {},
        actor=dpo,
        filename="audit-trail.csv",
        media_type="text/csv",
        locale="en",
    )
    commit()
    return export


def events_of(response: Any) -> set[str]:
    """The actions recorded by the request that produced ``response``."""
    request_id = response.headers["X-Request-ID"]
    return set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request_id))
    )


def test_each_state_changing_route_writes_its_audit_event(app, world):
    performed: dict[str, set[str]] = {}

    def perform(endpoint: str, response: Any, expected_status: int = 302) -> None:
        assert response.status_code == expected_status, (endpoint, response.status_code)
        performed.setdefault(endpoint, set()).update(events_of(response))

    student, handler, board = app.test_client(), app.test_client(), app.test_client()
    perform(
        "accounts.login",
        post_form(student, "/login", {"email": "sanne@uni.example", "password": "wrong-pass"}),
        401,
    )
    perform("accounts.login", login(student, "sanne@uni.example"))
    perform(
        "accounts.set_language",
        post_form(
            student, "/language", {"language": "nl", "next": "/my/cases"}, token_from="/my/cases"
        ),
    )
    perform(
        "portal.file_request",
        post_form(
            student,
            "/my/cases/new/objection",
            {"exam_id": world["exam"].id, "description": "Being filmed at home is unbearable."},
        ),
    )
    perform(
        "portal.file_request",
        post_form(student, "/my/cases/new/access", {"description": "All my recordings."}),
    )
    objection, access = db.session.scalars(select(Case).order_by(Case.id)).all()
    perform(
        "portal.withdraw",
        post_form(
            student,
            f"/my/cases/{access.reference}/withdraw",
            {},
            token_from=f"/my/cases/{access.reference}",
        ),
    )
    login(board, "board@uni.example")
    case_url = f"/staff/cases/{objection.reference}"
    perform(
        "staff.assign",
        post_form(
            board, f"{case_url}/assign", {"assignee_id": world["board"].id}, token_from=case_url
        ),
    )
    perform(
        "staff.decide",
        post_form(
            board,
            f"{case_url}/decide",
            {"outcome": "granted", "reasons": "You take the exam on campus."},
            token_from=case_url,
        ),
    )
    perform(
        "accounts.end_sessions",
        post_form(student, "/account/sessions/end", {}, token_from="/account/security"),
    )
    perform("accounts.logout", post_form(student, "/logout", {}, token_from="/my/cases"))
    login(handler, "handler@uni.example")  # keeps the fixture's users in use

    assert set(performed) == set(AUDITED_POST_ROUTES), "register a performer for every route"
    for endpoint, actions in AUDITED_POST_ROUTES.items():
        missing = set(actions) - performed[endpoint]
        assert not missing, f"{endpoint} did not record {sorted(missing)}"


def queued_redaction(world: dict[str, Any], folder: Path) -> int:
    """A screenshot with two faces of another student's access case, queued for redaction."""
    student = UserFactory(programme_id=world["student"].programme_id)
    image = make_image(folder / "screen.png").read_bytes()
    recording = Recording(
        student_id=student.id,
        exam_id=world["exam"].id,
        recorded_at=now_utc(),
        retention_until=today_local() + timedelta(days=90),
    )
    stored = recordings_storage().put(io.BytesIO(image))
    file = RecordingFile(
        recording=recording,
        kind=FileKind.SCREENSHOT,
        filename="screen.png",
        media_type="image/png",
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )
    db.session.add_all([recording, file])
    db.session.flush()
    case = access_filing.file_access_request(
        subject=student, filed_by=student, description="", all_data=True
    )
    services.assign(case, world["handler"], actor=world["handler"])
    run = media_services.request_redaction(case, file.id, actor=world["handler"])
    commit()
    return run.id


def granted_erasure(world: dict[str, Any]) -> Case:
    """A granted erasure request whose deletion intents wait for their task (R25)."""
    student = UserFactory(programme_id=world["student"].programme_id)
    stored = recordings_storage().put(io.BytesIO(b"a recording to erase" * 20))
    recording = Recording(
        student_id=student.id,
        exam_id=world["exam"].id,
        recorded_at=now_utc(),
        retention_until=today_local() + timedelta(days=90),
    )
    recording.files.append(
        RecordingFile(
            kind=FileKind.VIDEO,
            filename="video.webm",
            media_type="video/webm",
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
    )
    db.session.add(recording)
    case = erasure.file_erasure_request(
        subject=student, filed_by=student, description="", recordings=[recording]
    )
    services.assign(case, world["handler"], actor=world["handler"])
    erasure.decide_erasure(
        case, actor=world["handler"], outcome=Outcome.GRANTED, reasons="Erased as asked."
    )
    commit()
    return case


def test_each_audited_task_writes_its_audit_event(app, world, smtp_sink, tmp_path):
    student = world["student"]
    case = services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    case.effective_due = today_local() - timedelta(days=1)  # overdue: reminded and escalated
    today = today_local()  # a tool whose DPIA review is due in 30 days: the DPO is reminded
    register_entries.create_entry(
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
    # a breach found 25 hours ago, not yet notified to the AP: the DPO is reminded (R26)
    breach_services.report_breach(
        reporter=world["handler"],
        description="A USB stick with exam recordings was lost.",
        discovered_at=now_utc() - timedelta(hours=25),
    )
    commit()
    # A queued package for the builder, and a released one whose link has expired (R14).
    queued = handled_access_case(
        student=student, handler=world["handler"], exam=world["exam"], until="queued"
    ).package
    released = handled_access_case(
        student=UserFactory(programme_id=student.programme_id),
        handler=world["handler"],
        exam=world["exam"],
    ).package
    released.expires_at = now_utc() - timedelta(minutes=1)
    commit()
    tasks = app.extensions["celery"].tasks
    runners: dict[str, Callable[[], Any]] = {name: tasks[name].apply for name in AUDITED_TASKS}
    runners["rights_portal.build_access_package"] = lambda: tasks[
        "rights_portal.build_access_package"
    ].apply(args=(queued.id,))
    erased = granted_erasure(world)
    runners["rights_portal.delete_decided_files"] = lambda: tasks[
        "rights_portal.delete_decided_files"
    ].apply(args=(erased.id,))
    redaction = queued_redaction(world, tmp_path)
    runners["rights_portal.redact_recording"] = lambda: tasks[
        "rights_portal.redact_recording"
    ].apply(args=(redaction,))
    queued_export = trail_export(world["dpo"])
    expired_export = trail_export(world["dpo"])
    export_services.build(expired_export.id)
    expired_export.expires_at = now_utc() - timedelta(minutes=1)
    commit()
    runners["rights_portal.build_export"] = lambda: tasks["rights_portal.build_export"].apply(
        args=(queued_export.id,)
    )
    for name, actions in AUDITED_TASKS.items():
        before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        runners[name]().get()
        db.session.expire_all()
        written = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > (before or 0)))
        )
        assert set(actions) <= written, f"{name} did not record {sorted(set(actions) - written)}"


def test_each_audited_view_writes_its_audit_event(app, world, tmp_path):
    student = world["student"]
    case = services.file_case(
        case_type=CaseType.ACCESS, subject=student, filed_by=student, description=""
    )
    commit()
    recording = Recording(
        student_id=student.id,
        exam_id=world["exam"].id,
        recorded_at=now_utc(),
        retention_until=today_local() + timedelta(days=90),
    )
    recording.flags.append(AutomatedFlag(code="gaze_away", description="Looked away"))
    db.session.add(recording)
    link = guardian_link(UserFactory(role=Role.GUARDIAN, student_number=None), student)
    breach = breach_services.report_breach(
        reporter=world["handler"],
        description="A USB stick with exam recordings was lost.",
        discovered_at=now_utc() - timedelta(hours=1),
    )
    commit()
    access = handled_access_case(student=student, handler=world["handler"], exam=world["exam"])
    intake = intake_services.register_request(
        actor=world["handler"],
        channel=Channel.LETTER,
        received_on=today_local(),
        case_type=CaseType.ACCESS,
        description="a letter",
        student=student,
        document=intake_services.Upload(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "letter.pdf"),
        acknowledge_by=AcknowledgeBy.POST,
        postal_address="Dorpsstraat 1",
    )
    commit()
    external = intake_services.register_request(
        actor=world["handler"],
        channel=Channel.PHONE,
        received_on=today_local(),
        case_type=CaseType.ACCESS,
        description="a call from a former student",
        student=student,
        document=None,
        acknowledge_by=AcknowledgeBy.POST,
        postal_address="Dorpsstraat 2",
        external=intake_requesters.ExternalDetails(
            full_name="Sanne de Vries", relation=RequesterRelation.SELF
        ),
    )
    commit()
    [letter] = intake_letters.letters_of(external.case)
    dpo = app.test_client()
    login(dpo, "dpo@uni.example")
    handler = app.test_client()
    login(handler, "handler@uni.example")
    board = app.test_client()
    login(board, "board@uni.example")
    requester = app.test_client()
    login(requester, "sanne@uni.example")
    workspace = f"/staff/cases/{access.case.reference}/access"
    package = f"{workspace}/packages/{access.package.id}"
    redaction = queued_redaction(world, tmp_path)
    media_worker.run(redaction)
    commit()
    run = db.session.get(Redaction, redaction)
    faces = f"/staff/cases/{run.case.reference}/access/redactions/{run.id}/faces.jpg"
    ready_export = trail_export(world["dpo"])
    export_services.build(ready_export.id)
    commit()
    urls = {
        "staff.case_detail": (handler, f"/staff/cases/{case.reference}"),
        "examboard.review_flag": (board, f"/staff/flags/{recording.flags[0].id}"),
        "examboard.invigilation_list": (board, f"/staff/exams/{world['exam'].id}/alternatives"),
        "staff.guardian_link": (handler, f"/staff/guardians/{link.id}"),
        "access.workspace": (handler, workspace),
        "access.open_file": (handler, f"{workspace}/files/{access.file.id}"),
        "access.open_redacted": (handler, f"{workspace}/redacted/{access.decision.id}"),
        "access.package_page": (handler, package),
        "access.preview_letter": (handler, f"{package}/letter"),
        "access.staff_download": (handler, f"{package}/zip"),
        "access.download": (
            requester,
            f"/my/cases/{access.case.reference}/package/{access.package.id}",
        ),
        "breaches.detail": (dpo, f"/staff/breaches/{breach.id}"),
        "intake.document": (handler, f"/staff/intake/{intake.case.reference}/document"),
        "intake.acknowledgement": (
            handler,
            f"/staff/intake/{intake.case.reference}/acknowledgement.pdf",
        ),
        "intake.letter": (
            handler,
            f"/staff/intake/{external.case.reference}/letters/{letter.id}.pdf",
        ),
        "media.faces": (handler, faces),
        "exports.download": (dpo, f"/staff/exports/{ready_export.id}/download"),
    }
    assert set(urls) == set(AUDITED_VIEWS), "register a URL for every audited view"
    for endpoint, action in AUDITED_VIEWS.items():
        client, url = urls[endpoint]
        response = client.get(url)
        assert response.status_code == 200
        assert action in events_of(response), endpoint

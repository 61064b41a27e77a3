"""Readable, translated names for the codes the portal stores: audit actions and flag kinds.

Audit actions (``case.viewed``) and the vendors' flag codes (``gaze_away``) are stored as codes;
people never see them. This module is the one place that names them in words, for the case
timeline, the audit trail and every page, letter and mail that shows one. The names of
enumerations (statuses, channels, recording kinds) stay beside their domain in its
``labels.py``; :data:`ENUM_LABEL_TABLES` lists those tables so a test can check that every value
of every enumeration has a name in both languages.

A code without a name here is a bug (``tests/test_labels.py`` finds it in the source); until it
is fixed, pages show a neutral phrase rather than the code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

AUDIT_ACTION_LABELS: dict[str, LazyString] = {
    "access.item_decided": _l("Choice made for an item of the access request"),
    "access.scope_recorded": _l("Scope of the access request recorded"),
    "access_workspace.opened": _l("Access workspace opened"),
    "alternative.accepted": _l("Alternative exam accepted"),
    "alternative.assigned": _l("Alternative exam offered"),
    "alternative.other_slot_requested": _l("Another moment asked for the alternative exam"),
    "audit.trail_exported": _l("Audit trail exported"),
    "audit.trail_viewed": _l("Audit trail viewed"),
    "audit.verification_failed": _l("Check of the audit trail failed"),
    "audit.verified": _l("Audit trail checked"),
    "breach.ap_notified": _l("Data breach reported to the Dutch DPA"),
    "breach.assessed": _l("Risk of the data breach assessed"),
    "breach.case_linked": _l("Request linked to the data breach"),
    "breach.closed": _l("Data breach closed"),
    "breach.notice_written": _l("Notice to the people concerned written"),
    "breach.register_exported": _l("Data breach register exported"),
    "breach.remedial_actions": _l("Measures against the data breach recorded"),
    "breach.reminder_sent": _l("Reminder about the data breach sent"),
    "breach.reported": _l("Data breach reported"),
    "breach.students_added": _l("Students concerned added to the data breach"),
    "breach.subjects_informed": _l("People concerned informed of the data breach"),
    "breach.tool_set": _l("Tool of the data breach recorded"),
    "breach.viewed": _l("Data breach viewed"),
    "case.assigned": _l("Request assigned"),
    "case.decided": _l("Decision taken"),
    "case.decision_proposed": _l("Decision proposed"),
    "case.decision_signed_off": _l("Decision approved"),
    "case.due_date_changed": _l("Due date changed"),
    "case.escalated": _l("Escalated to the data protection officer"),
    "case.extended": _l("Term extended"),
    "case.fulfilled": _l("Request carried out"),
    "case.marked_duplicate": _l("Handled together with another request"),
    "case.message_posted": _l("Message sent"),
    "case.paused": _l("Term paused"),
    "case.received": _l("Request received"),
    "case.registered": _l("Request registered by staff"),
    "case.reminder_sent": _l("Reminder sent"),
    "case.resumed": _l("Term resumed"),
    "case.viewed": _l("Request viewed"),
    "case.withdrawn": _l("Request withdrawn"),
    "dpo.report_exported": _l("Oversight report exported"),
    "erasure.requested": _l("Erasure asked for"),
    "erasure.scheduled": _l("Erasure scheduled"),
    "erasure.vendor_notified": _l("Supplier told to erase"),
    "erasure.vendor_without_address": _l("Supplier could not be told: no address known"),
    "exam.alternatives_viewed": _l("Alternative exams viewed"),
    "exam.created": _l("Exam added"),
    "exam.tool_override": _l("Tool used although it is not ready"),
    "exam.updated": _l("Exam changed"),
    "export.built": _l("Export prepared"),
    "export.build_failed": _l("Export could not be prepared"),
    "export.deleted": _l("Export deleted after its retention period"),
    "export.downloaded": _l("Export downloaded"),
    "flag.reviewed": _l("Automated flag reviewed by a person"),
    "guardian.invitation_accepted": _l("Invitation for a parent or guardian accepted"),
    "guardian.invited": _l("Parent or guardian invited"),
    "guardian.registered": _l("Parent or guardian registered"),
    "guardian.registration_repeated": _l("Registration tried again with a known address"),
    "guardian_link.rejected": _l("Link with a parent or guardian refused"),
    "guardian_link.requested": _l("Link with a parent or guardian asked for"),
    "guardian_link.revoked": _l("Link with a parent or guardian ended"),
    "guardian_link.verified": _l("Link with a parent or guardian checked and approved"),
    "guardian_link.viewed": _l("Link with a parent or guardian viewed"),
    "identity.answered": _l("Proof of identity sent"),
    "identity.checked": _l("Identity checked"),
    "identity.doubt_raised": _l("Proof of identity asked for"),
    "intake.acknowledgement_printed": _l("Acknowledgement of receipt printed"),
    "intake.document_deleted": _l("Received document deleted"),
    "intake.document_opened": _l("Received document opened"),
    "media.redacted": _l("Recording made unrecognisable"),
    "media.redaction_cancelled": _l("Making unrecognisable cancelled"),
    "media.redaction_failed": _l("Making unrecognisable failed"),
    "media.redaction_requested": _l("Asked to make a recording unrecognisable"),
    "media.requester_confirmed": _l("Requester's face confirmed"),
    "media_faces.opened": _l("Faces in a recording viewed"),
    "package.build_failed": _l("Building the package failed"),
    "package.build_requested": _l("Package asked for"),
    "package.build_retried": _l("Building the package tried again"),
    "package.built": _l("Package built"),
    "package.downloaded": _l("Package downloaded"),
    "package.expired": _l("Package expired and deleted"),
    "package.opened": _l("Package opened"),
    "package.released": _l("Package released to the requester"),
    "package_letter.opened": _l("Letter of the package opened"),
    "package_page.opened": _l("Package page opened"),
    "recording.material_viewed": _l("Material of a recording viewed"),
    "recording.opened": _l("Recording opened"),
    "recording.restricted": _l("Use of a recording restricted"),
    "recording.restriction_lifted": _l("Restriction of a recording lifted"),
    "recording_file.deleted": _l("Recording file deleted"),
    "recording_file.deletion_cancelled": _l("Deletion of a recording file cancelled"),
    "recordings.imported": _l("Recordings imported"),
    "redacted_copy.deleted": _l("Redacted copy deleted"),
    "redacted_copy.opened": _l("Redacted copy opened"),
    "register.entry_adopted": _l("Tool taken into the register"),
    "register.entry_created": _l("Tool added to the register"),
    "register.reminder_sent": _l("Reminder about the register sent"),
    "register.version_created": _l("New version of a register entry"),
    "retention.hold_placed": _l("Legal hold placed"),
    "retention.hold_released": _l("Legal hold lifted"),
    "retention.purged": _l("Expired recordings deleted"),
    "user.created": _l("Account created"),
    "user.email_verified": _l("E-mail address confirmed"),
    "user.locale_changed": _l("Language changed"),
    "user.login": _l("Logged in"),
    "user.login_failed": _l("Login failed"),
    "user.login_locked": _l("Login blocked for a while"),
    "user.login_unlocked": _l("Login unblocked"),
    "user.logout": _l("Logged out"),
    "user.password_reset": _l("Password changed"),
    "user.password_reset_requested": _l("New password asked for"),
    "user.recovery_code_used": _l("Recovery code used"),
    "user.recovery_codes_generated": _l("New recovery codes made"),
    "user.role_changed": _l("Role changed"),
    "user.session_ended": _l("Session ended"),
    "user.sessions_ended": _l("All sessions ended"),
    "user.totp_disabled": _l("Second factor switched off"),
    "user.totp_enrolled": _l("Second factor set up"),
    "user.institution_linked": _l("Account linked to the institution login"),
    "user.age_confirmed": _l("Age confirmed from the student record"),
    "api.client_created": _l("API client created"),
    "api.client_deactivated": _l("API client deactivated"),
    "api.case_read": _l("Case read through the API"),
    "intake.letter_sent": _l("Letter sent to the requester"),
    "intake.letter_held": _l("Letter held until identity is checked"),
    "intake.letter_released": _l("Held letter sent"),
    "intake.letter_printed": _l("Letter printed for post"),
    "intake.external_requester": _l("Requester without an account recorded"),
    "intake.requester_identity_checked": _l("Requester's identity checked"),
    "intake.answer_recorded": _l("Requester's answer recorded"),
    "intake.requester_linked": _l("Case linked to the requester's account"),
    "webhook.endpoint_disabled": _l("Webhook endpoint disabled after failures"),
    "webhook.endpoint_registered": _l("Webhook endpoint registered"),
    "webhook.endpoint_enabled": _l("Webhook endpoint enabled again"),
    "enrolment.changed": _l("Enrolment changed in the student-information system"),
    "enrolment.recorded": _l("Enrolment taken from the student-information system"),
    "enrolment.removed_in_source": _l("Enrolment no longer in the student-information system"),
    "exam.removed_in_source": _l("Exam no longer offered in the student-information system"),
    "exam.returned_in_source": _l("Exam offered again in the student-information system"),
    "ooapi.sync_failed": _l("Sync with the student-information system failed"),
    "ooapi.sync_requested": _l("Sync with the student-information system asked for"),
    "programme.created": _l("Programme added"),
    "programme.removed_in_source": _l("Programme no longer in the student-information system"),
    "programme.updated": _l("Programme changed"),
    "user.date_of_birth_from_source": _l("Date of birth taken from the student-information system"),
    "vendors.connector_created": _l("Vendor connector created"),
    "vendors.connector_changed": _l("Vendor connector changed"),
    "vendors.link_added": _l("Exam linked to the vendor"),
    "vendors.connection_checked": _l("Connection to the vendor checked"),
    "vendors.fetch_queued": _l("Fetching the vendor's recordings requested"),
    "vendors.file_fetched": _l("Recording fetched from the vendor"),
    "vendors.fetch_failed": _l("Fetching from the vendor failed"),
    "vendors.webhook_received": _l("Vendor's notice of a new recording received"),
    "vendors.request_sent": _l("Vendor asked for the recordings"),
    "vendors.request_reminded": _l("Vendor reminded of the request for recordings"),
    "vendors.request_file_received": _l("File received from the vendor"),
}

FLAG_KIND_LABELS: dict[str, LazyString] = {
    "gaze_away": _l("Looked away from the screen"),
    "gaze": _l("Looked away from the screen"),
    "second_person": _l("Another person in view"),
    "face_missing": _l("No face in view"),
    "multiple_faces": _l("More than one face in view"),
    "voice_detected": _l("Voices heard"),
    "tab_switch": _l("Left the exam window"),
    "phone_detected": _l("A phone in view"),
    "second_voice": _l("A second voice heard"),
}

# The data categories the register commonly names, in words; others are shown as written (they
# are the institution's own text).
DATA_CATEGORY_LABELS: dict[str, LazyString] = {
    "camera video": _l("camera images"),
    "screen recording": _l("screen recording"),
    "audio": _l("sound"),
    "microphone audio": _l("microphone sound"),
    "room scan": _l("scan of the room"),
    "eye tracking": _l("eye tracking"),
    "automated flags": _l("automated flags"),
    "keystrokes": _l("keystrokes"),
    "name": _l("name"),
    "chat messages": _l("chat messages"),
}

ROLE_LABELS: dict[str, LazyString] = {
    "student": _l("Student"),
    "guardian": _l("Parent or guardian"),
    "case_handler": _l("Case handler"),
    "exam_board": _l("Exam board member"),
    "dpo": _l("Data protection officer"),
    "admin": _l("Administrator"),
}


def audit_action_label(code: str) -> str:
    """The audit action in words; a neutral phrase (and a warning in the log) for an unknown one."""
    label = AUDIT_ACTION_LABELS.get(code)
    if label is None:
        log.warning("no label for the audit action %r", code)
        return _("Step recorded")
    return str(label)


def flag_kind_label(code: str) -> str:
    """What the proctoring software flagged, in words; vendors may send codes we do not know."""
    label = FLAG_KIND_LABELS.get(code)
    return _("Signal from the proctoring software") if label is None else str(label)


def data_category_label(category: str) -> str:
    """A register data category in words when it is a common one, else as the register has it."""
    label = DATA_CATEGORY_LABELS.get(category.strip().lower())
    return category if label is None else str(label)


def recording_offset(seconds: int | float | None) -> str:
    """A moment within a recording as minutes:seconds (hours:minutes:seconds from an hour on)."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class TranslatedLabels(Mapping[Any, str]):
    """A table of labels for templates, translated once per locale rather than at every use.

    The tables hold lazy strings, which Flask-Babel translates anew each time one is shown
    (~12 µs); the staff queue shows two a row. Translations are fixed for the life of the
    process, so a table per locale is safe to keep.
    """

    def __init__(self, labels: Mapping[Any, Any]) -> None:
        self._labels = labels
        self._by_locale: dict[str, dict[Any, str]] = {}

    def _table(self) -> dict[Any, str]:
        locale = str(get_locale() or "nl")
        table = self._by_locale.get(locale)
        if table is None:
            table = {key: str(label) for key, label in self._labels.items()}
            self._by_locale[locale] = table
        return table

    def for_this_locale(self) -> Mapping[Any, str]:
        """The table translated into the current locale, for a page that looks up many labels.

        The locale is read once, then lookups are plain dictionary lookups; a key missing from
        it (a case type registered later) is still found through ``self[key]``.
        """
        return self._table()

    def __getitem__(self, key: Any) -> str:
        table = self._table()
        if key in table:
            return table[key]
        # A case type registered after the table was made (rights_portal.cases.registry).
        return str(self._labels[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

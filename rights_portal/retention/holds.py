"""What keeps a recording whatever its retention date says (R25), and the DPO's legal holds.

A **hold** is an open case referring to the recording (same student and exam, an access request
whose scope covers it, or a restriction), a pending fraud procedure (a flag reviewed as
``irregularity_suspected``), or a legal hold placed by the DPO with a reason. These functions
flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access.models import AccessScope
from ..accounts.models import User
from ..audit.services import record
from ..cases.models import OPEN_STATUSES, Case, CaseType
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import AutomatedFlag, FlagReviewStatus, Recording, RecordingRestriction
from ..extensions import db
from .models import LegalHold

# --- holds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """One reason a recording is kept."""

    kind: str  # "case", "restriction", "fraud", "legal_hold"
    reference: str | None = None  # the case reference, if a case holds it
    reason: str = ""  # the DPO's reason for a legal hold
    hold_id: int | None = None

    def describe(self) -> str:
        """The reason in words, for the DPO page and the purge report."""
        if self.kind == "case":
            return str(_l("open case %(reference)s", reference=self.reference))
        if self.kind == "restriction":
            return str(_l("restricted by case %(reference)s", reference=self.reference))
        if self.kind == "fraud":
            return str(_l("pending fraud procedure (irregularity suspected)"))
        return str(_l("legal hold: %(reason)s", reason=self.reason))


def holds_for(
    recordings: Iterable[Recording], *, ignore_case_id: int | None = None
) -> dict[int, list[Hold]]:
    """Every reason each of ``recordings`` is kept, by recording id (empty list: not held).

    ``ignore_case_id`` leaves out the case whose decision is deleting the recordings.
    """
    recordings = list(recordings)
    result: dict[int, list[Hold]] = {r.id: [] for r in recordings}
    if not recordings:
        return result
    ids = list(result)
    for hold in db.session.scalars(
        select(LegalHold).where(LegalHold.recording_id.in_(ids), LegalHold.released_at.is_(None))
    ):
        result[hold.recording_id].append(Hold("legal_hold", reason=hold.reason, hold_id=hold.id))
    for recording_id, reference in db.session.execute(
        select(RecordingRestriction.recording_id, Case.reference)
        .join(Case, Case.id == RecordingRestriction.case_id)
        .where(
            RecordingRestriction.recording_id.in_(ids),
            RecordingRestriction.lifted_at.is_(None),
        )
    ):
        result[recording_id].append(Hold("restriction", reference=reference))
    for recording_id in set(
        db.session.scalars(
            select(AutomatedFlag.recording_id).where(
                AutomatedFlag.recording_id.in_(ids),
                AutomatedFlag.review_status == FlagReviewStatus.IRREGULARITY_SUSPECTED,
            )
        )
    ):
        result[recording_id].append(Hold("fraud"))
    # Open cases about the same students; which recordings each refers to is decided below.
    students = {r.student_id for r in recordings}
    query = select(Case).where(
        Case.status.in_(OPEN_STATUSES),
        Case.subject_id.in_(students),
        # An open erasure request asks for the deletion itself: it does not hold.
        Case.case_type != CaseType.ERASURE,
    )
    if ignore_case_id is not None:
        query = query.where(Case.id != ignore_case_id)
    open_cases = list(db.session.scalars(query.order_by(Case.id)))
    scopes = {
        scope.case_id: scope
        for scope in db.session.scalars(
            select(AccessScope).where(AccessScope.case_id.in_([c.id for c in open_cases]))
        )
    }
    for recording in recordings:
        for case in open_cases:
            if case.subject_id == recording.student_id and _refers_to(
                case, scopes.get(case.id), recording
            ):
                result[recording.id].append(Hold("case", reference=case.reference))
    return result


def _refers_to(case: Case, scope: AccessScope | None, recording: Recording) -> bool:
    if case.exam_id is not None:
        return case.exam_id == recording.exam_id
    if case.case_type is CaseType.ACCESS:
        # An access request without a narrowed scope covers everything held (R11).
        if scope is None or scope.all_data:
            return True
        return recording.exam_id in {exam.id for exam in scope.exams}
    return False


# --- legal holds by the DPO --------------------------------------------------------------------


def place_hold(recording: Recording, *, reason: str, actor: User) -> LegalHold:
    """The DPO keeps a recording whatever its retention date, with a reason."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_l("A legal hold needs a reason."))
    if active_hold(recording) is not None:
        raise RuleViolation(_l("This recording is already under a legal hold."))
    hold = LegalHold(recording_id=recording.id, reason=reason, placed_by_id=actor.id)
    db.session.add(hold)
    db.session.flush()
    record(
        "retention.hold_placed",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.id,
        after={"recording_id": recording.id, "reason": reason},
    )
    return hold


def release_hold(hold: LegalHold, *, reason: str, actor: User) -> LegalHold:
    """The DPO releases a legal hold with a reason; the retention date applies again."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_l("Releasing a legal hold needs a reason."))
    if hold.released_at is not None:
        raise RuleViolation(_l("This legal hold has been released already."))
    hold.released_by_id = actor.id
    hold.released_at = now_utc()
    hold.release_reason = reason
    db.session.flush()
    record(
        "retention.hold_released",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.id,
        after={"recording_id": hold.recording_id, "reason": reason},
    )
    return hold


def active_hold(recording: Recording) -> LegalHold | None:
    """The recording's unreleased legal hold, if any."""
    return db.session.scalars(
        select(LegalHold).where(
            LegalHold.recording_id == recording.id, LegalHold.released_at.is_(None)
        )
    ).one_or_none()

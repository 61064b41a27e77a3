"""Exam-board operations: objections (R15, R16), alternatives (R17) and human review (R18).

Like every service module, these functions check the rule, change the records, write the audit
event and queue the mail in the caller's transaction; the caller commits. Who may call them is
decided in :mod:`rights_portal.permissions`.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record, record_case_event
from ..cases import deadlines, workflow
from ..cases import services as case_services
from ..cases.models import Case, CaseType, Outcome
from ..cases.workflow import Step
from ..clock import now_utc
from ..errors import RuleViolation
from ..exams.models import (
    AutomatedFlag,
    Exam,
    FlagReviewStatus,
    Recording,
    RecordingRestriction,
)
from ..extensions import db
from .alternatives import (
    alternative_limit,
    assign_alternative,
    current_alternative,
    late_alternatives,
    respond_to_alternative,
    scheduled_for_exam,
    working_days_after_exam,
)
from .models import DecisionProposal

# The alternatives' operations (R17) are named here too: one module of the board's operations.
__all__ = [
    "alternative_limit",
    "assign_alternative",
    "current_alternative",
    "decide_for_board",
    "exam_schedule",
    "file_human_review",
    "file_objection",
    "is_restricted_for",
    "late_alternatives",
    "lift_restrictions",
    "open_proposal",
    "record_material_viewed",
    "respond_to_alternative",
    "review_flag",
    "reviewable_flags",
    "scheduled_for_exam",
    "sign_off",
    "working_days_after_exam",
]

# --- Filing ----------------------------------------------------------------------------------


def file_objection(
    *, student: User, filed_by: User, exam: Exam, grounds: str, restrict: bool
) -> Case:
    """File an objection to proctoring (R15); on request restrict the recordings (R16)."""
    case = case_services.file_case(
        case_type=CaseType.OBJECTION,
        subject=student,
        filed_by=filed_by,
        description=grounds,
        exam=exam,
        restrict_processing=restrict,
    )
    if restrict:
        recordings = db.session.scalars(
            select(Recording).where(
                Recording.student_id == student.id, Recording.exam_id == exam.id
            )
        ).all()
        for recording in recordings:
            db.session.add(RecordingRestriction(recording_id=recording.id, case_id=case.id))
        db.session.flush()
        record_case_event(
            "recording.restricted",
            case,
            actor=filed_by,
            after={"recording_ids": [r.id for r in recordings]},
        )
    return case


def file_human_review(*, student: User, filed_by: User, flag: AutomatedFlag, view: str) -> Case:
    """Ask for a human review of an automated flag, with the student's view (R18)."""
    if flag.recording.student_id != student.id:
        raise RuleViolation(_l("Choose one of your own flags."))
    case = case_services.file_case(
        case_type=CaseType.HUMAN_REVIEW,
        subject=student,
        filed_by=filed_by,
        description=view,
        exam=flag.recording.exam,
        flag_id=flag.id,
    )
    return case


# --- Decisions, with an optional second member's sign-off ---------------------------------------


def decide_for_board(
    case: Case,
    *,
    actor: User,
    outcome: Outcome,
    reasons: str,
    compelling_grounds: str | None = None,
) -> Case | DecisionProposal:
    """Decide an objection or alternative-exam request; a proposal if the board wants sign-off.

    R15: rejecting an objection needs the compelling legitimate grounds that override the
    student's interest, in writing.
    """
    grounds = (compelling_grounds or "").strip() or None
    if case.case_type.kind.decide is None:
        raise RuleViolation(_l("A request for human review is decided by reviewing the flag."))
    # The same rules as every decision, checked before a proposal is written too.
    case_services.check_decision(case, outcome=outcome, reasons=reasons)
    if case.case_type.kind.asks_compelling_grounds and outcome is Outcome.REJECTED and not grounds:
        raise RuleViolation(
            _l("Rejecting an objection needs the compelling legitimate grounds, in writing.")
        )
    board = case.programme.exam_board if case.programme else None
    if board is not None and board.requires_second_signoff:
        if open_proposal(case) is not None:
            raise RuleViolation(_l("A decision is already waiting for sign-off."))
        proposal = DecisionProposal(
            case_id=case.id,
            outcome=outcome,
            reasons=reasons.strip(),
            compelling_grounds=grounds,
            proposed_by_id=actor.id,
        )
        db.session.add(proposal)
        db.session.flush()
        record(
            "case.decision_proposed",
            actor=actor,
            object_type="decision_proposal",
            object_id=proposal.id,
            case_id=case.id,
            after={"outcome": outcome, "reasons": proposal.reasons, "compelling_grounds": grounds},
        )
        return proposal
    return _finalise(case, decided_by=actor, outcome=outcome, reasons=reasons, grounds=grounds)


def open_proposal(case: Case) -> DecisionProposal | None:
    """The decision waiting for a second member, if any."""
    return db.session.scalars(
        select(DecisionProposal).where(
            DecisionProposal.case_id == case.id,
            DecisionProposal.signed_off_at.is_(None),
            DecisionProposal.withdrawn_at.is_(None),
        )
    ).one_or_none()


def sign_off(proposal: DecisionProposal, *, actor: User) -> Case:
    """A second, different board member signs the proposed decision; it takes effect."""
    if proposal.proposed_by_id == actor.id:
        raise RuleViolation(_l("A second board member must sign off, not the one who proposed."))
    proposal.signed_off_by_id = actor.id
    proposal.signed_off_at = now_utc()
    db.session.flush()
    record(
        "case.decision_signed_off",
        actor=actor,
        object_type="decision_proposal",
        object_id=proposal.id,
        case_id=proposal.case_id,
    )
    return _finalise(
        proposal.case,
        decided_by=proposal.proposed_by,
        outcome=proposal.outcome,
        reasons=proposal.reasons,
        grounds=proposal.compelling_grounds,
    )


def _finalise(
    case: Case, *, decided_by: User, outcome: Outcome, reasons: str, grounds: str | None
) -> Case:
    case.compelling_grounds = grounds
    case_services.decide(case, actor=decided_by, outcome=outcome, reasons=reasons)
    lift_restrictions(case, actor=decided_by)
    # R25, art. 17(1)(c): an upheld objection erases the exam's recordings; the intents commit
    # with the decision and the caller carries them out after the commit.
    from ..access.storage import recordings_storage
    from ..retention.erasure import erase_after_decision

    erase_after_decision(case, actor=decided_by, store=recordings_storage())
    return case


def lift_restrictions(case: Case, *, actor: User) -> None:
    """A decision ends the restriction the case asked for (art. 18(1)(d))."""
    restrictions = db.session.scalars(
        select(RecordingRestriction).where(
            RecordingRestriction.case_id == case.id, RecordingRestriction.lifted_at.is_(None)
        )
    ).all()
    for restriction in restrictions:
        restriction.lifted_at = now_utc()
    if restrictions:
        db.session.flush()
        record_case_event(
            "recording.restriction_lifted",
            case,
            actor=actor,
            after={"recording_ids": [r.recording_id for r in restrictions]},
        )


# --- Human review of automated flags (R18) --------------------------------------------------


def record_material_viewed(flag: AutomatedFlag, *, actor: User, case: Case | None) -> None:
    """Seeing the material of a flag is logged (R24)."""
    record(
        "recording.material_viewed",
        actor=actor,
        object_type="recording",
        object_id=flag.recording_id,
        case_id=case.id if case else None,
        after={"flag_id": flag.id},
    )


def review_flag(
    flag: AutomatedFlag,
    *,
    actor: User,
    outcome: FlagReviewStatus,
    reasons: str,
    case: Case | None = None,
) -> AutomatedFlag:
    """A named board member judges an automated flag with reasons (R18).

    Only this operation moves a flag out of "unreviewed"; a suspected irregularity goes to the
    fraud procedure. When the review answers a student's request, that case is decided with it.
    """
    reasons = reasons.strip()
    if outcome is FlagReviewStatus.UNREVIEWED:
        raise RuleViolation(_l("Choose the outcome of your review."))
    if not reasons:
        raise RuleViolation(_l("A review needs written reasons."))
    if case is not None:
        workflow.require(case, Step.REVIEW_FLAG)
    before = {"review_status": flag.review_status, "reviewed_by_id": flag.reviewed_by_id}
    flag.review_status = outcome
    flag.reviewed_by_id = actor.id
    flag.reviewed_at = now_utc()
    flag.review_reasons = reasons
    db.session.flush()
    record(
        "flag.reviewed",
        actor=actor,
        object_type="automated_flag",
        object_id=flag.id,
        case_id=case.id if case else None,
        before=before,
        after={"review_status": outcome, "reasons": reasons},
    )
    if case is not None:
        case_services.decide(case, actor=actor, outcome=Outcome.GRANTED, reasons=reasons)
    return flag


def reviewable_flags(student: User) -> list[AutomatedFlag]:
    """The student's own flags, for the human-review request form."""
    return list(
        db.session.scalars(
            select(AutomatedFlag)
            .join(Recording, Recording.id == AutomatedFlag.recording_id)
            .where(Recording.student_id == student.id)
            .order_by(AutomatedFlag.raised_at.desc())
        )
    )


def is_restricted_for(recording: Recording, case: Case | None) -> bool:
    """Whether a restriction forbids opening ``recording`` outside the case that restricted it."""
    active = db.session.scalars(
        select(RecordingRestriction.case_id).where(
            RecordingRestriction.recording_id == recording.id,
            RecordingRestriction.lifted_at.is_(None),
        )
    ).all()
    return bool(active) and (case is None or case.id not in active)


def exam_schedule(programme_ids: set[int], since: date) -> list[Exam]:
    """Upcoming exams of the given programmes, for the board's workspace."""
    if not programme_ids:
        return []
    start = datetime.combine(since, datetime.min.time(), tzinfo=deadlines.AMSTERDAM)
    return list(
        db.session.scalars(
            select(Exam)
            .where(Exam.programme_id.in_(programme_ids), Exam.starts_at >= start)
            .order_by(Exam.starts_at)
            .limit(50)
        )
    )

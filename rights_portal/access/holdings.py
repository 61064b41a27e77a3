"""What is held about the student of an access request (R11): everything, grouped by exam.

:func:`gather` collects recording files, automated flags and their review, and exam-board
decisions, each with the handler's decision (R13) and whether the request's scope covers it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from ..cases.models import Case, CaseType
from ..exams.models import AutomatedFlag, Exam, Recording, RecordingFile
from ..extensions import db
from .filing import scope_of
from .labels import FILE_KIND_LABELS
from .models import (
    AccessScope,
    ItemDecision,
    ItemType,
    Release,
)

T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """``value``, which the caller knows is there; a clear error instead of a None later on."""
    if value is None:
        raise LookupError(f"{what} is missing")
    return value


@dataclass
class HeldItem:
    """One thing held about the student, with the handler's decision (if any)."""

    item_type: ItemType
    item_id: int
    exam: Exam | None
    in_scope: bool
    decision: ItemDecision | None = None
    file: RecordingFile | None = None
    flag: AutomatedFlag | None = None
    note: Case | None = None

    @property
    def release(self) -> Release:
        """The decision; an item not decided on is released as is (R11: a complete copy)."""
        return self.decision.decision if self.decision else Release.RELEASED

    @property
    def deleted(self) -> bool:
        """A recording file deleted under retention: only its record is still held (R25).

        A redacted item whose copy was deleted counts as deleted too: the original is never
        released in its place (R13).
        """
        return self.deleted_at is not None

    @property
    def deleted_at(self) -> datetime | None:
        """When the file (or the redacted copy that was to be released) was deleted."""
        if self.file is None:
            return None
        if self.file.deleted_at is not None:
            return self.file.deleted_at
        if self.decision is not None and self.decision.decision is Release.REDACTED:
            return self.decision.redacted_deleted_at
        return None

    @property
    def included(self) -> bool:
        """Whether the package carries this item (requested, still held, not withheld)."""
        return self.in_scope and not self.deleted and self.release is not Release.WITHHELD

    @property
    def size_bytes(self) -> int:
        """Size of the stored file, or of the text for flags and notes."""
        if self.file is not None:
            return self.file.size_bytes
        if self.flag is not None:
            return len(self.flag.description.encode())
        if self.note is not None:
            return len((self.note.decision_reasons or "").encode())
        return 0

    @property
    def key(self) -> str:
        """A stable identifier, e.g. ``file-12`` (form ids, fingerprints)."""
        return f"{self.item_type.value}-{self.item_id}"

    def label(self) -> str:
        """A short description in the current language, for pages, the letter and reasons."""
        exam = self.exam.label if self.exam else _("no exam")
        if self.file is not None:
            recording = self.file.recording
            return _(
                "%(kind)s of %(exam)s, recorded %(when)s (%(name)s)",
                kind=FILE_KIND_LABELS[self.file.kind],
                exam=exam,
                when=_format_moment(recording.recorded_at),
                name=self.file.filename,
            )
        if self.flag is not None:
            from ..labels import flag_kind_label

            return _(
                "Automated flag “%(code)s” at %(exam)s",
                code=flag_kind_label(self.flag.code),
                exam=exam,
            )
        note = required(self.note, "the exam-board decision")
        return _(
            "Exam board decision %(reference)s about %(exam)s",
            reference=note.reference,
            exam=exam,
        )


def _format_moment(moment: datetime) -> str:
    from ..formatting import format_moment

    return format_moment(moment)


@dataclass
class HeldRecording:
    """A recording session with its files and flags."""

    recording: Recording
    files: list[HeldItem] = field(default_factory=list)
    flags: list[HeldItem] = field(default_factory=list)


@dataclass
class ExamHoldings:
    """Everything held about the student for one exam."""

    exam: Exam | None
    recordings: list[HeldRecording] = field(default_factory=list)
    notes: list[HeldItem] = field(default_factory=list)

    def items(self) -> Iterator[HeldItem]:
        """Files, flags and notes of this exam."""
        for held in self.recordings:
            yield from held.files
            yield from held.flags
        yield from self.notes

    @property
    def size_bytes(self) -> int:
        """Total size of what is held for this exam."""
        return sum(item.size_bytes for item in self.items() if not item.deleted)


@dataclass
class Holdings:
    """Everything held about the case's student, grouped by exam (R11)."""

    case: Case
    scope: AccessScope | None
    exams: list[ExamHoldings]

    def items(self) -> Iterator[HeldItem]:
        """Every item, exam by exam."""
        for group in self.exams:
            yield from group.items()

    def find(self, item_type: ItemType, item_id: int) -> HeldItem | None:
        """The item of this type and id, if it is held about this student."""
        return next(
            (i for i in self.items() if i.item_type is item_type and i.item_id == item_id), None
        )

    def partial_refusals(self) -> list[HeldItem]:
        """Requested items that are redacted or withheld (R13), in order."""
        return [
            item
            for item in self.items()
            if item.in_scope and not item.deleted and item.release.is_partial_refusal
        ]

    def included_files(self) -> list[HeldItem]:
        """The recording files the package carries (original or redacted copy)."""
        return [item for item in self.items() if item.file is not None and item.included]

    def fingerprint(self) -> str:
        """A hash of what a package would contain; a build is stale when it changes."""
        rows = []
        for item in self.items():
            decision = item.decision
            rows.append(
                [
                    item.key,
                    item.in_scope,
                    item.deleted,
                    item.release.value,
                    item.file.sha256 if item.file else None,
                    item.flag.review_status.value if item.flag else None,
                    decision.reason if decision else None,
                    decision.protects if decision else None,
                    decision.redacted_sha256 if decision else None,
                ]
            )
        return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def _in_scope(scope: AccessScope | None, item_type: ItemType, exam: Exam | None) -> bool:
    if scope is None or scope.all_data:
        return True
    chosen = exam is not None and any(e.id == exam.id for e in scope.exams)
    if item_type is ItemType.FLAG:
        return chosen or scope.include_flags
    return chosen


def gather(case: Case) -> Holdings:
    """Everything held about the student of ``case``, grouped by exam, with decisions (R11)."""
    scope = scope_of(case)
    decisions = {
        (d.item_type, d.item_id): d
        for d in db.session.scalars(select(ItemDecision).where(ItemDecision.case_id == case.id))
    }
    groups: dict[int | None, ExamHoldings] = {}

    def group_for(exam: Exam | None) -> ExamHoldings:
        key = exam.id if exam else None
        if key not in groups:
            groups[key] = ExamHoldings(exam=exam)
        return groups[key]

    def item(item_type: ItemType, item_id: int, exam: Exam | None, **kw: Any) -> HeldItem:
        return HeldItem(
            item_type=item_type,
            item_id=item_id,
            exam=exam,
            in_scope=_in_scope(scope, item_type, exam),
            decision=decisions.get((item_type, item_id)),
            **kw,
        )

    recordings = db.session.scalars(
        select(Recording)
        .where(Recording.student_id == case.subject_id)
        .order_by(Recording.recorded_at, Recording.id)
    )
    for recording in recordings:
        held = HeldRecording(recording=recording)
        for stored in sorted(recording.files, key=lambda f: f.id):
            held.files.append(item(ItemType.FILE, stored.id, recording.exam, file=stored))
        for flag in sorted(recording.flags, key=lambda f: f.id):
            held.flags.append(item(ItemType.FLAG, flag.id, recording.exam, flag=flag))
        group_for(recording.exam).recordings.append(held)

    # Exam-board decisions with reasons about this student are data held about them too.
    board_cases = db.session.scalars(
        select(Case)
        .where(
            Case.subject_id == case.subject_id,
            Case.case_type.in_([t for t in CaseType if t.decided_by_exam_board]),
            Case.outcome.is_not(None),
        )
        .order_by(Case.decided_at, Case.id)
    )
    for board_case in board_cases:
        group_for(board_case.exam).notes.append(
            item(ItemType.BOARD_NOTE, board_case.id, board_case.exam, note=board_case)
        )

    ordered = sorted(
        groups.values(),
        key=lambda g: (g.exam is None, g.exam.starts_at if g.exam else None, g.exam and g.exam.id),
    )
    return Holdings(case=case, scope=scope, exams=ordered)

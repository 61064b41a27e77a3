"""One OOAPI sync: read everything first, then store the differences in one transaction.

The sync reads the organisation's programs, courses and test components with their offerings
(the exams), and for each portal student with a student number the OOAPI person (found once by
``/persons?primaryCode=``, later by id while the date of birth is still unknown) and their
component-offering associations (the enrolments). Only when every page has been read does it
write: a timeout, an error status, a page that never ends or a body that is not the contract's
shape raises :class:`~rights_portal.ooapi.client.OoapiError` before anything is stored, and the
run is recorded as failed with that error (and ``ooapi.sync_failed`` on the audit trail).

Incremental and idempotent: the OOAPI has no "modified since" filter on these lists, so each run
reads the lists whole and compares a hash of the facts the portal uses with the hash stored in
:class:`~rights_portal.ooapi.models.OoapiRecord`; only differences are written, each with its
audit event. An exam whose start moved recomputes the exam-bound due date of its open cases
(R7) with the move as the reason. An offering, program or enrolment the source stops listing is
marked, never deleted. The caller commits (``@unit_of_work``: the task, the CLI command).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, text

from ..accounts.models import Role, User
from ..audit.services import record
from ..cases.services import exam_moved
from ..clock import now_utc, to_local
from ..examboard.models import ExamBoard
from ..exams.models import Exam, ExamEnrolment, Programme
from ..extensions import db
from ..transactions import queue_task
from . import mapping
from .client import ClientSettings, OoapiClient, OoapiError
from .models import OoapiRecord, OoapiSyncRun

log = logging.getLogger(__name__)
#: The board new programmes get when OOAPI_EXAM_BOARD names none (an admin assigns the right one).
UNASSIGNED_BOARD = "Exam board to be assigned (new programmes from OOAPI)"
_LOCK_KEY = 7_205_119_253  # pg advisory lock: one sync at a time (beat, button, CLI)
MAX_STORED_LINES = 500


def settings_from(config: Any) -> ClientSettings | None:
    """The client settings from the app's config; None when OOAPI_BASE_URL is not set."""
    if not config.get("OOAPI_BASE_URL"):
        return None
    return ClientSettings(
        base_url=config["OOAPI_BASE_URL"],
        token_url=config["OOAPI_TOKEN_URL"],
        client_id=config["OOAPI_CLIENT_ID"],
        client_secret=config["OOAPI_CLIENT_SECRET"],
        timeout_seconds=float(config["OOAPI_TIMEOUT_SECONDS"]),
        page_size=int(config["OOAPI_PAGE_SIZE"]),
        max_pages=int(config["OOAPI_MAX_PAGES"]),
    )


@dataclass
class Snapshot:
    """Everything one run read, mapped to facts; ``seen`` holds every id listed (even unusable)."""

    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    courses: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    offerings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # person id -> (users.id, facts)
    persons: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # person id -> {association id: facts}
    associations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def saw(self, kind: str, ooapi_id: Any) -> None:
        """Remember that the source listed ``ooapi_id`` (so it is not marked removed)."""
        if isinstance(ooapi_id, str):
            self.seen.setdefault(kind, set()).add(ooapi_id)


def _collect(
    snapshot: Snapshot,
    kind: str,
    target: dict[str, dict[str, Any]],
    items: list[dict[str, Any]],
    mapper: Any,
    id_key: str,
) -> None:
    for item in items:
        snapshot.saw(kind, item.get(id_key))
        try:
            ooapi_id, facts = mapper(item)
        except mapping.Unusable as why:
            snapshot.warnings.append(f"{kind} {item.get(id_key)} skipped: {why}")
            continue
        target[ooapi_id] = facts


def read_source(client: OoapiClient, organization_id: str) -> Snapshot:
    """Read every page the sync needs; raises OoapiError, writes nothing."""
    snapshot = Snapshot()
    org = f"/organizations/{organization_id}"
    _collect(
        snapshot,
        "program",
        snapshot.programs,
        client.pages(f"{org}/programs"),
        mapping.program_facts,
        "programId",
    )
    _collect(
        snapshot,
        "course",
        snapshot.courses,
        client.pages(f"{org}/courses"),
        mapping.course_facts,
        "courseId",
    )
    tests = [
        item
        for item in client.pages(f"{org}/components", {"componentType": "test"})
        if item.get("componentType") == "test"
    ]
    _collect(
        snapshot, "component", snapshot.components, tests, mapping.component_facts, "componentId"
    )
    for component_id in snapshot.components:
        offerings = client.pages(f"/components/{component_id}/offerings")
        _collect(
            snapshot,
            "offering",
            snapshot.offerings,
            offerings,
            lambda item, cid=component_id: mapping.offering_facts(item, cid),
            "offeringId",
        )
    _read_persons(client, snapshot)
    return snapshot


def _read_persons(client: OoapiClient, snapshot: Snapshot) -> None:
    """The persons of the portal's students, and their enrolments in component offerings."""
    linked = {
        r.local_id: r
        for r in db.session.scalars(
            select(OoapiRecord).where(
                OoapiRecord.kind == "person", OoapiRecord.removed_at.is_(None)
            )
        )
    }
    students = db.session.execute(
        select(User.id, User.student_number, User.date_of_birth)
        .where(User.role == Role.STUDENT, User.student_number.is_not(None))
        .order_by(User.id)
    ).all()
    for user_id, number, born in students:
        known = linked.get(user_id)
        item: dict[str, Any] | None
        if known is None:
            found = client.pages("/persons", {"primaryCode": number})
            matches = [
                p
                for p in found
                if isinstance(p.get("primaryCode"), dict) and p["primaryCode"].get("code") == number
            ]
            if len(matches) != 1:
                if len(matches) > 1:
                    snapshot.warnings.append(f"student {number}: {len(matches)} persons match")
                continue
            item = matches[0]
        elif born is None:  # the date of birth may have been released since the last run
            try:
                item = client.get(f"/persons/{known.ooapi_id}")
            except OoapiError as error:
                if error.status != 404:
                    raise
                continue  # gone from the source: its record is marked removed
        else:
            item = None
        if item is None and known is not None:
            person_id, facts = known.ooapi_id, dict(known.facts)
        elif item is not None:
            try:
                person_id, facts = mapping.person_facts(item)
            except mapping.Unusable as why:
                snapshot.warnings.append(f"person of student {number} skipped: {why}")
                continue
        else:  # pragma: no cover - one of the branches above always applies
            continue
        snapshot.saw("person", person_id)
        snapshot.persons[person_id] = (user_id, facts)
        associations: dict[str, dict[str, Any]] = {}
        listed = client.pages(
            f"/persons/{person_id}/associations",
            {"associationType": "componentOffering", "role": "student"},
        )
        for association in listed:
            try:
                mapped = mapping.association_facts(association)
            except mapping.Unusable as why:
                snapshot.warnings.append(
                    f"association {association.get('associationId')} skipped: {why}"
                )
                continue
            if mapped is not None:
                associations[mapped[0]] = mapped[1]
        snapshot.associations[person_id] = associations


@dataclass
class _Apply:
    """The write phase of one run: the stored records, the counts and the lines of changes."""

    snapshot: Snapshot
    now: datetime
    records: dict[tuple[str, str], OoapiRecord]
    counts: Counter[str] = field(default_factory=Counter)
    # {"kind": …, params}: said in words by rights_portal.ooapi.labels.describe
    changes: list[dict[str, Any]] = field(default_factory=list)

    def change(self, kind: str, **params: Any) -> None:
        self.changes.append({"kind": kind, **params})

    def record_for(self, kind: str, ooapi_id: str, facts: dict[str, Any]) -> OoapiRecord:
        existing = self.records.get((kind, ooapi_id))
        if existing is None:
            existing = OoapiRecord(
                kind=kind, ooapi_id=ooapi_id, content_hash="", facts={}, first_seen_at=self.now
            )
            db.session.add(existing)
            self.records[(kind, ooapi_id)] = existing
        if existing.content_hash != mapping.content_hash(facts):
            existing.content_hash = mapping.content_hash(facts)
            existing.facts = facts
            existing.changed_at = self.now
        return existing

    def unchanged(self, kind: str, ooapi_id: str, facts: dict[str, Any]) -> bool:
        existing = self.records.get((kind, ooapi_id))
        return (
            existing is not None
            and existing.removed_at is None
            and existing.local_id is not None
            and existing.content_hash == mapping.content_hash(facts)
        )

    def gone(self, kind: str) -> list[OoapiRecord]:
        seen = self.snapshot.seen.get(kind, set())
        return [
            r
            for (k, ooapi_id), r in self.records.items()
            if k == kind and r.removed_at is None and ooapi_id not in seen
        ]


def _board_for_new_programmes() -> ExamBoard:
    name = current_app.config.get("OOAPI_EXAM_BOARD") or UNASSIGNED_BOARD
    board = db.session.scalars(select(ExamBoard).where(ExamBoard.name == name)).one_or_none()
    if board is None:
        board = ExamBoard(name=name)
        db.session.add(board)
        db.session.flush()
    return board


def _apply_programs(work: _Apply) -> None:
    for program_id, facts in work.snapshot.programs.items():
        if work.unchanged("program", program_id, facts):
            continue
        existing = work.records.get(("program", program_id))
        programme = None
        if existing is not None and existing.local_id is not None:
            programme = db.session.get(Programme, existing.local_id)
        if programme is None:
            programme = db.session.scalars(
                select(Programme).where(Programme.code == facts["code"])
            ).one_or_none()
        clash = db.session.scalars(
            select(Programme).where(Programme.code == facts["code"])
        ).one_or_none()
        if clash is not None and programme is not None and clash.id != programme.id:
            work.snapshot.warnings.append(
                f"program {program_id} skipped: code {facts['code']} belongs to another programme"
            )
            continue
        if programme is None:
            board = _board_for_new_programmes()
            programme = Programme(code=facts["code"], name=facts["name"], exam_board_id=board.id)
            db.session.add(programme)
            db.session.flush()
            record(
                "programme.created",
                actor=None,
                object_type="programme",
                object_id=programme.id,
                after={
                    **facts,
                    "exam_board": board.name,
                    "source": "ooapi",
                    "ooapi_id": program_id,
                },
            )
            work.counts["programmes_created"] += 1
            work.change("programme_created", code=facts["code"], name=facts["name"])
        elif (programme.code, programme.name) != (facts["code"], facts["name"]):
            before = {"code": programme.code, "name": programme.name}
            programme.code, programme.name = facts["code"], facts["name"]
            db.session.flush()
            record(
                "programme.updated",
                actor=None,
                object_type="programme",
                object_id=programme.id,
                before=before,
                after={**facts, "source": "ooapi", "ooapi_id": program_id},
            )
            work.counts["programmes_updated"] += 1
            work.change("programme_updated", code=facts["code"])
        stored = work.record_for("program", program_id, facts)
        stored.local_id = programme.id
        stored.removed_at = None
    for gone in work.gone("program"):
        gone.removed_at = work.now
        if gone.local_id is not None:
            record(
                "programme.removed_in_source",
                actor=None,
                object_type="programme",
                object_id=gone.local_id,
                after={"source": "ooapi", "ooapi_id": gone.ooapi_id},
            )
        work.counts["programmes_removed"] += 1
        work.change("programme_removed", code=gone.facts.get("code", gone.ooapi_id))


def _apply_plain(work: _Apply, kind: str, listed: dict[str, dict[str, Any]]) -> None:
    """Courses and components have no portal row: their facts feed the exams."""
    for ooapi_id, facts in listed.items():
        stored = work.record_for(kind, ooapi_id, facts)
        stored.removed_at = None
    for gone in work.gone(kind):
        gone.removed_at = work.now


def _exam_facts(work: _Apply, offering: dict[str, Any]) -> dict[str, Any] | None:
    snapshot = work.snapshot
    component = snapshot.components.get(offering["component"])
    course = snapshot.courses.get(component["course"]) if component else None
    if component is None or course is None:
        return None
    programme_id = None
    for program_id in course["programs"]:
        stored = work.records.get(("program", program_id))
        if stored is not None and stored.local_id is not None and stored.removed_at is None:
            programme_id = stored.local_id
            break
    if programme_id is None:
        return None
    title = offering["name"] or component["name"] or course["name"] or course["code"]
    return {
        "course_code": course["code"],
        "title": title[:200],
        "programme_id": programme_id,
        "starts_at": offering["starts_at"],
    }


def _shown(moment: datetime) -> str:
    return f"{to_local(moment):%Y-%m-%d %H:%M}"


def _exam_snapshot(exam: Exam) -> dict[str, Any]:
    return {
        "course_code": exam.course_code,
        "title": exam.title,
        "programme_id": exam.programme_id,
        "starts_at": exam.starts_at,
    }


def _apply_offerings(work: _Apply) -> None:
    for offering_id, offering in work.snapshot.offerings.items():
        facts = _exam_facts(work, offering)
        if facts is None:
            work.snapshot.warnings.append(
                f"offering {offering_id} skipped: its component's course is in no known program"
            )
            continue
        if work.unchanged("offering", offering_id, facts):
            continue
        starts_at = mapping.parse_moment(facts["starts_at"])
        stored = work.records.get(("offering", offering_id))
        exam = db.session.get(Exam, stored.local_id) if stored and stored.local_id else None
        label = f"{facts['course_code']} {facts['title']}"
        if exam is None:
            exam = Exam(
                course_code=facts["course_code"],
                title=facts["title"],
                programme_id=facts["programme_id"],
                starts_at=starts_at,
            )
            db.session.add(exam)
            db.session.flush()
            record(
                "exam.created",
                actor=None,
                object_type="exam",
                object_id=exam.id,
                after={**_exam_snapshot(exam), "source": "ooapi", "ooapi_id": offering_id},
            )
            work.counts["exams_created"] += 1
            work.change("exam_created", exam=label, starts_at=_shown(starts_at))
        else:
            before = _exam_snapshot(exam)
            if exam.removed_in_source_at is not None:
                exam.removed_in_source_at = None
                record(
                    "exam.returned_in_source",
                    actor=None,
                    object_type="exam",
                    object_id=exam.id,
                    after={"source": "ooapi", "ooapi_id": offering_id},
                )
                work.counts["exams_returned"] += 1
                work.change("exam_returned", exam=label)
            old_start = exam.starts_at
            exam.course_code = facts["course_code"]
            exam.title = facts["title"]
            exam.programme_id = facts["programme_id"]
            exam.starts_at = starts_at
            db.session.flush()
            if _exam_snapshot(exam) != before:
                record(
                    "exam.updated",
                    actor=None,
                    object_type="exam",
                    object_id=exam.id,
                    before=before,
                    after={**_exam_snapshot(exam), "source": "ooapi", "ooapi_id": offering_id},
                )
                work.counts["exams_updated"] += 1
            if old_start != starts_at:
                moved = exam_moved(
                    exam.id,
                    moved_from=old_start,
                    moved_to=starts_at,
                    source="the student-information system (OOAPI)",
                )
                work.counts["exams_moved"] += 1
                work.counts["due_dates_moved"] += len(moved)
                work.change(
                    "exam_moved",
                    exam=label,
                    old=_shown(old_start),
                    new=_shown(starts_at),
                    cases=len(moved),
                )
                for case in moved:
                    work.change(
                        "case_due_moved",
                        reference=case.reference,
                        old=case.old_effective_due.isoformat(),
                        new=case.new_effective_due.isoformat(),
                    )
            elif _exam_snapshot(exam) != before:
                work.change("exam_updated", exam=label)
        stored = work.record_for("offering", offering_id, facts)
        stored.local_id = exam.id
        stored.removed_at = None
    for gone in work.gone("offering"):
        gone.removed_at = work.now
        exam = db.session.get(Exam, gone.local_id) if gone.local_id else None
        if exam is None or exam.removed_in_source_at is not None:
            continue
        exam.removed_in_source_at = work.now
        record(
            "exam.removed_in_source",
            actor=None,
            object_type="exam",
            object_id=exam.id,
            after={"source": "ooapi", "ooapi_id": gone.ooapi_id},
        )
        work.counts["exams_removed"] += 1
        work.change("exam_removed", exam=exam.label)


def _apply_persons(work: _Apply) -> None:
    for person_id, (user_id, facts) in work.snapshot.persons.items():
        stored = work.record_for("person", person_id, facts)
        stored.local_id = user_id
        stored.removed_at = None
        user = db.session.get(User, user_id)
        born = facts.get("date_of_birth")
        if user is None or born is None or user.date_of_birth == date.fromisoformat(born):
            continue
        before = {"date_of_birth": user.date_of_birth}
        user.date_of_birth = date.fromisoformat(born)
        db.session.flush()
        record(
            "user.date_of_birth_from_source",
            actor=None,
            object_type="user",
            object_id=user.id,
            before=before,
            after={"date_of_birth": user.date_of_birth, "source": "ooapi"},
        )
        work.counts["dates_of_birth"] += 1
        work.change("date_of_birth", student_number=user.student_number)
    for gone in work.gone("person"):  # not found any more (404) or no longer a student
        gone.removed_at = work.now


def _apply_enrolments(work: _Apply) -> None:
    for person_id, associations in work.snapshot.associations.items():
        user_id = work.snapshot.persons[person_id][0]
        current = {
            e.exam_id: e
            for e in db.session.scalars(
                select(ExamEnrolment).where(
                    ExamEnrolment.student_id == user_id, ExamEnrolment.external_id.is_not(None)
                )
            )
        }
        listed_exams: set[int] = set()
        for association_id, facts in associations.items():
            offering = work.records.get(("offering", facts["offering"]))
            if offering is None or offering.local_id is None:
                continue  # not a test offering the portal knows
            exam_id = offering.local_id
            listed_exams.add(exam_id)
            enrolment = current.get(exam_id)
            if enrolment is None:
                enrolment = ExamEnrolment(
                    exam_id=exam_id,
                    student_id=user_id,
                    state=facts["state"],
                    external_id=association_id,
                )
                db.session.add(enrolment)
                db.session.flush()
                current[exam_id] = enrolment
                record(
                    "enrolment.recorded",
                    actor=None,
                    object_type="enrolment",
                    object_id=enrolment.id,
                    after={"exam_id": exam_id, "student_id": user_id, "state": facts["state"]},
                )
                work.counts["enrolments_created"] += 1
                continue
            before = {"state": enrolment.state, "removed": enrolment.removed_in_source_at}
            if (enrolment.state, enrolment.removed_in_source_at, enrolment.external_id) == (
                facts["state"],
                None,
                association_id,
            ):
                continue
            enrolment.state = facts["state"]
            enrolment.external_id = association_id
            enrolment.removed_in_source_at = None
            db.session.flush()
            record(
                "enrolment.changed",
                actor=None,
                object_type="enrolment",
                object_id=enrolment.id,
                before=before,
                after={"state": enrolment.state, "removed": None},
            )
            work.counts["enrolments_changed"] += 1
        for exam_id, enrolment in current.items():
            if exam_id in listed_exams or enrolment.removed_in_source_at is not None:
                continue
            enrolment.removed_in_source_at = work.now
            db.session.flush()
            record(
                "enrolment.removed_in_source",
                actor=None,
                object_type="enrolment",
                object_id=enrolment.id,
                after={"exam_id": exam_id, "student_id": user_id},
            )
            work.counts["enrolments_removed"] += 1
    if work.counts["enrolments_created"] or work.counts["enrolments_changed"]:
        work.change(
            "enrolments",
            created=work.counts["enrolments_created"],
            changed=work.counts["enrolments_changed"],
        )
    if work.counts["enrolments_removed"]:
        work.change("enrolments_removed", count=work.counts["enrolments_removed"])


def apply(snapshot: Snapshot) -> _Apply:
    """Store the differences between ``snapshot`` and what earlier runs stored (flushes)."""
    records = {(r.kind, r.ooapi_id): r for r in db.session.scalars(select(OoapiRecord))}
    work = _Apply(snapshot=snapshot, now=now_utc(), records=records)
    _apply_programs(work)
    _apply_plain(work, "course", snapshot.courses)
    _apply_plain(work, "component", snapshot.components)
    _apply_offerings(work)
    _apply_persons(work)
    _apply_enrolments(work)
    db.session.flush()
    work.counts["programs_listed"] = len(snapshot.programs)
    work.counts["exams_listed"] = len(snapshot.offerings)
    work.counts["persons_matched"] = len(snapshot.persons)
    return work


def _take_lock() -> bool:
    if db.engine.dialect.name != "postgresql":
        return True
    return bool(
        db.session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
        ).scalar()
    )


def run(
    *,
    trigger: str,
    settings: ClientSettings | None = None,
    actor: User | None = None,
) -> OoapiSyncRun:
    """One sync run, recorded as an :class:`OoapiSyncRun`; the caller commits.

    On a failure to read the source the transaction is rolled back (nothing of the run is
    stored) and a failed run with the error is recorded instead. ``settings`` default to the
    app's OOAPI_* configuration; without OOAPI_BASE_URL this is an error.
    """
    settings = settings or settings_from(current_app.config)
    if settings is None:
        raise OoapiError("config", "OOAPI_BASE_URL is not set")
    started = now_utc()
    if not _take_lock():
        row = OoapiSyncRun(
            trigger=trigger, started_at=started, finished_at=now_utc(), status="skipped"
        )
        db.session.add(row)
        db.session.flush()
        return row
    client = OoapiClient(settings)
    try:
        snapshot = read_source(client, current_app.config["OOAPI_ORGANIZATION_ID"])
    except OoapiError as error:
        db.session.rollback()
        log.warning("OOAPI sync failed: %s", error)
        row = OoapiSyncRun(
            trigger=trigger,
            started_at=started,
            finished_at=now_utc(),
            status="failed",
            error_kind=error.kind,
            error_detail=error.detail,
            requests=client.requests,
        )
        db.session.add(row)
        db.session.flush()
        record(
            "ooapi.sync_failed",
            actor=actor,
            object_type="ooapi_sync",
            object_id=row.id,
            after={"kind": error.kind, "detail": error.detail, "trigger": trigger},
        )
        return row
    work = apply(snapshot)
    row = OoapiSyncRun(
        trigger=trigger,
        started_at=started,
        finished_at=now_utc(),
        status="ok",
        requests=client.requests,
        counts=dict(work.counts),
        changes=work.changes[:MAX_STORED_LINES],
        warnings=snapshot.warnings[:MAX_STORED_LINES],
    )
    db.session.add(row)
    db.session.flush()
    return row


def request_sync(actor: User) -> int:
    """The admin's "sync now": queue one sync after the commit, on the trail with who asked."""
    task_id = queue_task("rights_portal.ooapi_sync", "manual")
    record(
        "ooapi.sync_requested",
        actor=actor,
        object_type="ooapi_sync",
        after={"outbox_task_id": task_id},
    )
    return task_id


@dataclass(frozen=True)
class Overview:
    """What the admin page shows: the latest runs and how much the sync has linked."""

    runs: list[OoapiSyncRun]
    linked: dict[str, int]
    removed_exams: list[Exam]
    unassigned_programmes: int


def overview(limit: int = 10) -> Overview:
    """The latest runs, counts of linked objects and the exams removed in the source."""
    runs = list(
        db.session.scalars(select(OoapiSyncRun).order_by(OoapiSyncRun.id.desc()).limit(limit))
    )
    linked: dict[str, int] = {}
    rows = db.session.execute(
        select(OoapiRecord.kind, db.func.count())
        .where(OoapiRecord.removed_at.is_(None))
        .group_by(OoapiRecord.kind)
    ).all()
    for kind, count in rows:
        linked[kind] = int(count)
    linked["enrolments"] = int(
        db.session.scalar(
            select(db.func.count())
            .select_from(ExamEnrolment)
            .where(
                ExamEnrolment.removed_in_source_at.is_(None),
                ExamEnrolment.state.in_(mapping.ACTIVE_STATES),
            )
        )
        or 0
    )
    removed = list(
        db.session.scalars(
            select(Exam).where(Exam.removed_in_source_at.is_not(None)).order_by(Exam.starts_at)
        )
    )
    unassigned = int(
        db.session.scalar(
            select(db.func.count())
            .select_from(Programme)
            .join(ExamBoard, ExamBoard.id == Programme.exam_board_id)
            .where(ExamBoard.name == UNASSIGNED_BOARD)
        )
        or 0
    )
    return Overview(
        runs=runs, linked=linked, removed_exams=removed, unassigned_programmes=unassigned
    )

"""The register's named operations and its one source of truth for tool facts.

Writers: :func:`create_entry` (a new tool with version 1), :func:`save_version` (a new immutable
version; the purpose is fixed once set) and :func:`save_exam` (an exam and the tool it uses; a
tool that is not ready needs a recorded DPO override). Each validates, changes, writes the audit
event with before/after and flushes; the caller commits.

Readers: :func:`current_facts` and :func:`facts_at_version` give privacy notices and access
letters (R11) the purposes, data categories, recipients, transfer safeguards, retention and legal
basis of a tool, with the version number a letter records. :func:`checklist_for` evaluates the
AP checklist (:mod:`rights_portal.register.checklist`) on the current version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..accounts.models import Role, User
from ..audit.services import record
from ..clock import to_local, today_local
from ..errors import RuleViolation
from ..exams.models import Exam, ProctoringTool, Programme, ToolKind
from ..extensions import db
from ..notifications.services import notify_user
from .checklist import Checklist, evaluate
from .labels import LEGAL_BASIS_LABELS
from .models import FACT_FIELDS, ExamToolOverride, LegalBasis, RegisterVersion

# --- the facts letters and notices read ----------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Someone who receives the data: the supplier or one of its sub-processors."""

    name: str
    role: str  # "vendor" or "sub_processor"
    email: str | None = None


@dataclass(frozen=True)
class RegisterFacts:
    """A tool's facts at one register version, as a letter or privacy notice cites them (R11)."""

    tool_id: int
    tool_name: str
    kind: ToolKind
    version: int
    recorded_at: datetime
    purpose: str
    data_categories: tuple[str, ...]
    vendor: str
    vendor_email: str | None
    sub_processors: tuple[str, ...]
    outside_eea: bool
    transfer_safeguards: str | None
    retention_days: int
    legal_basis: LegalBasis | None
    legal_basis_explanation: str
    intrusion_limits: str
    recording_rules: str
    privacy_notice: str

    @property
    def purposes(self) -> tuple[str, ...]:
        """The purposes of the processing (one per register entry: a new purpose is a new one)."""
        return (self.purpose,) if self.purpose else ()

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """The supplier first, then its sub-processors."""
        vendor = Recipient(self.vendor, "vendor", self.vendor_email)
        return (vendor, *(Recipient(name, "sub_processor") for name in self.sub_processors))

    @property
    def legal_basis_label(self) -> str:
        """The legal basis in the current language, e.g. "GDPR art. 6(1)(e): …"."""
        return "" if self.legal_basis is None else str(LEGAL_BASIS_LABELS[self.legal_basis])

    @classmethod
    def of(cls, tool: ProctoringTool, version: RegisterVersion) -> RegisterFacts:
        """Build the facts of ``tool`` at ``version``."""
        return cls(
            tool_id=tool.id,
            tool_name=tool.name,
            kind=tool.kind,
            version=version.number,
            recorded_at=version.created_at,
            purpose=version.purpose,
            data_categories=tuple(version.data_categories or ()),
            vendor=version.vendor,
            vendor_email=version.vendor_email,
            sub_processors=tuple(version.sub_processors or ()),
            outside_eea=version.outside_eea,
            transfer_safeguards=version.transfer_safeguards or None,
            retention_days=version.retention_days,
            legal_basis=version.legal_basis,
            legal_basis_explanation=version.legal_basis_explanation,
            intrusion_limits=version.intrusion_limits,
            recording_rules=version.recording_rules,
            privacy_notice=version.privacy_notice,
        )


def current_facts(tool_id: int) -> RegisterFacts:
    """The facts of the tool's current (latest) register version; LookupError for no such tool."""
    tool = _tool(tool_id)
    return RegisterFacts.of(tool, current_version(tool))


def facts_at_version(tool_id: int, version: int) -> RegisterFacts:
    """The facts as they were at ``version`` (what an earlier letter cited); LookupError if none."""
    tool = _tool(tool_id)
    found = version_of(tool, version)
    if found is None:
        raise LookupError(f"tool {tool_id} has no register version {version}")
    return RegisterFacts.of(tool, found)


def _tool(tool_id: int) -> ProctoringTool:
    tool = db.session.get(ProctoringTool, tool_id)
    if tool is None:
        raise LookupError(f"no tool {tool_id}")
    return tool


# --- versions -------------------------------------------------------------------------------


def version_of(tool: ProctoringTool, number: int) -> RegisterVersion | None:
    """Version ``number`` of the tool's register entry, if it exists."""
    return db.session.scalars(
        select(RegisterVersion).where(
            RegisterVersion.tool_id == tool.id, RegisterVersion.number == number
        )
    ).one_or_none()


def _latest(tool: ProctoringTool) -> RegisterVersion | None:
    return db.session.scalars(
        select(RegisterVersion)
        .where(RegisterVersion.tool_id == tool.id)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    ).one_or_none()


def current_version(tool: ProctoringTool) -> RegisterVersion:
    """The tool's latest version; a tool that predates the register is adopted as version 1."""
    latest = _latest(tool)
    if latest is not None:
        return latest
    _lock(tool)
    latest = _latest(tool)  # another transaction may have adopted it while we waited
    if latest is not None:
        return latest
    version = RegisterVersion(
        tool_id=tool.id,
        number=1,
        purpose=tool.purpose or "",
        data_categories=list(tool.data_categories or []),
        vendor=tool.vendor,
        vendor_email=tool.vendor_email,
        sub_processors=[],
        outside_eea=tool.outside_eea,
        transfer_safeguards=tool.transfer_safeguards or "",
        retention_days=tool.retention_days,
        change_note="Adopted from the tool record that predates the register.",
    )
    db.session.add(version)
    db.session.flush()
    record(
        "register.entry_adopted",
        actor=None,
        object_type="register_entry",
        object_id=tool.id,
        after={"version": 1, **_facts_of(version)},
    )
    return version


def versions(tool: ProctoringTool) -> list[RegisterVersion]:
    """Every version of the tool's entry, oldest first."""
    current_version(tool)
    return list(
        db.session.scalars(
            select(RegisterVersion)
            .where(RegisterVersion.tool_id == tool.id)
            .order_by(RegisterVersion.number)
        )
    )


def changes_between(
    before: RegisterVersion | None, after: RegisterVersion
) -> list[tuple[str, Any, Any]]:
    """The facts that differ between two versions, as (field, old value, new value)."""
    if before is None:
        return [(name, None, getattr(after, name)) for name in FACT_FIELDS]
    return [
        (name, getattr(before, name), getattr(after, name))
        for name in FACT_FIELDS
        if getattr(before, name) != getattr(after, name)
    ]


def _facts_of(version: RegisterVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in FACT_FIELDS}


def _lock(tool: ProctoringTool) -> None:
    """Serialise writers of one entry so version numbers are handed out one by one."""
    db.session.execute(
        select(ProctoringTool.id).where(ProctoringTool.id == tool.id).with_for_update()
    )


def _clean_text(value: object) -> str:
    return str(value or "").strip()


def _clean_list(value: object) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    items = [str(item).strip() for item in (value or [])]  # type: ignore[attr-defined]
    return [item for item in items if item]


def normalise_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Return a full set of facts: unknown keys refused, texts trimmed, lists cleaned."""
    unknown = set(facts) - set(FACT_FIELDS)
    if unknown:
        raise ValueError(f"unknown register fields: {sorted(unknown)}")
    clean: dict[str, Any] = {}
    for name in FACT_FIELDS:
        value = facts.get(name)
        if name in ("data_categories", "sub_processors"):
            clean[name] = _clean_list(value)
        elif name == "legal_basis":
            clean[name] = LegalBasis(value) if value else None
        elif name == "outside_eea":
            clean[name] = bool(value)
        elif name == "retention_days":
            clean[name] = int(value) if value is not None else 90
        elif name == "vendor_email":
            clean[name] = _clean_text(value).lower() or None
        elif name.endswith("_on") or name == "in_use_since":
            clean[name] = value or None
        else:
            clean[name] = _clean_text(value)
    _validate(clean)
    return clean


def _validate(facts: dict[str, Any]) -> None:
    """The rules a version must meet whatever form or command produced it."""
    today = today_local()
    if not facts["vendor"]:
        raise RuleViolation(_l("Name the supplier of the tool."))
    if facts["retention_days"] < 1:
        raise RuleViolation(_l("The retention period must be at least one day."))
    dpia_on, review_on = facts["dpia_on"], facts["dpia_next_review_on"]
    if dpia_on and review_on and review_on <= dpia_on:
        raise RuleViolation(_l("The next DPIA review must come after the DPIA."))
    signed, expires = facts["processor_agreement_on"], facts["processor_agreement_expires_on"]
    if signed and expires and expires <= signed:
        raise RuleViolation(_l("The processor agreement must expire after it was signed."))
    for name in ("dpia_on", "dpo_advice_on", "necessity_reviewed_on", "processor_agreement_on"):
        if facts[name] is not None and facts[name] > today:
            # Advice or an assessment that has not happened yet cannot be recorded as done.
            raise RuleViolation(
                _l("A date of something that has already happened cannot lie in the future.")
            )


def _sync_tool(tool: ProctoringTool, version: RegisterVersion) -> None:
    """Copy the current facts onto the tool row, which older readers (R25 retention) use."""
    tool.vendor = version.vendor
    tool.vendor_email = version.vendor_email
    tool.purpose = version.purpose
    tool.data_categories = list(version.data_categories)
    tool.retention_days = version.retention_days
    tool.outside_eea = version.outside_eea
    tool.transfer_safeguards = version.transfer_safeguards or None


def create_entry(
    *,
    name: str,
    kind: ToolKind,
    facts: dict[str, Any],
    actor: User | None,
    change_note: str = "",
) -> ProctoringTool:
    """Add a tool to the register with its first version."""
    name = name.strip()
    if not name:
        raise RuleViolation(_l("Give the tool a name."))
    if db.session.scalars(select(ProctoringTool.id).where(ProctoringTool.name == name)).first():
        raise RuleViolation(_l("A tool with this name is already in the register."))
    clean = normalise_facts(facts)
    tool = ProctoringTool(
        name=name,
        kind=kind,
        vendor=clean["vendor"],
        retention_days=clean["retention_days"],
    )
    db.session.add(tool)
    db.session.flush()
    version = RegisterVersion(
        tool_id=tool.id,
        number=1,
        change_note=change_note.strip(),
        created_by_id=getattr(actor, "id", None),
        **clean,
    )
    db.session.add(version)
    _sync_tool(tool, version)
    db.session.flush()
    record(
        "register.entry_created",
        actor=actor,
        object_type="register_entry",
        object_id=tool.id,
        after={"name": tool.name, "kind": tool.kind, "version": 1, **clean},
    )
    return tool


def save_version(
    tool: ProctoringTool, facts: dict[str, Any], *, actor: User | None, change_note: str = ""
) -> RegisterVersion | None:
    """Record changed facts as a new version; None when nothing changed (no empty versions).

    The purpose is fixed once set: the AP ties every other fact (necessity, DPIA, advice) to the
    purpose, so a new purpose needs a new register entry rather than an edit.
    """
    _lock(tool)
    previous = current_version(tool)
    clean = normalise_facts(facts)
    if previous.purpose.strip() and clean["purpose"] != previous.purpose.strip():
        raise RuleViolation(
            _l(
                "The purpose of a register entry cannot be changed. Create a new register entry "
                "for the new purpose."
            )
        )
    changed = {name: value for name, value in clean.items() if getattr(previous, name) != value}
    if not changed:
        return None
    version = RegisterVersion(
        tool_id=tool.id,
        number=previous.number + 1,
        change_note=change_note.strip(),
        created_by_id=getattr(actor, "id", None),
        **clean,
    )
    db.session.add(version)
    _sync_tool(tool, version)
    db.session.flush()
    record(
        "register.version_created",
        actor=actor,
        object_type="register_entry",
        object_id=tool.id,
        before={"version": previous.number, **{n: getattr(previous, n) for n in changed}},
        after={"version": version.number, "change_note": version.change_note, **changed},
    )
    return version


# --- the checklist --------------------------------------------------------------------------


def first_use(
    tool: ProctoringTool, version: RegisterVersion, *, extra: date | None = None
) -> date | None:
    """The day the tool was (or will be) first used: its entry's start or its earliest exam."""
    earliest_exam = db.session.scalar(
        select(func.min(Exam.starts_at)).where(Exam.proctoring_tool_id == tool.id)
    )
    candidates = [
        version.in_use_since,
        to_local(earliest_exam).date() if earliest_exam is not None else None,
        extra,
    ]
    dates = [day for day in candidates if day is not None]
    return min(dates) if dates else None


def checklist_for(
    tool: ProctoringTool, *, today: date | None = None, extra_use: date | None = None
) -> Checklist:
    """The AP checklist of the tool's current version; ``extra_use`` adds a planned exam day."""
    version = current_version(tool)
    return evaluate(
        version,
        tool.kind,
        first_use=first_use(tool, version, extra=extra_use),
        today=today or today_local(),
    )


@dataclass(frozen=True)
class RegisterRow:
    """One tool on the register overview."""

    tool: ProctoringTool
    version: RegisterVersion
    checklist: Checklist


def register_overview(today: date | None = None) -> list[RegisterRow]:
    """Every tool with its current version and checklist, by name."""
    rows = []
    for tool in db.session.scalars(select(ProctoringTool).order_by(ProctoringTool.name)):
        version = current_version(tool)
        checklist = evaluate(
            version, tool.kind, first_use=first_use(tool, version), today=today or today_local()
        )
        rows.append(RegisterRow(tool, version, checklist))
    return rows


# --- exams and the tool they use -----------------------------------------------------------


@dataclass(frozen=True)
class OverrideRequest:
    """The DPO's decision that an exam may use a tool that is not ready."""

    dpo: User
    decided_on: date
    reason: str


def _exam_snapshot(exam: Exam) -> dict[str, Any]:
    return {
        "course_code": exam.course_code,
        "title": exam.title,
        "programme_id": exam.programme_id,
        "starts_at": exam.starts_at,
        "proctoring_tool_id": exam.proctoring_tool_id,
    }


def save_exam(
    exam: Exam | None,
    *,
    course_code: str,
    title: str,
    programme: Programme,
    starts_at: datetime,
    tool: ProctoringTool | None,
    actor: User,
    override: OverrideRequest | None = None,
) -> Exam:
    """Create or change an exam; linking a tool that is not ready needs a DPO override.

    Only the act of linking is checked: an exam already linked to a tool keeps it when other
    details change, so a title can be corrected while the tool's checklist is being completed.
    """
    course_code, title = course_code.strip(), title.strip()
    if not course_code or not title:
        raise RuleViolation(_l("An exam needs a course code and a title."))
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    creating = exam is None
    before = None if exam is None else _exam_snapshot(exam)
    linking = tool is not None and (exam is None or exam.proctoring_tool_id != tool.id)
    checklist = None
    if linking and tool is not None:
        checklist = checklist_for(tool, extra_use=to_local(starts_at).date())
        if not checklist.ready:
            if override is None:
                missing = ", ".join(str(item.label) for item in checklist.open_items)
                raise RuleViolation(
                    _l(
                        "%(tool)s is not ready: %(missing)s. An exam can use it only with a "
                        "recorded override by the DPO (who, when and why).",
                        tool=tool.name,
                        missing=missing,
                    )
                )
            _check_override(override)
    if exam is None:
        exam = Exam(
            course_code=course_code, title=title, programme_id=programme.id, starts_at=starts_at
        )
        db.session.add(exam)
    exam.course_code = course_code
    exam.title = title
    exam.programme_id = programme.id
    exam.starts_at = starts_at
    exam.proctoring_tool_id = tool.id if tool is not None else None
    db.session.flush()
    record(
        "exam.created" if creating else "exam.updated",
        actor=actor,
        object_type="exam",
        object_id=exam.id,
        before=before,
        after=_exam_snapshot(exam),
    )
    if checklist is not None and not checklist.ready and override is not None and tool is not None:
        _record_override(exam, tool, checklist, override, actor)
    return exam


def _check_override(override: OverrideRequest) -> None:
    if override.dpo.role is not Role.DPO or not override.dpo.is_active_account:
        raise RuleViolation(_l("An override must be given by a data protection officer (DPO)."))
    if not override.reason.strip():
        raise RuleViolation(_l("Write down the DPO's reason for the override."))
    if override.decided_on > today_local():
        raise RuleViolation(_l("The DPO's decision cannot be dated in the future."))


def _record_override(
    exam: Exam, tool: ProctoringTool, checklist: Checklist, override: OverrideRequest, actor: User
) -> ExamToolOverride:
    reason = override.reason.strip()
    row = ExamToolOverride(
        exam_id=exam.id,
        tool_id=tool.id,
        register_version=checklist.version,
        missing_items=checklist.open_keys,
        reason=reason,
        dpo_id=override.dpo.id,
        decided_on=override.decided_on,
        recorded_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    record(
        "exam.tool_override",
        actor=actor,
        object_type="exam",
        object_id=exam.id,
        after={
            "tool_id": tool.id,
            "register_version": checklist.version,
            "missing_items": checklist.open_keys,
            "dpo_id": override.dpo.id,
            "decided_on": override.decided_on,
            "reason": reason,
        },
    )
    if override.dpo.id != actor.id:
        # Someone else recorded a decision in the DPO's name: the DPO hears of it at once.
        notify_user(
            override.dpo, "register_override", exam=exam, tool=tool, override=row, recorded_by=actor
        )
    return row


def overrides_for(tool: ProctoringTool) -> list[ExamToolOverride]:
    """The DPO overrides recorded for exams using the tool, newest first."""
    return list(
        db.session.scalars(
            select(ExamToolOverride)
            .where(ExamToolOverride.tool_id == tool.id)
            .order_by(ExamToolOverride.id.desc())
        )
    )


def exams_using(tool: ProctoringTool) -> list[Exam]:
    """The exams linked to the tool, soonest first."""
    return list(
        db.session.scalars(
            select(Exam).where(Exam.proctoring_tool_id == tool.id).order_by(Exam.starts_at)
        )
    )


def active_dpos() -> list[User]:
    """The data protection officers who can receive reminders and give overrides."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.DPO, User.is_active_account.is_(True))
            .order_by(User.full_name)
        )
    )

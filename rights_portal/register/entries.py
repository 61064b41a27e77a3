"""The register's entries: immutable versions of a tool's facts, and the AP checklist on them.

Writers: :func:`create_entry` (a new tool with version 1) and :func:`save_version` (a new
immutable version; the purpose is fixed once set). Each validates, changes, writes the audit
event with before/after and flushes; the caller commits. :func:`checklist_for` evaluates the AP
checklist (:mod:`rights_portal.register.checklist`) on the current version;
:func:`register_overview` lists every tool with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..accounts.models import User
from ..audit.services import record
from ..clock import to_local, today_local
from ..errors import RuleViolation
from ..exams.models import Exam, ProctoringTool, ToolKind
from ..extensions import db
from .checklist import Checklist, evaluate
from .models import FACT_FIELDS, LegalBasis, RegisterVersion


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

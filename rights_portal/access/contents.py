"""What an access package says (R11, R12): data.json, data.csv and the cover letter's facts.

Everything held that was asked for, each item with how it was released (or why not, R13), the
art. 15 facts of the tools used, and the automatic redaction's record (R27). The builder in
:mod:`.package` writes these into the ZIP.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask import current_app

from ..cases.labels import CASE_TYPE_LABELS, OUTCOME_LABELS
from ..cases.models import Outcome
from ..clock import now_utc
from ..exams.models import ProctoringTool
from . import redaction
from .decisions import refusal_text
from .filing import scope_summary
from .holdings import HeldItem, Holdings, required
from .labels import FILE_KIND_LABELS, RELEASE_LABELS, REVIEW_LABELS
from .letter import FACTS_SOURCE, art15_facts
from .models import AccessPackage, ItemType, Release

FORMAT = "rights-portal/access-package/1"


def _tools(holdings: Holdings) -> list[ProctoringTool]:
    tools: dict[int, ProctoringTool] = {}
    for group in holdings.exams:
        tool = group.exam.proctoring_tool if group.exam else None
        if tool is not None and any(item.in_scope for item in group.items()):
            tools[tool.id] = tool
    return [tools[key] for key in sorted(tools)]


def facts_used(holdings: Holdings) -> dict[str, Any]:
    """The art. 15 facts of the tools used, as read for this package (R12)."""
    return {
        "source": FACTS_SOURCE,
        "read_at": now_utc().isoformat(),
        "tools": [art15_facts(tool) for tool in _tools(holdings)],
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


def _decision_fields(item: HeldItem) -> dict[str, Any]:
    decision = item.decision
    fields: dict[str, Any] = {"release": item.release.value}
    if decision is not None and decision.decision.is_partial_refusal:
        fields["reason"] = decision.reason
        if decision.decision is Release.REDACTED:
            fields["redaction_protects"] = decision.protects
    return fields


def data_document(
    holdings: Holdings, package: AccessPackage, facts_used: dict[str, Any], paths: dict[str, str]
) -> dict[str, Any]:
    """``data.json``: everything held that was asked for, machine-readable (R12)."""
    case = holdings.case
    subject = case.subject
    exams = []
    for group in holdings.exams:
        recordings = []
        for held in group.recordings:
            files = [_file_entry(item, paths) for item in held.files if item.in_scope]
            flags = [_flag_entry(item) for item in held.flags if item.in_scope]
            if not files and not flags:
                continue
            recording = held.recording
            recordings.append(
                {
                    "id": recording.id,
                    "recorded_at": _iso(recording.recorded_at),
                    "retention_until": _iso(recording.retention_until),
                    "files": files,
                    "automated_flags": flags,
                }
            )
        notes = [_note_entry(item) for item in group.notes if item.in_scope]
        if not recordings and not notes:
            continue
        exam = group.exam
        exams.append(
            {
                "exam": None
                if exam is None
                else {
                    "id": exam.id,
                    "course_code": exam.course_code,
                    "title": exam.title,
                    "starts_at": _iso(exam.starts_at),
                    "proctoring_tool": exam.proctoring_tool.name if exam.proctoring_tool else None,
                },
                "recordings": recordings,
                "exam_board_decisions": notes,
            }
        )
    return {
        "format": FORMAT,
        "generated_at": now_utc().isoformat(),
        "case": {
            "reference": case.reference,
            "received_on": _iso(case.received_on),
            "request": str(CASE_TYPE_LABELS[case.case_type]),
            "scope": scope_summary(holdings.scope),
        },
        "data_subject": {
            "full_name": subject.full_name,
            "email": subject.email,
            "student_number": subject.student_number,
            "date_of_birth": _iso(subject.date_of_birth),
            "programme": subject.programme.name if subject.programme else None,
        },
        "information_article_15": facts_used,
        "exams": exams,
        "partial_refusals": [
            {"item": item.key, "description": refusal_text(item), **_decision_fields(item)}
            for item in holdings.partial_refusals()
        ],
    }


def _file_entry(item: HeldItem, paths: dict[str, str]) -> dict[str, Any]:
    stored = required(item.file, "the recording file")
    entry: dict[str, Any] = {
        "id": stored.id,
        "kind": stored.kind.value,
        "media_type": stored.media_type,
        "size_bytes": stored.size_bytes,
        **_decision_fields(item),
    }
    if item.deleted:
        entry.update(release="deleted", deleted_at=_iso(item.deleted_at), sha256=stored.sha256)
        return entry
    if item.release is Release.WITHHELD:
        return entry
    entry.update(original_filename=stored.filename, sha256=stored.sha256)
    entry["package_path"] = paths.get(item.key)
    decision = item.decision
    if decision is not None and decision.decision is Release.REDACTED:
        entry["redacted_copy"] = {
            "sha256": decision.redacted_sha256,
            "size_bytes": decision.redacted_size_bytes,
            "media_type": decision.redacted_media_type,
        }
        automatic = automatic_redaction(item)
        if automatic is not None:
            entry["redacted_copy"]["automatic_redaction"] = {
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in automatic.items()
                if key not in ("requested_by", "execution_provider")
            }
        # The original is not in the package; its hash would only invite confusion.
        entry.pop("sha256")
    return entry


def _flag_entry(item: HeldItem) -> dict[str, Any]:
    flag = required(item.flag, "the flag")
    entry: dict[str, Any] = {"id": flag.id, **_decision_fields(item)}
    if item.release is Release.WITHHELD:
        return entry
    entry.update(
        code=flag.code,
        description=flag.description,
        offset_seconds=flag.offset_seconds,
        raised_at=_iso(flag.raised_at),
        review_status=flag.review_status.value,
        review=str(REVIEW_LABELS[flag.review_status]),
    )
    return entry


def _note_entry(item: HeldItem) -> dict[str, Any]:
    note = required(item.note, "the exam-board decision")
    entry: dict[str, Any] = {"case_reference": note.reference, **_decision_fields(item)}
    if item.release is Release.WITHHELD:
        return entry
    entry.update(
        request=str(CASE_TYPE_LABELS[note.case_type]),
        outcome=note.outcome.value if note.outcome else None,
        reasons=note.decision_reasons,
        legal_basis=note.legal_basis,
        decided_at=_iso(note.decided_at),
    )
    return entry


CSV_COLUMNS = [
    "item",
    "type",
    "exam",
    "recorded_at",
    "kind_or_code",
    "description",
    "size_bytes",
    "sha256",
    "release",
    "reason",
    "package_path",
]


def data_csv(holdings: Holdings, paths: dict[str, str]) -> str:
    """``data.csv``: one line per requested item, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in holdings.items():
        if not item.in_scope:
            continue
        decision = item.decision
        withheld = item.release is Release.WITHHELD
        row: dict[str, Any] = {
            "item": item.key,
            "type": item.item_type.value,
            "exam": item.exam.label if item.exam else "",
            "release": "deleted" if item.deleted else item.release.value,
            "reason": (decision.reason or "") if decision else "",
            "size_bytes": item.size_bytes,
        }
        if item.file is not None:
            redacted = decision is not None and decision.decision is Release.REDACTED
            row.update(
                recorded_at=_iso(item.file.recording.recorded_at),
                kind_or_code=item.file.kind.value,
                description="" if withheld else item.file.filename,
                sha256=""
                if withheld
                else (decision.redacted_sha256 if redacted and decision else item.file.sha256),
                package_path=paths.get(item.key, ""),
            )
        elif item.flag is not None:
            row.update(
                recorded_at=_iso(item.flag.recording.recorded_at),
                kind_or_code="" if withheld else item.flag.code,
                description="" if withheld else item.flag.description,
            )
        elif item.note is not None:
            row.update(
                kind_or_code=item.note.reference,
                description="" if withheld else (item.note.decision_reasons or ""),
            )
        writer.writerow([_csv_safe(row.get(column, "")) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_safe(value: Any) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def automatic_redaction(item: HeldItem) -> dict[str, Any] | None:
    """The record of the automatic redaction behind ``item``'s redacted copy (R13, R27), if any."""
    decision = item.decision
    if decision is None or decision.decision is not Release.REDACTED:
        return None
    found = redaction.record_for_decision(decision)
    if found is not None and found.get("reviewed_at"):
        found["reviewed_at"] = datetime.fromisoformat(found["reviewed_at"])
    return found


def letter_context(
    holdings: Holdings, package: AccessPackage, facts_used: dict[str, Any], paths: dict[str, str]
) -> dict[str, Any]:
    """What the cover letter template needs, computed in the requester's language."""
    case = holdings.case
    refusals = holdings.partial_refusals()
    outcome = Outcome.PARTLY_GRANTED if refusals else Outcome.GRANTED
    groups = []
    for group in holdings.exams:
        requested = [item for item in group.items() if item.in_scope]
        if not requested:
            continue
        groups.append(
            {
                "exam": group.exam,
                "tool": group.exam.proctoring_tool if group.exam else None,
                "recordings": [
                    held.recording
                    for held in group.recordings
                    if any(i.in_scope for i in [*held.files, *held.flags])
                ],
                "files": [
                    {
                        "label": item.label(),
                        "release": RELEASE_LABELS[item.release],
                        "path": paths.get(item.key),
                        "size_bytes": source_size(item),
                        "deleted": item.deleted,
                    }
                    for item in requested
                    if item.file is not None
                ],
                "flags": [item for item in requested if item.flag is not None],
                "notes": [item for item in requested if item.note is not None],
            }
        )
    return {
        "case": case,
        "subject": case.subject,
        "requester": case.filed_by,
        "institution": current_app.config["INSTITUTION_NAME"],
        "portal_url": current_app.config["PORTAL_BASE_URL"],
        "generated_at": now_utc(),
        "outcome": outcome,
        "outcome_label": OUTCOME_LABELS[outcome],
        "facts": facts_used["tools"],
        "groups": groups,
        "refusals": [
            {
                "label": item.label(),
                "withheld": item.release is Release.WITHHELD,
                "protects": item.decision.protects if item.decision else None,
                "reason": item.decision.reason if item.decision else None,
                "automatic": automatic_redaction(item),
            }
            for item in refusals
        ],
        "file_kind_labels": FILE_KIND_LABELS,
        "review_labels": REVIEW_LABELS,
        "item_type_flag": ItemType.FLAG,
    }


def source_size(item: HeldItem) -> int:
    """The bytes this item puts in the package: its redacted copy, or the file itself."""
    decision = item.decision
    if decision is not None and decision.decision is Release.REDACTED:
        return decision.redacted_size_bytes or 0
    return item.file.size_bytes if item.file else 0

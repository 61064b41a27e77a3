"""Building an access package: a ZIP streamed file by file (R11, R12; docs/rules.md#targets).

The worker's task calls :func:`build`. It takes the build (queued → building) on its own short
transaction so the handler sees it start, then writes the ZIP into the package store's work
folder: every media file is copied chunk by chunk from the recordings store (whose reader checks
its sha256) into a ZIP64 entry opened with ``ZipFile.open(name, "w")``, so peak memory does not
depend on the size of the recordings. Then ``data.json`` and ``data.csv`` (everything held that
was asked for, and what was not released and why) and the cover letter as HTML and PDF. Progress
is written on its own connection as it goes, for the handler's progress page.

:func:`build` leaves the final state (ready, or failed with the error) in the caller's session;
the task commits it. Which items go in, and how, is decided by :mod:`.services`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import mimetypes
import re
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, or_, update

from ..audit.services import record
from ..cases.labels import CASE_TYPE_LABELS, OUTCOME_LABELS
from ..cases.models import Outcome
from ..clock import now_utc, to_local
from ..exams.models import ProctoringTool
from ..extensions import db
from . import storage as storage_module
from .labels import FILE_KIND_LABELS, RELEASE_LABELS, REVIEW_LABELS
from .letter import FACTS_SOURCE, art15_facts, render_letter, render_pdf
from .models import AccessPackage, ItemType, PackageStatus, Release
from .services import (
    STALE_BUILD,
    HeldItem,
    Holdings,
    delete_after_rollback,
    gather,
    refusal_text,
    required,
    scope_summary,
)

log = logging.getLogger(__name__)
BUILD_TASK = "rights_portal.build_access_package"
FORMAT = "rights-portal/access-package/1"
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
Progress = Callable[[int], None]


def enqueue_build(package_id: int) -> None:
    """Send the build task (after the commit that created the package).

    If the broker is down the package stays queued and the housekeeping task sends it again.
    """
    celery = current_app.extensions["celery"]
    try:
        celery.tasks[BUILD_TASK].delay(package_id)
    except Exception:
        log.warning("could not enqueue build of package %s; housekeeping will retry", package_id)


def claim(package_id: int) -> bool:
    """Take the build on a separate, immediately committed transaction; False if not ours."""
    now = now_utc()
    with db.engine.begin() as conn:
        taken = conn.execute(
            update(AccessPackage)
            .where(
                AccessPackage.id == package_id,
                or_(
                    AccessPackage.status == PackageStatus.QUEUED,
                    and_(
                        AccessPackage.status == PackageStatus.BUILDING,
                        AccessPackage.heartbeat_at <= now - STALE_BUILD,
                    ),
                ),
            )
            .values(status=PackageStatus.BUILDING, heartbeat_at=now, progress=0)
        )
        return taken.rowcount == 1


class ProgressWriter:
    """Writes the build's progress (and heartbeat) on its own connection, at most twice a second."""

    def __init__(self, package_id: int, interval: float = 0.5) -> None:
        self.package_id = package_id
        self.interval = interval
        self.last_value = -1
        self.last_time = 0.0

    def __call__(self, percent: int) -> None:
        """Record ``percent`` (0-100) unless it is unchanged or was written a moment ago."""
        percent = max(0, min(99, int(percent)))  # 100 is written with the final state
        moment = time.monotonic()
        if percent == self.last_value or moment - self.last_time < self.interval:
            return
        self.last_value, self.last_time = percent, moment
        with db.engine.begin() as conn:
            conn.execute(
                update(AccessPackage)
                .where(AccessPackage.id == self.package_id)
                .values(progress=percent, heartbeat_at=now_utc())
            )


def build(package_id: int, progress: Progress | None = None) -> PackageStatus | None:
    """Build package ``package_id``; return its new status (None if it was not ours to build)."""
    if not claim(package_id):
        return None
    progress = progress or ProgressWriter(package_id)
    package = required(db.session.get(AccessPackage, package_id), f"package {package_id}")
    store = storage_module.packages_storage()
    work = store.new_work_file()
    try:
        contents = write_package(package, work, progress)
        stored = store.put_file(work)
    except Exception as exc:
        log.exception("building access package %s failed", package_id)
        db.session.rollback()
        work.unlink(missing_ok=True)
        return _mark_failed(package_id, exc)
    delete_after_rollback(store, stored.key)
    package.status = PackageStatus.READY
    package.progress = 100
    package.built_at = now_utc()
    package.heartbeat_at = package.built_at
    package.storage_key = stored.key
    package.sha256 = stored.sha256
    package.size_bytes = stored.size
    package.error = None
    for name, value in contents.items():
        setattr(package, name, value)
    db.session.flush()
    record(
        "package.built",
        actor=None,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={
            "sha256": stored.sha256,
            "size_bytes": stored.size,
            "file_count": package.file_count,
            "partial_refusals": package.partial_refusals,
            "facts_source": FACTS_SOURCE,
        },
    )
    return package.status


def _mark_failed(package_id: int, exc: Exception) -> PackageStatus:
    package = required(db.session.get(AccessPackage, package_id), f"package {package_id}")
    if isinstance(exc, storage_module.IntegrityError):
        error = f"a stored recording is damaged: {exc}"
    elif isinstance(exc, storage_module.MissingFile):
        error = f"a stored recording is missing: {exc}"
    else:
        error = f"{type(exc).__name__}: {exc}"
    package.status = PackageStatus.FAILED
    package.error = error[:2000]
    db.session.flush()
    record(
        "package.build_failed",
        actor=None,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={"error": package.error},
    )
    return package.status


# --- the ZIP --------------------------------------------------------------------------------


def write_package(package: AccessPackage, path: Path, progress: Progress) -> dict[str, Any]:
    """Write the ZIP to ``path``; return the facts the package row keeps about its contents."""
    case = package.case
    holdings = gather(case)
    fingerprint = holdings.fingerprint()
    recordings = storage_module.recordings_storage()
    files = holdings.included_files()
    total = sum(_source_size(item) for item in files) or 1
    copied = 0
    progress(1)
    paths: dict[str, str] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for item in files:
            name = _package_path(item)
            paths[item.key] = name
            info = zipfile.ZipInfo(name, date_time=_zip_time(item.file.recording.recorded_at))  # type: ignore[union-attr]
            info.compress_type = zipfile.ZIP_STORED  # media is compressed already
            info.external_attr = 0o644 << 16
            with (
                _open_source(recordings, item) as source,
                zf.open(info, "w", force_zip64=True) as target,
            ):
                while chunk := source.read(storage_module.CHUNK_SIZE):
                    target.write(chunk)
                    copied += len(chunk)
                    progress(1 + 89 * copied // total)
        progress(90)
        facts_used = _facts_used(holdings)
        with force_locale(package.locale):
            document = data_document(holdings, package, facts_used, paths)
            zf.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
            zf.writestr("data.csv", data_csv(holdings, paths))
            html = render_letter(
                package.locale, **letter_context(holdings, package, facts_used, paths)
            )
        zf.writestr("cover-letter.html", html)
        progress(93)
        zf.writestr("cover-letter.pdf", render_pdf(html))
        progress(98)
    return {
        "letter_html": html,
        "facts_used": facts_used,
        "contents_fingerprint": fingerprint,
        "file_count": len(files),
        "partial_refusals": len(holdings.partial_refusals()),
    }


def _source_size(item: HeldItem) -> int:
    decision = item.decision
    if decision is not None and decision.decision is Release.REDACTED:
        return decision.redacted_size_bytes or 0
    return item.file.size_bytes if item.file else 0


def _open_source(store: storage_module.Storage, item: HeldItem) -> storage_module.VerifyingReader:
    decision = item.decision
    if decision is not None and decision.decision is Release.REDACTED:
        return store.open(
            required(decision.redacted_storage_key, "the redacted copy"),
            required(decision.redacted_sha256, "the redacted copy's sha256"),
            decision.redacted_size_bytes,
        )
    stored = required(item.file, "the recording file")
    if stored.storage_key is None:
        raise storage_module.MissingFile(f"recording file {stored.id} has no stored copy")
    return store.open(stored.storage_key, stored.sha256, stored.size_bytes)


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = to_local(moment)
    if local.year < 1980:  # the ZIP format cannot express earlier dates
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def _suffix(filename: str | None, media_type: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if _SAFE_SUFFIX.fullmatch(suffix):
        return suffix
    guessed = mimetypes.guess_extension(media_type or "") or ".bin"
    return guessed if _SAFE_SUFFIX.fullmatch(guessed) else ".bin"


def _exam_folder(item: HeldItem) -> str:
    if item.exam is None:
        return "no-exam"
    code = _UNSAFE.sub("-", item.exam.course_code).strip("-") or "exam"
    return f"{code}_{to_local(item.exam.starts_at):%Y-%m-%d}"


def _package_path(item: HeldItem) -> str:
    """The file's name inside the ZIP: built from ids and dates, never from a supplied name."""
    stored = required(item.file, "the recording file")
    decision = item.decision
    redacted = decision is not None and decision.decision is Release.REDACTED
    when = to_local(stored.recording.recorded_at)
    if decision is not None and redacted:
        suffix = _suffix(decision.redacted_filename, decision.redacted_media_type)
    else:
        suffix = _suffix(stored.filename, stored.media_type)
    marker = "-redacted" if redacted else ""
    return (
        f"recordings/{_exam_folder(item)}/"
        f"{when:%Y%m%d-%H%M}-{stored.kind.value}-{stored.id}{marker}{suffix}"
    )


def _tools(holdings: Holdings) -> list[ProctoringTool]:
    tools: dict[int, ProctoringTool] = {}
    for group in holdings.exams:
        tool = group.exam.proctoring_tool if group.exam else None
        if tool is not None and any(item.in_scope for item in group.items()):
            tools[tool.id] = tool
    return [tools[key] for key in sorted(tools)]


def _facts_used(holdings: Holdings) -> dict[str, Any]:
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
    from ..media.services import record_for_decision  # media builds on access: imported late

    decision = item.decision
    if decision is None or decision.decision is not Release.REDACTED:
        return None
    found = record_for_decision(decision)
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
                        "size_bytes": _source_size(item),
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

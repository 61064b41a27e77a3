"""The handler's decision on each held item (R13), and the partial refusals in the decision's words.

* :func:`decide_item` — released as is / released redacted / withheld with a reason;
* :func:`decision_reasons`, :func:`refusal_text` — what was given and what was not (R5, R13).

These flush and never commit; permission checks are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts.models import User
from ..audit.services import record
from ..cases.models import Case, CaseStatus, CaseType
from ..cases.redress import gdpr_redress_after_refusal
from ..clock import now_utc
from ..errors import RuleViolation
from ..extensions import db
from . import storage as access_storage
from .cleanup import delete_after_commit, delete_after_rollback
from .holdings import HeldItem, gather, required
from .models import (
    ItemDecision,
    ItemType,
    Release,
)

OPEN_FOR_WORK = (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_REQUESTER)
MAX_TEXT = 5000


@dataclass(frozen=True)
class RedactedUpload:
    """A redacted copy uploaded by the handler."""

    stream: BinaryIO
    filename: str
    media_type: str


def ensure_workable(case: Case) -> None:
    """Refuse unless ``case`` is an access request still open for work on its package."""
    if case.case_type is not CaseType.ACCESS:
        raise RuleViolation(_l("This is not an access request."))
    if case.status not in OPEN_FOR_WORK:
        raise RuleViolation(_l("This case is no longer open, so its package cannot change."))


def decide_item(
    case: Case,
    *,
    actor: User,
    item_type: ItemType,
    item_id: int,
    decision: Release,
    reason: str = "",
    protects: str = "",
    redacted: RedactedUpload | None = None,
) -> ItemDecision:
    """Record how one held item is answered; a redaction or withholding is a partial refusal."""
    ensure_workable(case)
    held = gather(case).find(item_type, item_id)
    if held is None:
        raise RuleViolation(_l("This item is not held about the student of this case."))
    if held.file is not None and held.file.deleted_at is not None:
        raise RuleViolation(_l("This file has been deleted; only its record is held."))
    reason, protects = reason.strip()[:MAX_TEXT], protects.strip()[:MAX_TEXT]
    existing = held.decision
    keep_copy = (
        decision is Release.REDACTED
        and redacted is None
        and existing is not None
        and existing.decision is Release.REDACTED
        and existing.redacted_storage_key is not None  # a deleted copy cannot be kept
    )
    if decision is Release.REDACTED:
        if item_type is not ItemType.FILE:
            raise RuleViolation(_l("Only a recording file can be released redacted."))
        if redacted is None and not keep_copy:
            raise RuleViolation(_l("Upload the redacted file."))
        if not protects:
            raise RuleViolation(_l("Say whom the redaction protects."))
    if decision is Release.WITHHELD and not reason:
        raise RuleViolation(_l("Give the reason for withholding this item."))

    before = _decision_snapshot(existing)
    row = existing or ItemDecision(case_id=case.id, item_type=item_type, item_id=item_id)
    recordings = access_storage.recordings_storage()
    old_key = existing.redacted_storage_key if existing else None
    row.decision = decision
    row.reason = reason or None
    row.protects = protects if decision is Release.REDACTED else None
    if decision is Release.REDACTED and redacted is not None:
        stored = recordings.put(redacted.stream)
        delete_after_rollback(recordings, stored.key)
        row.redacted_storage_key = stored.key
        row.redacted_sha256 = stored.sha256
        row.redacted_size_bytes = stored.size
        row.redacted_filename = _safe_display_name(redacted.filename)
        row.redacted_media_type = redacted.media_type[:100]
        row.redacted_deleted_at = None
    elif decision is not Release.REDACTED:
        row.redacted_storage_key = row.redacted_sha256 = None
        row.redacted_size_bytes = None
        row.redacted_filename = row.redacted_media_type = None
        row.redacted_deleted_at = None
    if old_key and old_key != row.redacted_storage_key:
        delete_after_commit(recordings, old_key)
    row.decided_by_id = actor.id
    row.decided_at = now_utc()
    db.session.add(row)
    db.session.flush()
    record(
        "access.item_decided",
        actor=actor,
        object_type=f"access_{item_type.value}",
        object_id=item_id,
        case_id=case.id,
        before=before,
        after=_decision_snapshot(row),
    )
    return row


def _decision_snapshot(row: ItemDecision | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "decision": row.decision.value,
        "reason": row.reason,
        "protects": row.protects,
        "redacted_sha256": row.redacted_sha256,
        "redacted_size_bytes": row.redacted_size_bytes,
    }


def _safe_display_name(name: str) -> str:
    # Only for display and as a hint for the extension; never used as a path.
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(ch for ch in base if ch.isprintable())[:200]
    return cleaned or "redacted"


def decision_reasons(refusals: list[HeldItem]) -> str:
    """The decision's reasons in the current language: what was given and what was not."""
    if not refusals:
        return _(
            "You receive a copy of all the data you asked for, together with the information "
            "that article 15 of the GDPR requires (see the cover letter in the package)."
        )
    lines = [
        _(
            "You receive a copy of the data you asked for, together with the information that "
            "article 15 of the GDPR requires. We did not give you everything in full:"
        )
    ]
    for item in refusals:
        lines.append("- " + refusal_text(item))
    lines.append(gdpr_redress_after_refusal())
    return "\n".join(lines)


def refusal_text(item: HeldItem) -> str:
    """One partial refusal in the current language: what, how and why (R5, R13)."""
    decision = required(item.decision, "the item's decision")
    if decision.decision is Release.REDACTED:
        text = _(
            "%(item)s: released redacted, to protect %(protects)s.",
            item=item.label(),
            protects=decision.protects,
        )
        if decision.reason:
            text += " " + decision.reason
        return text
    return _("%(item)s: withheld. Reason: %(reason)s", item=item.label(), reason=decision.reason)

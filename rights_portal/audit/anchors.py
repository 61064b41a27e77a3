"""Anchors: the head of the chain written down outside the database, every few minutes (R24).

A hash chain proves that nothing inside it changed, but not that it was not cut short or
rebuilt from scratch with fresh hashes. Each night the verified head (event id, hash, number of
events, time) is appended as one JSON line to ``AUDIT_ANCHOR_FILE`` (by default
``instance/audit-anchors.log``) and e-mailed to the DPO, whose mailbox is a copy nobody with
database access controls. The next verification checks every anchor against the chain
(:func:`rights_portal.audit.verify.verify_chain`).

Between nights, :func:`anchor_head` runs every ``AUDIT_HEAD_ANCHOR_MINUTES`` (beat): it checks
that the last anchored event is still there, unchanged, and that the events since link to it
(:func:`rights_portal.audit.verify.verify_from`), then anchors the new head in the file. Cutting
off the tail (or rewriting it) past an anchor is thereby found within minutes, and the DPO is
alerted; only events newer than the last anchor can go unnoticed, for one interval at most.

This module owns the file format and the checks; it does not commit. It knows no user: who
receives the e-mails (the DPO) is registered by ``create_app`` (:func:`register_alert_recipients`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app

from ..clock import now_utc
from ..notifications.services import notify_addresses
from .services import record
from .verify import Anchor, VerificationResult, verify_chain, verify_from

log = logging.getLogger(__name__)
#: Who receives the check's e-mails: (address, locale) pairs, asked afresh at every check.
AlertRecipients = Callable[[], Sequence[tuple[str, str]]]
ALERT_RECIPIENTS_KEY = "audit_alert_recipients"


class AnchorFileError(ValueError):
    """The anchor log cannot be read: it was damaged or edited."""


def anchor_file() -> Path:
    """Where the anchors of this installation are kept."""
    return Path(current_app.config["AUDIT_ANCHOR_FILE"])


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the log at ``path``, oldest first (an absent file has none)."""
    if not path.exists():
        return []
    anchors = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                anchors.append(
                    Anchor(
                        head_id=int(data["head_id"]),
                        head_hash=str(data["head_hash"]),
                        events=int(data["events"]),
                        anchored_at=str(data["anchored_at"]),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise AnchorFileError(f"{path}, line {number}: not an anchor ({exc})") from exc
    return anchors


def last_anchor(path: Path) -> Anchor | None:
    """The newest anchor in the log, read from its end (the log grows by one line a run)."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
        return Anchor(
            head_id=int(data["head_id"]),
            head_hash=str(data["head_hash"]),
            events=int(data["events"]),
            anchored_at=str(data["anchored_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorFileError(f"{path}, last line: not an anchor ({exc})") from exc


def append_anchor(path: Path, result: VerificationResult, at: datetime) -> Anchor:
    """Append the verified head of ``result`` to the log and force it to disk."""
    if result.head_id is None or result.head_hash is None or not result.ok:
        raise ValueError("only the head of an intact, non-empty chain can be anchored")
    anchor = Anchor(
        head_id=result.head_id,
        head_hash=result.head_hash,
        events=result.events_checked,
        anchored_at=at.isoformat(timespec="seconds"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "anchored_at": anchor.anchored_at,
            "events": anchor.events,
            "head_id": anchor.head_id,
            "head_hash": anchor.head_hash,
        },
        sort_keys=True,
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return anchor


def register_alert_recipients(app: Flask, recipients: AlertRecipients) -> None:
    """Say who receives the check's e-mails (the DPO): the core knows no user (create_app)."""
    app.extensions[ALERT_RECIPIENTS_KEY] = recipients


def _recipients() -> tuple[list[str], str]:
    """The addresses the check's result goes to, and the locale of the first of them."""
    provider: AlertRecipients | None = current_app.extensions.get(ALERT_RECIPIENTS_KEY)
    people = list(provider()) if provider is not None else []
    return [address for address, _locale in people], people[0][1] if people else "nl"


def verify_and_anchor(at: datetime | None = None) -> VerificationResult:
    """The nightly check: verify against every anchor; then anchor the head, or alert the DPO.

    The outcome is itself recorded on the trail (``audit.verified`` or
    ``audit.verification_failed``) and mailed to the DPO(s) through the outbox; the caller commits.
    """
    at = at or now_utc()
    path = anchor_file()
    try:
        result = verify_chain(anchors=read_anchors(path))
    except AnchorFileError as exc:
        result = VerificationResult(0, problem=f"the anchor log cannot be read: {exc}")
    recipients, locale = _recipients()
    if not result.ok:
        log.error("audit trail verification failed: %s", result.problem)
        if recipients:
            notify_addresses(recipients, locale, "audit_trail_broken", result=result, at=at)
        record(
            "audit.verification_failed",
            actor=None,
            object_type="audit_trail",
            after={
                "broken_event_id": result.broken_event_id,
                "problem": result.problem,
                "events_checked": result.events_checked,
            },
        )
        return result
    anchor = None
    if result.head_id is not None:
        anchor = append_anchor(path, result, at)
        if recipients:
            notify_addresses(recipients, locale, "audit_trail_anchor", anchor=anchor)
    else:
        log.info("audit trail is empty: nothing to anchor")
    if not recipients:
        log.warning("no active DPO account: the audit check result was not mailed to anyone")
    record(
        "audit.verified",
        actor=None,
        object_type="audit_trail",
        after={
            "events_checked": result.events_checked,
            "anchors_checked": result.anchors_checked,
            "head_id": result.head_id,
            "head_hash": result.head_hash,
            "anchored": anchor is not None,
        },
    )
    return result


def _alert(result: VerificationResult, at: datetime) -> None:
    log.error("audit trail check failed: %s", result.problem)
    recipients, locale = _recipients()
    if recipients:
        notify_addresses(recipients, locale, "audit_trail_broken", result=result, at=at)
    record(
        "audit.verification_failed",
        actor=None,
        object_type="audit_trail",
        after={
            "broken_event_id": result.broken_event_id,
            "problem": result.problem,
            "events_checked": result.events_checked,
            "head_check": True,
        },
    )


def anchor_head(at: datetime | None = None) -> VerificationResult:
    """The check of every few minutes: the last anchor still holds; then anchor the new head.

    Without any anchor yet, the whole chain is verified once (that is the first anchor). A
    success is written to the anchor log only (not mailed, not recorded: a trail event every few
    minutes would only move the head it anchors); a failure alerts the DPO and is recorded, at
    every run until it is dealt with. The caller commits.
    """
    at = at or now_utc()
    path = anchor_file()
    try:
        last = last_anchor(path)
        result = verify_from(last) if last is not None else verify_chain()
    except AnchorFileError as exc:
        last, result = None, VerificationResult(0, problem=f"the anchor log cannot be read: {exc}")
    if not result.ok:
        _alert(result, at)
        return result
    moved = last is None or result.head_id != last.head_id
    if result.head_id is not None and moved:
        append_anchor(path, result, at)
    return result

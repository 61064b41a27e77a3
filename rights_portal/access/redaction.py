"""What an access decision asks of automatic redaction (R13, R27), filled in by ``create_app``.

The media domain builds on access (it redacts the recordings an access request holds), so access
does not import it: it names the two questions it has, and ``create_app`` registers media's
answers. Without media registered, there is no automatic redaction to ask about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

RECORD_FOR_DECISION = "access_redaction_record_for_decision"
UNREVIEWED = "access_redaction_unreviewed"


def register(
    app: Flask,
    *,
    record_for_decision: Callable[[Any], dict[str, Any] | None],
    unreviewed: Callable[[Any], Any],
) -> None:
    """Let access ask media about the automatic redactions of a case."""
    app.extensions[RECORD_FOR_DECISION] = record_for_decision
    app.extensions[UNREVIEWED] = unreviewed


def record_for_decision(decision: Any) -> dict[str, Any] | None:
    """The record of the automatic redaction behind an item decision's redacted copy, if any."""
    answer = current_app.extensions.get(RECORD_FOR_DECISION)
    return answer(decision) if answer is not None else None


def unreviewed(case: Any) -> bool:
    """Whether an automatic redaction of the case still waits for a person's check (R27)."""
    answer = current_app.extensions.get(UNREVIEWED)
    return bool(answer(case)) if answer is not None else False

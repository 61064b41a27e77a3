"""The privacy notice of a proctored exam, for students and parents before they file.

The AP asks institutions to tell students and parents "in language they understand" what an
online-proctored exam records, why, who receives it, how long it is kept, that a person judges
every automated flag, and which rights they have. This page builds that notice from the current
register facts of the exam's tool (:func:`rights_portal.register.facts.current_facts`), in
short sentences, with the staff-written ``privacy_notice`` text of the tool on top and a button
to exercise each right. Who may read it is :func:`rights_portal.permissions.privacy_exam_or_404`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..cases import registry
from ..cases.models import CaseType, case_type_name
from ..clock import today_local
from ..exams.models import Exam
from ..permissions import (
    ANY_ROLE,
    Filing,
    files_for_children,
    files_for_themselves,
    filing_decision,
    privacy_exam_or_404,
    privacy_notice_children,
    roles_required,
)
from ..register import facts as register_facts
from .views import bp

# Plain words for the data categories the register commonly names; others are shown as written.
CATEGORY_WORDS = {
    "camera video": _l("You on camera: your face and what is behind you."),
    "screen recording": _l("Your screen: everything you see and do on it."),
    "audio": _l("Sound: what you say and what can be heard in your room."),
    "room scan": _l("A room scan: at the start you show your room with the camera."),
    "eye tracking": _l("Where you look: the software follows your eyes."),
    "automated flags": _l("Warnings the software makes when it sees something unusual."),
    "keystrokes": _l("How you type on your keyboard."),
    "name": _l("Your name."),
    "chat messages": _l("Chat messages you send."),
}


def _rights() -> list[tuple[CaseType, str]]:
    """The rights with a button each: every type that says in plain words what it exercises."""
    return [
        (case_type_name(kind.name), str(kind.right_in_plain_words))
        for kind in registry.kinds()
        if kind.right_in_plain_words is not None
    ]


@dataclass(frozen=True)
class RightButton:
    """One right, what it means in plain words, and where to exercise it (None for staff)."""

    kind: CaseType
    explanation: str
    url: str | None
    for_name: str | None = None


def category_words(category: str) -> str:
    """A data category in plain words, or as the register writes it."""
    words = CATEGORY_WORDS.get(category.strip().lower())
    return str(words) if words is not None else category


def _buttons(exam: Exam) -> list[RightButton]:
    """The filing buttons the current user has: for themselves, or for each child under 16."""
    buttons: list[RightButton] = []
    rights = _rights()
    if files_for_themselves(current_user):
        allowed = filing_decision(current_user, current_user, today_local()) is Filing.ALLOWED
        for kind, explanation in rights:
            url = (
                url_for("portal.file_request", case_type=kind.value, exam=exam.id)
                if allowed
                else None
            )
            buttons.append(RightButton(kind, explanation, url))
        return buttons
    if files_for_children(current_user):
        children = [
            (link.id, link.student)
            for link in privacy_notice_children(current_user, exam)
            if link.student is not None
        ]
        links = [
            (link_id, child)
            for link_id, child in children
            if filing_decision(current_user, child, today_local()) is Filing.ALLOWED
        ]
        for kind, explanation in rights:
            if not links:
                buttons.append(RightButton(kind, explanation, None))
            for link_id, child in links:
                url = url_for(
                    "portal.file_for_child", link_id=link_id, case_type=kind.value, exam=exam.id
                )
                buttons.append(RightButton(kind, explanation, url, child.full_name))
        return buttons
    return [RightButton(kind, explanation, None) for kind, explanation in rights]


@bp.route("/exams/<int:exam_id>/privacy")
@roles_required(*ANY_ROLE)
def exam_privacy(exam_id: int) -> ResponseReturnValue:
    """What the exam's proctoring tool records and which rights the student has."""
    exam = privacy_exam_or_404(exam_id)
    assert exam.proctoring_tool_id is not None  # noqa: S101  (privacy_exam_or_404 checked it)
    facts = register_facts.current_facts(exam.proctoring_tool_id)
    # A tool that predates the register is adopted as version 1 (recorded; the request commits).
    return render_template(
        "portal/exam_privacy.html",
        exam=exam,
        facts=facts,
        categories=[category_words(c) for c in facts.data_categories],
        buttons=_buttons(exam),
    )

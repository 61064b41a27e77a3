"""The case's life as data: its states, the moves between them and what each state allows.

docs/rules.md#case-life draws it::

    received ──assign──▶ in_review ──decide──▶ decided ──fulfil──▶ closed
       │                   │    ▲
       │               pause  resume
       │                   ▼    │
       │          awaiting_requester (clock paused)
       └──withdraw / mark duplicate (from any open state)──▶ closed

:data:`STEPS` is the one table: for every step the states it may start from and the state it
leads to (``None``: the case stays where it is, e.g. a message or an extension). Services ask
:func:`move` (which refuses with the step's message), permissions and pages ask
:func:`can_move`; nothing else compares a case's status to decide what may happen next.
:data:`OPEN_STATUSES` is the grouping lists and the deadline sweep read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..errors import RuleViolation
from .models import OPEN_STATUSES, Case, CaseStatus

__all__ = ["INITIAL", "OPEN_STATUSES", "STEPS", "Step", "Transition", "can_move", "move"]

#: Where every case starts (R1: received, whatever the channel).
INITIAL = CaseStatus.RECEIVED


class Step(enum.StrEnum):
    """Everything that may happen to a case and depends on its state."""

    ASSIGN = "assign"
    DECIDE = "decide"
    FULFIL = "fulfil"
    WITHDRAW = "withdraw"
    MARK_DUPLICATE = "mark_duplicate"
    PAUSE = "pause"  # a prompt question stops the clock (R6)
    RESUME = "resume"  # the answer, or a handler, restarts it
    # Steps that keep the state:
    ASK = "ask"
    EXTEND = "extend"
    MESSAGE = "message"
    ANSWER = "answer"  # a requester's message while the case waits for them answers the question
    ARRANGE_ALTERNATIVE = "arrange_alternative"  # R17: after a granting decision
    ACCEPT_ALTERNATIVE = "accept_alternative"  # the accepted alternative fulfils the case
    REVIEW_FLAG = "review_flag"  # R18: the review decides a human-review request


@dataclass(frozen=True)
class Transition:
    """Where a step may start, where it leads, and what the refusal says."""

    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    refusal: str


_OPEN = frozenset(OPEN_STATUSES)
_IN_REVIEW = frozenset({CaseStatus.IN_REVIEW})
_NOT_OPEN = _l("This case is no longer open.")
_DECIDE_FIRST = _l("Only a case in review can be decided. Assign it first.")

STEPS: dict[Step, Transition] = {
    Step.ASSIGN: Transition(
        frozenset({CaseStatus.RECEIVED, CaseStatus.IN_REVIEW}),
        CaseStatus.IN_REVIEW,
        _l("Only a received case or a case in review can be assigned."),
    ),
    Step.DECIDE: Transition(_IN_REVIEW, CaseStatus.DECIDED, _DECIDE_FIRST),
    Step.FULFIL: Transition(
        frozenset({CaseStatus.DECIDED}),
        CaseStatus.CLOSED,
        _l("Only a decided case can be closed as fulfilled."),
    ),
    Step.WITHDRAW: Transition(_OPEN, CaseStatus.CLOSED, _NOT_OPEN),
    Step.MARK_DUPLICATE: Transition(_OPEN, CaseStatus.CLOSED, _NOT_OPEN),
    Step.PAUSE: Transition(
        _IN_REVIEW,
        CaseStatus.AWAITING_REQUESTER,
        _l("Questions can only be asked while the case is in review."),
    ),
    Step.RESUME: Transition(
        frozenset({CaseStatus.AWAITING_REQUESTER}), CaseStatus.IN_REVIEW, _NOT_OPEN
    ),
    Step.ASK: Transition(
        _IN_REVIEW, None, _l("Questions can only be asked while the case is in review.")
    ),
    Step.EXTEND: Transition(_OPEN, None, _NOT_OPEN),
    Step.MESSAGE: Transition(_OPEN, None, _NOT_OPEN),
    Step.ANSWER: Transition(frozenset({CaseStatus.AWAITING_REQUESTER}), None, _NOT_OPEN),
    Step.ARRANGE_ALTERNATIVE: Transition(
        frozenset({CaseStatus.DECIDED}),
        None,
        _l("This case has no alternative to arrange any more."),
    ),
    Step.ACCEPT_ALTERNATIVE: Transition(
        frozenset({CaseStatus.DECIDED}),
        CaseStatus.CLOSED,
        _l("There is no alternative waiting for your answer."),
    ),
    Step.REVIEW_FLAG: Transition(_IN_REVIEW, None, _DECIDE_FIRST),
}


def can_move(case: Case, step: Step) -> bool:
    """Whether ``step`` may happen to ``case`` in its present state."""
    return case.status in STEPS[step].sources


def move(case: Case, step: Step) -> CaseStatus:
    """Check ``step`` may happen and put the case in the step's target state; returns the old one.

    Raises :class:`~rights_portal.errors.RuleViolation` with the step's message otherwise. The
    caller writes the audit event with the old and new state.
    """
    transition = STEPS[step]
    if case.status not in transition.sources:
        raise RuleViolation(transition.refusal)
    before = case.status
    if transition.target is not None:
        case.status = transition.target
    return before


def require(case: Case, step: Step) -> None:
    """Refuse unless ``step`` may happen now (for steps that leave the state as it is)."""
    if not can_move(case, step):
        raise RuleViolation(STEPS[step].refusal)


def is_open(status: CaseStatus) -> bool:
    """Open cases run against a deadline."""
    return status in _OPEN


# Read-only groupings of states, for lists, badges and the deadline sweep.
#: States in which the statutory clock runs (a pause stops it: R6).
CLOCK_RUNS = (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW)
#: The state in which the case waits for the requester's answer, the clock paused.
WAITING = CaseStatus.AWAITING_REQUESTER


def waits_for_requester(status: CaseStatus) -> bool:
    """Whether a case in ``status`` waits for the requester (its clock paused, R6)."""
    return status is WAITING

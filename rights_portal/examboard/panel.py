"""The exam board's parts of the case pages: sign-off, flag review, the alternative (R15-R18).

The board's case types (:mod:`.case_types`) declare these as their panels of the staff and the
requester's case page; the pages merge them in without knowing the types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..accounts.models import User
from ..cases import workflow
from ..cases.models import Case, Outcome
from ..cases.workflow import Step
from ..permissions import Action, can, can_review_flag, may
from . import services
from .forms import (
    ALTERNATIVE_FORM_LABELS,
    ALTERNATIVE_STATUS_LABELS,
    FLAG_OUTCOME_LABELS,
    AssignAlternativeForm,
    FlagReviewForm,
    RespondAlternativeForm,
    SignOffForm,
)
from .models import AlternativeStatus

STAFF_TEMPLATE = "examboard/_case_panel.html"
GRANTING = (Outcome.GRANTED, Outcome.PARTLY_GRANTED)


def staff_panel(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    """What the staff case page shows of the board's work on ``case``."""
    alternative = (
        services.current_alternative(case) if case.case_type.leads_to_alternative else None
    )
    proposal = services.open_proposal(case)
    may_assign_alternative = (
        may(user, Action.ASSIGN_ALTERNATIVE, case)
        and case.case_type.leads_to_alternative
        and case.outcome in GRANTING
        and (alternative is None or alternative.status is AlternativeStatus.OTHER_SLOT_REQUESTED)
    )
    flag = case.flag
    return {
        "alternative": alternative,
        "alternative_limit": services.alternative_limit(case),
        "proposal": proposal,
        "may_sign_off": proposal is not None
        and proposal.proposed_by_id != user.id
        and can(user, Action.SIGN_OFF, case),
        "may_assign_alternative": may_assign_alternative,
        "alternative_form": forms.get("alternative_form") or AssignAlternativeForm(),
        "flag": flag,
        "may_review_flag": flag is not None
        and can_review_flag(user, flag)
        and workflow.can_move(case, Step.REVIEW_FLAG),
        "flag_review_form": forms.get("flag_review_form") or FlagReviewForm(),
        "sign_off_form": SignOffForm(),
        "alternative_form_labels": ALTERNATIVE_FORM_LABELS,
        "alternative_status_labels": ALTERNATIVE_STATUS_LABELS,
        "flag_outcome_labels": FLAG_OUTCOME_LABELS,
    }


def requester_panel(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    """What the requester's case page shows of the alternative exam, and their answer form."""
    alternative = (
        services.current_alternative(case) if case.case_type.leads_to_alternative else None
    )
    return {
        "alternative": alternative,
        "may_respond": alternative is not None
        and alternative.status is AlternativeStatus.OFFERED
        and can(user, Action.RESPOND_ALTERNATIVE, case),
        "respond_form": forms.get("respond_form") or RespondAlternativeForm(),
        "alternative_form_labels": ALTERNATIVE_FORM_LABELS,
        "alternative_status_labels": ALTERNATIVE_STATUS_LABELS,
    }

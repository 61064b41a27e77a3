"""Requester pages: my cases, file a request, a case with its messages and history, withdraw.

Students file for themselves from their 16th birthday; a verified guardian files for a child
under 16 through :mod:`rights_portal.portal.guardians`, with the same forms (R20). Whether a
user may file is the permission layer's :func:`~rights_portal.permissions.filing_decision`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import User
from ..cases import registry, services, workflow
from ..cases.history import case_history
from ..cases.models import Case, CaseMessage, case_type_name
from ..cases.registry import CaseKind, FilingPage
from ..cases.workflow import Step
from ..clock import now_utc, today_local
from ..examboard import services as examboard
from ..examboard.forms import RespondAlternativeForm
from ..extensions import db
from ..identity import services as identity
from ..permissions import (
    REQUESTER_ROLES,
    SELF_FILER_ROLES,
    Action,
    Filing,
    case_or_404,
    files_for_themselves,
    filing_decision,
    may,
    roles_required,
    visible_cases_clause,
)
from .forms import MessageForm, WithdrawForm

bp = Blueprint("portal", __name__, template_folder="templates")


def case_type_or_404(case_type: str) -> CaseKind:
    """The request type named in the URL."""
    if not registry.is_registered(case_type):
        abort(404)
    return registry.kind_of(case_type)


@bp.route("/cases")
@roles_required(*REQUESTER_ROLES)
def my_cases() -> ResponseReturnValue:
    """The requester's own cases, newest first."""
    cases = db.session.scalars(
        select(Case).where(visible_cases_clause(current_user)).order_by(Case.id.desc())
    ).all()
    filing = None
    if files_for_themselves(current_user):
        filing = filing_decision(current_user, current_user, today_local()).value
    return render_template(
        "portal/my_cases.html", cases=cases, case_types=registry.type_names(), filing=filing
    )


@bp.route("/cases/new/<case_type>", methods=["GET", "POST"])
@roles_required(*SELF_FILER_ROLES)
def file_request(case_type: str) -> ResponseReturnValue:
    """A student files one of the request types for themselves (from 16 on: R20)."""
    return file_request_page(case_type_or_404(case_type), subject=current_user)


def file_request_page(kind: CaseKind, *, subject: User) -> ResponseReturnValue:
    """The filing form of ``kind`` for ``subject``, filed by the current user if allowed (R20).

    The type fills its choices and files the case (rights_portal.cases.registry).
    """
    decision = filing_decision(current_user, subject, today_local())
    if decision is not Filing.ALLOWED:
        # R20: explain who files instead; nothing is stored.
        return (
            render_template("portal/filing_refused.html", decision=decision.value, subject=subject),
            403,
        )
    page = FilingPage(form=kind.form(), subject=subject)
    kind.prepare(page, request.args)
    if page.form.validate_on_submit():
        case = kind.file(page, current_user)
        if case is not None:
            return _filed(case)
    status = 400 if page.form.is_submitted() else 200
    return (
        render_template(
            "portal/file_request.html",
            form=page.form,
            kind=case_type_name(kind.name),
            subject=subject,
            exam_notices=page.exam_notices,
        ),
        status,
    )


def _filed(case: Case) -> ResponseReturnValue:
    flash(
        _(
            "Your request has been received under reference %(reference)s.",
            reference=case.reference,
        ),
        "success",
    )
    return redirect(url_for("portal.case_detail", reference=case.reference))


@bp.route("/cases/<reference>")
@roles_required(*REQUESTER_ROLES)
def case_detail(reference: str) -> ResponseReturnValue:
    """One case with its status, due date, messages, decision and history."""
    case = case_or_404(reference)
    return _render_case(case)


def _render_case(case: Case, status: int = 200, **forms: object) -> ResponseReturnValue:
    kind = case.case_type.kind
    panel = kind.requester_panel(case, current_user, forms) if kind.requester_panel else {}
    messages = db.session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id)
    ).all()
    return (
        render_template(
            "portal/case_detail.html",
            case=case,
            now=now_utc(),
            history=case_history(case.id, for_staff=False),
            messages=messages,
            awaiting_answer=workflow.can_move(case, Step.ANSWER),
            may_message=may(current_user, Action.MESSAGE, case),
            may_withdraw=may(current_user, Action.WITHDRAW, case),
            message_form=forms.get("message_form") or MessageForm(),
            withdraw_form=WithdrawForm(),
            identity_check=identity.open_check(case),
            **{"package": None, "alternative": None, "may_respond": False, **panel},
        ),
        status,
    )


@bp.route("/cases/<reference>/messages", methods=["POST"])
@roles_required(*REQUESTER_ROLES)
def post_message(reference: str) -> ResponseReturnValue:
    """Write to the privacy office, or answer its question (which restarts the clock, R6)."""
    case = case_or_404(reference, Action.MESSAGE)
    form = MessageForm()
    if not form.validate_on_submit():
        return _render_case(case, 400, message_form=form)
    services.post_message(case, author=current_user, body=form.body.data or "")
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("portal.case_detail", reference=case.reference, _anchor="messages"))


@bp.route("/cases/<reference>/withdraw", methods=["POST"])
@roles_required(*REQUESTER_ROLES)
def withdraw(reference: str) -> ResponseReturnValue:
    """Withdraw an open request."""
    case = case_or_404(reference, Action.WITHDRAW)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    services.withdraw(case, actor=current_user)
    flash(_("Your request has been withdrawn."), "info")
    return redirect(url_for("portal.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/alternative", methods=["POST"])
@roles_required(*REQUESTER_ROLES)
def respond_alternative(reference: str) -> ResponseReturnValue:
    """Accept the alternative exam, or ask for another time with a reason (R17)."""
    case = case_or_404(reference, Action.RESPOND_ALTERNATIVE)
    form = RespondAlternativeForm()
    if (
        form.validate_on_submit()
        and form.answer.data == "other"
        and not (form.reason.data or "").strip()
    ):
        form.reason.errors = [_("Tell us why you need another time.")]
    elif form.validate_on_submit():
        examboard.respond_to_alternative(
            case,
            actor=current_user,
            accept=form.answer.data == "accept",
            reason=form.reason.data or "",
        )
        flash(_("Thank you. Your answer has been recorded."), "success")
        return redirect(url_for("portal.case_detail", reference=case.reference))
    return _render_case(case, 400, respond_form=form)

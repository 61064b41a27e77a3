"""Staff pages: the queue ordered by effective due date, the case page, assign and decide."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select, tuple_
from wtforms.fields.choices import SelectChoice

from ..accounts import identity
from ..accounts.models import Role, User
from ..audit.services import record
from ..cases import services
from ..cases.history import case_history
from ..cases.models import OPEN_STATUSES, Case, CaseStatus, CaseType, Outcome
from ..clock import today_local
from ..extensions import db
from ..permissions import (
    STAFF_CASE_ROLES,
    Action,
    can,
    case_or_404,
    possible_assignees,
    roles_required,
    visible_cases_clause,
)
from ..transactions import commit
from .forms import AssignForm, DecideForm

bp = Blueprint("staff", __name__, template_folder="templates")
PAGE_SIZE = 50


def _queue_query(args: dict[str, str]) -> Select[Case]:
    query = select(Case).where(visible_cases_clause(current_user))
    status = args.get("status", "open")
    if status == "open":
        query = query.where(Case.status.in_(OPEN_STATUSES))
    elif status in {s.value for s in CaseStatus}:
        query = query.where(Case.status == CaseStatus(status))
    if args.get("type") in {t.value for t in CaseType}:
        query = query.where(Case.case_type == CaseType(args["type"]))
    assignee = args.get("assignee", "")
    if assignee == "me":
        query = query.where(Case.assignee_id == current_user.id)
    elif assignee == "none":
        query = query.where(Case.assignee_id.is_(None))
    if args.get("overdue") == "1":
        query = query.where(Case.status.in_(OPEN_STATUSES), Case.effective_due < today_local())
    return query


@bp.route("/queue")
@roles_required(*STAFF_CASE_ROLES)
def queue() -> ResponseReturnValue:
    """Cases by effective due date, soonest first; keyset pagination on (due date, id)."""
    args = {key: request.args.get(key, "") for key in ("status", "type", "assignee", "overdue")}
    args["status"] = args["status"] or "open"
    query = _queue_query(args)
    after = request.args.get("after", "")
    if after:
        try:
            due_text, id_text = after.split("_", 1)
            query = query.where(
                tuple_(Case.effective_due, Case.id) > (date.fromisoformat(due_text), int(id_text))
            )
        except ValueError:
            abort(400)
    cases = db.session.scalars(
        query.order_by(Case.effective_due, Case.id).limit(PAGE_SIZE + 1)
    ).all()
    next_after = None
    if len(cases) > PAGE_SIZE:
        cases = cases[:PAGE_SIZE]
        last = cases[-1]
        next_after = f"{last.effective_due.isoformat()}_{last.id}"
    total = db.session.scalar(
        _queue_query(args).with_only_columns(func.count(Case.id)).order_by(None)
    )
    return render_template(
        "staff/queue.html",
        cases=cases,
        args=args,
        next_after=next_after,
        total=total,
        case_types=list(CaseType),
        statuses=list(CaseStatus),
    )


@bp.route("/cases/<reference>")
@roles_required(*STAFF_CASE_ROLES)
def case_detail(reference: str) -> ResponseReturnValue:
    """The case page; opening it is logged because it shows personal data (R24)."""
    case = case_or_404(reference)
    record(
        "case.viewed", actor=current_user, object_type="case", object_id=case.id, case_id=case.id
    )
    commit()
    return _render_case(case)


def _render_case(
    case: Case,
    assign_form: AssignForm | None = None,
    decide_form: DecideForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    may_decide = can(current_user, Action.DECIDE, case)
    assignees = possible_assignees(case) if can(current_user, Action.ASSIGN, case) else []
    assign_form = assign_form or AssignForm(assignee_id=case.assignee_id or current_user.id)
    assign_form.assignee_id.choices = [SelectChoice(str(u.id), u.full_name) for u in assignees]
    return (
        render_template(
            "staff/case_detail.html",
            case=case,
            history=case_history(case.id, for_staff=True),
            actors=_actor_names(case),
            may_assign=bool(assignees)
            and case.status in (CaseStatus.RECEIVED, CaseStatus.IN_REVIEW),
            may_decide=may_decide and case.status is CaseStatus.IN_REVIEW,
            assign_form=assign_form,
            decide_form=decide_form or DecideForm(),
            identity_checks=identity.checks_for(case),
            may_verify_identity=can(current_user, Action.VERIFY_IDENTITY, case),
        ),
        status,
    )


def _actor_names(case: Case) -> dict[int, str]:
    from ..audit.models import AuditEvent

    actor_ids = select(AuditEvent.actor_id).where(AuditEvent.case_id == case.id)
    rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(actor_ids)))
    return {user_id: name for user_id, name in rows}


@bp.route("/cases/<reference>/assign", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def assign(reference: str) -> ResponseReturnValue:
    """Assign to oneself or a colleague who may decide this type of case."""
    case = case_or_404(reference, Action.ASSIGN)
    form = AssignForm()
    candidates = {u.id: u for u in possible_assignees(case)}
    form.assignee_id.choices = [SelectChoice(str(u.id), u.full_name) for u in candidates.values()]
    if not form.validate_on_submit() or form.assignee_id.data not in candidates:
        if form.assignee_id.data not in candidates:
            form.assignee_id.errors = [_("Choose a colleague who can handle this case.")]
        return _render_case(case, assign_form=form, status=400)
    services.assign(case, candidates[form.assignee_id.data], actor=current_user)
    commit()
    flash(_("The case has been assigned."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/decide", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def decide(reference: str) -> ResponseReturnValue:
    """Decide with a required written reason; the requester is told by e-mail."""
    case = case_or_404(reference, Action.DECIDE)
    form = DecideForm()
    if not form.validate_on_submit():
        return _render_case(case, decide_form=form, status=400)
    services.decide(
        case,
        actor=current_user,
        outcome=Outcome(form.outcome.data),
        reasons=form.reasons.data or "",
    )
    commit()
    flash(_("The decision has been recorded and the requester informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/admin")
@roles_required(Role.ADMIN)
def admin_home() -> ResponseReturnValue:
    """The admin's landing page: configuration, no case contents."""
    users = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("staff/admin_home.html", users=users)

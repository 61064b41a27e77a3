"""Staff pages: the queue ordered by effective due date, the case page, assign and decide."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..accounts.models import User
from ..audit.services import record_case_event
from ..cases import registry, services, workflow
from ..cases.forms import DecideForm, FulfilForm
from ..cases.history import case_history
from ..cases.models import (
    Case,
    CaseMessage,
    CaseStatus,
    DueDateChange,
    ExtensionReason,
    MessageKind,
)
from ..cases.workflow import Step
from ..examboard.services import record_material_viewed
from ..extensions import db
from ..identity import services as identity
from ..intake.services import intake_for
from ..permissions import (
    STAFF_CASE_ROLES,
    USER_LIST_ROLES,
    Action,
    can,
    can_review_flag,
    case_or_404,
    may,
    possible_assignees,
    roles_required,
)
from . import queue as staff_queue
from .forms import AskForm, AssignForm, DuplicateForm, ExtendForm, StaffMessageForm
from .queue_lines import lines_for, programme_options

bp = Blueprint("staff", __name__, template_folder="templates")


@bp.route("/queue")
@roles_required(*STAFF_CASE_ROLES)
def queue() -> ResponseReturnValue:
    """Cases by effective due date, soonest first; keyset pagination on (due date, id)."""
    args = {key: request.args.get(key, "") for key in staff_queue.FILTER_KEYS}
    args["status"] = args["status"] or "open"
    programme_id = int(args["programme"]) if args["programme"].isdigit() else None
    programmes = None
    if programme_id is not None:  # an unknown programme is ignored, so it is checked first
        programmes = staff_queue.programmes_for(current_user)
        if programme_id not in {p.id for p in programmes}:
            args["programme"], programme_id = "", None
    try:
        page = staff_queue.queue_page(
            current_user,
            args,
            request.args.get("after", ""),
            with_programmes=programmes is None,  # else read with the page: one statement
        )
    except staff_queue.BadCursor:
        abort(400)
    programmes = page.programmes if programmes is None else programmes
    assert programmes is not None  # noqa: S101  (asked for with the page when not read first)
    return render_template(
        "staff/queue.html",
        lines=lines_for(page.rows),
        args=args,
        next_after=page.next_after,
        total=page.total,
        count_cap=staff_queue.COUNT_CAP,
        programmes=programme_options(programmes, programme_id),
        case_types=registry.type_names(),
        statuses=list(CaseStatus),
    )


@bp.route("/cases/<reference>")
@roles_required(*STAFF_CASE_ROLES)
def case_detail(reference: str) -> ResponseReturnValue:
    """The case page; opening it is logged because it shows personal data (R24)."""
    case = case_or_404(reference)
    record_case_event("case.viewed", case, actor=current_user)
    if case.flag is not None and can_review_flag(current_user, case.flag):
        record_material_viewed(case.flag, actor=current_user, case=case)
    return render_case(case)


def render_case(case: Case, status: int = 200, **forms: Any) -> ResponseReturnValue:
    """Render the staff case page with any forms that failed validation.

    What the page offers is asked of the permissions (who) and the workflow (now); the parts a
    case type adds come from its kind's ``staff_panel`` (rights_portal.cases.registry).
    """
    kind = case.case_type.kind
    assignees = possible_assignees(case) if can(current_user, Action.ASSIGN, case) else []
    assign_form = forms.get("assign_form") or AssignForm(
        assignee_id=case.assignee_id or current_user.id
    )
    assign_form.assignee_id.choices = [SelectChoice(str(u.id), u.full_name) for u in assignees]
    panel_template, panel_context = None, {}
    if kind.staff_panel is not None:
        panel_template, build_panel = kind.staff_panel
        panel_context = build_panel(case, current_user, forms)
    extra_panels = [
        (template, build(case, current_user, forms))
        for template, build in registry.extra_staff_panels(kind)
    ]
    decision_form = kind.decision_form or DecideForm
    return (
        render_template(
            "staff/case_detail.html",
            case=case,
            kind=kind,
            intake=intake_for(case),
            history=case_history(case.id, for_staff=True),
            actors=_actor_names(case),
            messages=_messages(case),
            due_changes=db.session.scalars(
                select(DueDateChange)
                .where(DueDateChange.case_id == case.id)
                .order_by(DueDateChange.id)
            ).all(),
            pause=services.open_pause(case),
            first_due=services.first_due_date(case),
            may_assign=bool(assignees) and may(current_user, Action.ASSIGN, case),
            may_decide=kind.decision_form is not None and may(current_user, Action.DECIDE, case),
            may_fulfil=kind.fulfilled_by_staff
            and can(current_user, Action.DECIDE, case)
            and workflow.can_move(case, Step.FULFIL),
            may_message=may(current_user, Action.MESSAGE, case),
            may_ask=may(current_user, Action.ASK, case),
            question_would_pause=services.question_would_pause(case),
            may_extend=may(current_user, Action.EXTEND, case) and case.extension_months < 2,
            extension_still_allowed=services.extension_still_allowed(case),
            may_mark_duplicate=may(current_user, Action.MARK_DUPLICATE, case),
            assign_form=assign_form,
            decide_form=forms.get("decide_form") or decision_form(),
            fulfil_form=FulfilForm(),
            message_form=forms.get("message_form") or StaffMessageForm(),
            ask_form=forms.get("ask_form") or AskForm(),
            extend_form=forms.get("extend_form") or ExtendForm(),
            duplicate_form=forms.get("duplicate_form") or DuplicateForm(),
            panel_template=panel_template,
            extra_panels=[(t, p) for t, p in extra_panels if p],
            **panel_context,
            identity_checks=identity.checks_for(case),
            may_verify_identity=can(current_user, Action.VERIFY_IDENTITY, case),
            # Raising doubt asks the requester for proof: a question, asked while in review.
            identity_doubt_possible=workflow.can_move(case, Step.ASK),
        ),
        status,
    )


def _messages(case: Case) -> list[CaseMessage]:
    return list(
        db.session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id)
        )
    )


def _actor_names(case: Case) -> dict[int, str]:
    from ..audit.models import AuditEvent  # the trail's table, read for names only

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
        return render_case(case, 400, assign_form=form)
    services.assign(case, candidates[form.assignee_id.data], actor=current_user)
    flash(_("The case has been assigned."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/decide", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def decide(reference: str) -> ResponseReturnValue:
    """Decide as the case's type declares, with written reasons; the requester is told."""
    case = case_or_404(reference, Action.DECIDE)
    form = (case.case_type.kind.decision_form or DecideForm)()
    if not form.validate_on_submit():
        return render_case(case, 400, decide_form=form)
    decision = services.decide_as_its_type(case, actor=current_user, form=form)
    if decision.awaiting_sign_off:
        flash(_("Your decision waits for a second board member's sign-off."), "info")
    else:
        flash(_("The decision has been recorded and the requester informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/fulfil", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def fulfil(reference: str) -> ResponseReturnValue:
    """Confirm that what was decided has been done, for a type its handler fulfils."""
    case = case_or_404(reference, Action.DECIDE)
    if not FulfilForm().validate_on_submit():
        abort(400)
    services.fulfil_by_staff(case, actor=current_user)
    flash(_("The case has been closed as fulfilled."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/messages", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def post_message(reference: str) -> ResponseReturnValue:
    """Write to the requester; they get an e-mail with a link only."""
    case = case_or_404(reference, Action.MESSAGE)
    form = StaffMessageForm()
    if not form.validate_on_submit():
        return render_case(case, 400, message_form=form)
    services.post_message(case, author=current_user, body=form.body.data or "")
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference, _anchor="messages"))


@bp.route("/cases/<reference>/ask", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def ask(reference: str) -> ResponseReturnValue:
    """Ask the requester for a clarification or identity proof; pauses the clock if prompt (R6)."""
    case = case_or_404(reference, Action.ASK)
    form = AskForm()
    if not form.validate_on_submit():
        return render_case(case, 400, ask_form=form)
    _message, pause = services.ask_requester(
        case,
        actor=current_user,
        kind=MessageKind(form.kind.data),
        question=form.question.data or "",
    )
    if pause is not None:
        flash(
            _("Your question has been sent. The clock is paused until the requester answers."),
            "success",
        )
    else:
        flash(
            _("Your question has been sent. It was asked too late to pause the clock."),
            "info",
        )
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/extend", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def extend(reference: str) -> ResponseReturnValue:
    """Extend the term (R4); the notice with the reason goes to the requester."""
    case = case_or_404(reference, Action.EXTEND)
    form = ExtendForm()
    if not form.validate_on_submit():
        return render_case(case, 400, extend_form=form)
    services.extend(
        case,
        actor=current_user,
        months=int(form.months.data or 0),
        reason=ExtensionReason(form.reason.data),
        explanation=form.explanation.data or "",
    )
    flash(_("The term has been extended and the requester informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/cases/<reference>/duplicate", methods=["POST"])
@roles_required(*STAFF_CASE_ROLES)
def mark_duplicate(reference: str) -> ResponseReturnValue:
    """Close the case as a duplicate of another case of the same student."""
    case = case_or_404(reference, Action.MARK_DUPLICATE)
    form = DuplicateForm()
    original = None
    if form.validate_on_submit():
        original = services.case_by_reference((form.original.data or "").strip().upper())
        if original is None or not can(current_user, Action.VIEW, original):
            form.original.errors = [_("There is no case with this reference.")]
            original = None
    if original is None:
        return render_case(case, 400, duplicate_form=form)
    services.mark_duplicate(case, of=original, actor=current_user, note=form.note.data or "")
    flash(_("The case has been closed as a duplicate and the requester informed."), "success")
    return redirect(url_for("staff.case_detail", reference=case.reference))


@bp.route("/admin")
@roles_required(*USER_LIST_ROLES)
def admin_home() -> ResponseReturnValue:
    """The admin's landing page: configuration, no case contents."""
    users = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("staff/admin_home.html", users=users)

"""Staff pages of the register and the admin's exam pages.

The register pages show the checklist overview, a tool's facts and history, and let the admin and
the DPO record changes. The exam pages link an exam to a tool, with the DPO's override when the
tool is not ready. Views are thin: the rules live in :mod:`.entries` and :mod:`.exam_tools`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..errors import RuleViolation
from ..exams.models import Exam, ProctoringTool, Programme, ToolKind
from ..extensions import db
from ..formatting import format_day
from ..permissions import (
    EXAM_MANAGERS,
    REGISTER_EDITORS,
    REGISTER_READERS,
    can_edit_register,
    exam_or_404,
    roles_required,
    tool_or_404,
)
from ..transactions import discard
from . import entries, exam_tools
from .checklist import ITEM_LABELS
from .forms import ExamForm, NewEntryForm, RegisterEntryForm
from .labels import FIELD_LABELS, LEGAL_BASIS_LABELS, TOOL_KIND_LABELS
from .models import LegalBasis

bp = Blueprint("register", __name__, template_folder="templates")


def _labels() -> dict[str, Any]:
    return {
        "field_labels": FIELD_LABELS,
        "kind_labels": TOOL_KIND_LABELS,
        "legal_basis_labels": LEGAL_BASIS_LABELS,
        "item_labels": ITEM_LABELS,
        "may_edit": can_edit_register(current_user),
    }


def _display(value: object) -> str:
    """A fact as the history shows it: lists joined, dates and legal bases readable."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, LegalBasis):
        return str(LEGAL_BASIS_LABELS[value])
    if isinstance(value, date):
        return format_day(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@bp.route("/register")
@roles_required(*REGISTER_READERS)
def index() -> ResponseReturnValue:
    """Every tool with its AP checklist: what is done, missing or due for review."""
    rows = entries.register_overview()
    # A tool that predates the register may just have been adopted as version 1: the request's
    # unit of work keeps it.
    return render_template("register/index.html", rows=rows, **_labels())


@bp.route("/register/tools/<int:tool_id>")
@roles_required(*REGISTER_READERS)
def tool_detail(tool_id: int) -> ResponseReturnValue:
    """A tool's current facts, checklist, exams, overrides and version history."""
    tool = tool_or_404(tool_id)
    all_versions = entries.versions(tool)
    checklist = entries.checklist_for(tool)
    history = [
        (
            version,
            [
                (name, _display(before), _display(after))
                for name, before, after in entries.changes_between(
                    all_versions[i - 1] if i else None, version
                )
            ],
        )
        for i, version in enumerate(all_versions)
    ]
    return render_template(
        "register/tool.html",
        tool=tool,
        version=all_versions[-1],
        current=True,
        checklist=checklist,
        history=list(reversed(history)),
        exams=exam_tools.exams_using(tool),
        overrides=exam_tools.overrides_for(tool),
        **_labels(),
    )


@bp.route("/register/tools/<int:tool_id>/versions/<int:number>")
@roles_required(*REGISTER_READERS)
def tool_version(tool_id: int, number: int) -> ResponseReturnValue:
    """The facts exactly as they were at one version (what a letter of that version cited)."""
    tool = tool_or_404(tool_id)
    version = entries.version_of(tool, number)
    if version is None:
        abort(404)
    latest = entries.current_version(tool)
    return render_template(
        "register/tool.html",
        tool=tool,
        version=version,
        current=version.number == latest.number,
        checklist=None,
        history=[],
        exams=[],
        overrides=[],
        **_labels(),
    )


@bp.route("/register/new", methods=["GET", "POST"])
@roles_required(*REGISTER_EDITORS)
def new_entry() -> ResponseReturnValue:
    """Add a tool to the register."""
    form = NewEntryForm()
    if not form.validate_on_submit():
        return _render_entry_form(form, None, 400 if form.is_submitted() else 200)
    try:
        tool = entries.create_entry(
            name=form.name.data or "",
            kind=ToolKind(form.kind.data),
            facts=form.facts(),
            actor=current_user,
            change_note=form.change_note.data or "",
        )
    except RuleViolation as refusal:
        discard()
        return _render_entry_form(form, None, 409, refusal=refusal)
    flash(_("The tool has been added to the register."), "success")
    return redirect(url_for("register.tool_detail", tool_id=tool.id))


@bp.route("/register/tools/<int:tool_id>/edit", methods=["GET", "POST"])
@roles_required(*REGISTER_EDITORS)
def edit_entry(tool_id: int) -> ResponseReturnValue:
    """Record changed facts as a new version of the tool's entry."""
    tool = tool_or_404(tool_id)
    form = RegisterEntryForm()
    if not form.is_submitted():
        form.fill_from(entries.current_version(tool))
        return _render_entry_form(form, tool, 200)
    if not form.validate():
        return _render_entry_form(form, tool, 400)
    try:
        version = entries.save_version(
            tool, form.facts(), actor=current_user, change_note=form.change_note.data or ""
        )
    except RuleViolation as refusal:
        discard()
        return _render_entry_form(form, tool, 409, refusal=refusal)
    if version is None:
        flash(_("Nothing changed, so no new version was recorded."), "info")
    else:
        flash(_("Version %(number)s has been recorded.", number=version.number), "success")
    return redirect(url_for("register.tool_detail", tool_id=tool.id))


def _render_entry_form(
    form: RegisterEntryForm,
    tool: ProctoringTool | None,
    status: int,
    refusal: RuleViolation | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "register/entry_form.html",
            form=form,
            tool=tool,
            refusal=refusal.message if refusal else None,
            **_labels(),
        ),
        status,
    )


# --- exams (admin) --------------------------------------------------------------------------


@bp.route("/exams")
@roles_required(*EXAM_MANAGERS)
def exams() -> ResponseReturnValue:
    """Exams and the tool each uses, with the tool's readiness."""
    rows = entries.register_overview()
    ready = {row.tool.id: row.checklist.ready for row in rows}
    all_exams = db.session.scalars(select(Exam).order_by(Exam.starts_at.desc())).all()
    return render_template("register/exams.html", exams=all_exams, ready=ready)


@bp.route("/exams/new", methods=["GET", "POST"])
@roles_required(*EXAM_MANAGERS)
def new_exam() -> ResponseReturnValue:
    """Create an exam."""
    return _exam_form(None)


@bp.route("/exams/<int:exam_id>/edit", methods=["GET", "POST"])
@roles_required(*EXAM_MANAGERS)
def edit_exam(exam_id: int) -> ResponseReturnValue:
    """Change an exam or the tool it uses."""
    return _exam_form(exam_or_404(exam_id))


def _exam_form(exam: Exam | None) -> ResponseReturnValue:
    form = ExamForm(obj=exam) if exam is not None else ExamForm()
    if exam is not None and not form.is_submitted():
        form.tool_id.data = exam.proctoring_tool_id or 0
    rows = entries.register_overview()
    tools = {row.tool.id: row for row in rows}
    programmes = {p.id: p for p in db.session.scalars(select(Programme).order_by(Programme.name))}
    dpos = {user.id: user for user in exam_tools.active_dpos()}
    form.programme_id.choices = [SelectChoice(str(p.id), p.name) for p in programmes.values()]
    form.tool_id.choices = [SelectChoice("0", _("No tool"))] + [
        SelectChoice(
            str(row.tool.id),
            _("%(tool)s (ready)", tool=row.tool.name)
            if row.checklist.ready
            else _("%(tool)s (not ready)", tool=row.tool.name),
        )
        for row in rows
    ]
    form.override_dpo_id.choices = [SelectChoice("0", _("No override"))] + [
        SelectChoice(str(user.id), user.full_name) for user in dpos.values()
    ]
    if not form.is_submitted():
        return _render_exam_form(form, exam, tools, 200)
    if not form.validate():
        return _render_exam_form(form, exam, tools, 400)
    tool_row = tools.get(form.tool_id.data or 0)
    override = None
    if form.override_given:
        override = exam_tools.OverrideRequest(
            dpo=dpos[form.override_dpo_id.data],
            decided_on=form.override_decided_on.data,
            reason=form.override_reason.data or "",
        )
    try:
        saved = exam_tools.save_exam(
            exam,
            course_code=form.course_code.data or "",
            title=form.title.data or "",
            programme=programmes[form.programme_id.data],
            starts_at=form.starts_at.data,
            tool=tool_row.tool if tool_row else None,
            actor=current_user,
            override=override,
        )
    except RuleViolation as refusal:
        discard()
        return _render_exam_form(form, exam, tools, 409, refusal=refusal)
    flash(_("The exam %(exam)s has been saved.", exam=saved.label), "success")
    return redirect(url_for("register.exams"))


def _render_exam_form(
    form: ExamForm,
    exam: Exam | None,
    tools: dict[int, entries.RegisterRow],
    status: int,
    refusal: RuleViolation | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "register/exam_form.html",
            form=form,
            exam=exam,
            tools=tools,
            refusal=refusal.message if refusal else None,
        ),
        status,
    )

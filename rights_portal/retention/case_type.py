"""The erasure request (art. 17, R25) as a case type of :mod:`rights_portal.cases.registry`.

Declared once here: the form that chooses recordings, how it is filed, that case handlers decide
it, and the hook that deletes the stored files once a granting decision committed.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts.models import User
from ..cases.forms import MAX_TEXT, DecideForm
from ..cases.models import Case, CaseType, Outcome
from ..cases.registry import CaseKind, Decision, FilingPage, register
from ..formatting import format_moment
from ..forms import Form
from ..permissions import decides_as_case_handler
from ..transactions import queue_task
from . import erasure as services


class ErasureRequestForm(Form):
    """Art. 17: delete chosen recordings; the supplier is told to delete them too (art. 19)."""

    recording_ids = SelectMultipleField(
        _l("Which recordings should we delete?"),
        coerce=int,
        validators=[DataRequired(message=_l("Choose at least one recording."))],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    description = TextAreaField(
        _l("Why do you want them deleted? (optional)"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("For example: your objection was upheld, or the exam is over."),
    )


def _prepare(page: FilingPage, args: Mapping[str, str]) -> None:
    recordings = services.recordings_to_choose(page.subject)
    page.form.recording_ids.choices = [
        SelectChoice(str(r.id), f"{r.exam.label} — {format_moment(r.recorded_at)}")
        for r in recordings
    ]
    page.options["recordings"] = recordings


def _file(page: FilingPage, filed_by: User) -> Case | None:
    chosen = set(page.form.recording_ids.data or [])
    return services.file_erasure_request(
        subject=page.subject,
        filed_by=filed_by,
        description=page.form.description.data or "",
        recordings=[r for r in page.options["recordings"] if r.id in chosen],
    )


def _decide(case: Case, actor: User, form: DecideForm) -> Decision:
    services.decide_erasure(
        case,
        actor=actor,
        outcome=Outcome(form.outcome.data),
        reasons=form.reasons.data or "",
        manifestly_unfounded_justification=(
            form.unfounded_justification.data if form.manifestly_unfounded.data else None
        ),
    )
    return Decision(case)


def delete_decided_files(case: Case, actor: User) -> None:
    """After a decision: once it committed, delete the files whose deletion it scheduled (R25).

    The intents commit with the decision; the queued task carries them out after the commit, one
    commit per file, so nothing is half-deleted if a process dies (the task runs again, and the
    daily purge finds the rest). ``actor`` is recorded with the intents already.
    """
    queue_task(services.DELETE_DECIDED_FILES_TASK, case.id)


ERASURE = register(
    CaseKind(
        name=CaseType.ERASURE.value,
        label=_l("Erasure of recordings"),
        intro=_l(
            "You may ask us to delete recordings of your exams, for example after your objection "
            "was upheld. We then also tell the supplier of the proctoring software to delete them."
        ),
        legal_basis="AVG art. 17 en 19",
        form=ErasureRequestForm,
        prepare=_prepare,
        file=_file,
        decides=decides_as_case_handler,
        decision_form=DecideForm,
        decide=_decide,
        right_in_plain_words=_l(
            "Have your recordings deleted. We also tell the supplier to delete them."
        ),
        fulfilment="erasure done",
        after_decision=(delete_decided_files,),
    )
)

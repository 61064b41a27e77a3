"""The access request (art. 15, R11-R14) as a case type of :mod:`rights_portal.cases.registry`.

Declared once here: the filing form with its scope, how it is filed, that case handlers decide
it with the common decision form, that a delivered package fulfils it, and its parts of the case
pages (the link to the access workspace; the requester's package).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts.models import User
from ..cases.forms import MAX_TEXT, DecideForm
from ..cases.models import Case, CaseType
from ..cases.registry import CaseKind, FilingPage, register
from ..cases.services import decide_with_reasons
from ..forms import Form
from ..permissions import Action, can, decides_as_case_handler
from . import filing, lifecycle


class AccessRequestForm(Form):
    """R11: access to recordings and data: everything, or chosen exams and/or the flags."""

    scope = RadioField(
        _l("What would you like to receive?"),
        choices=[
            SelectChoice("all", _l("Everything you hold about me")),
            SelectChoice("specific", _l("Only what I choose below")),
        ],
        default="all",
        # Not answering means everything: an access request covers all data unless narrowed.
        validators=[Optional()],
    )
    exam_ids = SelectMultipleField(
        _l("Recordings and data of these exams"),
        coerce=int,
        validators=[Optional()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    include_flags = BooleanField(_l("The automated flags and how a person reviewed them"))
    description = TextAreaField(
        _l("Anything you want to add? (optional)"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("For example: which moment of a recording you are looking for."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Choosing "only what I choose" needs at least one exam or the flags."""
        valid = super().validate(extra_validators)
        if not self.scope.data:
            self.scope.data = "all"
        nothing_chosen = not self.exam_ids.data and not self.include_flags.data
        if valid and self.scope.data == "specific" and nothing_chosen:
            self.scope.errors = [_l("Choose at least one exam, or the automated flags.")]
            return False
        return valid


def _prepare(page: FilingPage, args: Mapping[str, str]) -> None:
    exams = filing.exams_to_choose(page.subject)
    page.form.exam_ids.choices = [SelectChoice(str(exam.id), exam.label) for exam in exams]
    page.options["exams"] = exams


def _file(page: FilingPage, filed_by: User) -> Case | None:
    form = page.form
    chosen = set(form.exam_ids.data or [])
    return filing.file_access_request(
        subject=page.subject,
        filed_by=filed_by,
        description=form.description.data or "",
        all_data=form.scope.data == "all",
        exams=[exam for exam in page.options["exams"] if exam.id in chosen],
        include_flags=bool(form.include_flags.data),
    )


def _staff_panel(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    return {"may_work_access": can(user, Action.WORK_ACCESS, case)}


def _requester_panel(case: Case, user: User, forms: Mapping[str, Any]) -> dict[str, Any]:
    package = None
    if can(user, Action.DOWNLOAD_PACKAGE, case):
        package = lifecycle.delivered_package(case)
    return {"package": package}


ACCESS = register(
    CaseKind(
        name=CaseType.ACCESS.value,
        label=_l("Access to recordings and data"),
        intro=_l(
            "You may see which data we hold about you, such as recordings, screenshots, logs and "
            "automated flags. You get a copy. This is free."
        ),
        legal_basis="AVG art. 15",
        form=AccessRequestForm,
        prepare=_prepare,
        file=_file,
        decides=decides_as_case_handler,
        decision_form=DecideForm,
        decide=decide_with_reasons,
        # lifecycle.deliver closes the case with this fulfilment once the package was delivered.
        right_in_plain_words=_l("See your data. You may ask for the recordings and what we know."),
        fulfilment="access package delivered",
        staff_panel=("access/_staff_case_panel.html", _staff_panel),
        requester_panel=_requester_panel,
    )
)

"""Forms of the register: an entry's facts (new entry or new version) and an exam with its tool."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..clock import AMSTERDAM
from ..exams.models import ToolKind
from ..forms import Form
from .labels import FIELD_LABELS, LEGAL_BASIS_LABELS, TOOL_KIND_LABELS
from .models import FACT_FIELDS

TEXT = [Optional(), Length(max=10000)]


def _text(name: str, description: object = "") -> TextAreaField:
    return TextAreaField(FIELD_LABELS[name], validators=TEXT, description=description)


def _date(name: str, description: object = "") -> DateField:
    return DateField(FIELD_LABELS[name], validators=[Optional()], description=description)


class RegisterEntryForm(Form):
    """The facts of a register entry; saving records a new version."""

    purpose = _text("purpose", _l("Fixed once set: a new purpose needs a new register entry."))
    necessity = _text("necessity")
    alternatives_considered = _text(
        "alternatives_considered",
        _l("For example an essay, a paper or an exam on campus instead of a proctored exam."),
    )
    necessity_reviewed_on = _date(
        "necessity_reviewed_on", _l("Re-evaluate the necessity after every year of use.")
    )
    intrusion_limits = _text(
        "intrusion_limits",
        _l("For example camera only and no eye tracking, or combining exam moments."),
    )
    legal_basis = SelectField(
        FIELD_LABELS["legal_basis"],
        choices=[SelectChoice("", _l("Not chosen yet"))]
        + [SelectChoice(basis.value, label) for basis, label in LEGAL_BASIS_LABELS.items()],
        validators=[Optional()],
    )
    legal_basis_explanation = _text("legal_basis_explanation")
    in_use_since = _date(
        "in_use_since", _l("Leave empty if the tool is not used yet; exams linked to it count too.")
    )
    data_categories = _text("data_categories", _l("One category per line."))
    vendor = StringField(
        FIELD_LABELS["vendor"],
        validators=[DataRequired(message=_l("Name the supplier of the tool.")), Length(max=200)],
    )
    vendor_email = EmailField(
        FIELD_LABELS["vendor_email"], validators=[Optional(), Email(), Length(max=254)]
    )
    sub_processors = _text("sub_processors", _l("One per line, with the country."))
    outside_eea = BooleanField(FIELD_LABELS["outside_eea"])
    transfer_safeguards = _text(
        "transfer_safeguards",
        _l("For example standard contractual clauses or an adequacy decision."),
    )
    retention_days = IntegerField(
        FIELD_LABELS["retention_days"],
        validators=[
            InputRequired(message=_l("Give the retention period in days.")),
            NumberRange(min=1, max=3650, message=_l("Give a number of days from 1 to 3650.")),
        ],
        default=90,
    )
    recording_rules = _text(
        "recording_rules",
        _l("Video calls: students are not recorded unless that is justified and announced."),
    )
    dpia_on = _date("dpia_on")
    dpia_outcome = _text("dpia_outcome")
    dpia_next_review_on = _date("dpia_next_review_on")
    dpo_advice_on = _date(
        "dpo_advice_on",
        _l("Must lie before the first use. Informing the DPO afterwards is not enough."),
    )
    dpo_advice_summary = _text("dpo_advice_summary")
    stakeholders_consulted = _text(
        "stakeholders_consulted",
        _l("For example the student council and the participation council, with dates."),
    )
    processor_agreement_on = _date("processor_agreement_on")
    processor_agreement_expires_on = _date("processor_agreement_expires_on")
    policy_url = StringField(
        FIELD_LABELS["policy_url"],
        validators=[Optional(), URL(message=_l("Give a full web address.")), Length(max=500)],
    )
    privacy_notice = _text(
        "privacy_notice", _l("The text students and parents read about this tool.")
    )
    incident_procedure = _text("incident_procedure")
    change_note = TextAreaField(
        FIELD_LABELS["change_note"], validators=[Optional(), Length(max=2000)]
    )

    def facts(self) -> dict[str, Any]:
        """The submitted facts, as the register's services take them."""
        return {name: self[name].data for name in FACT_FIELDS}

    def fill_from(self, version: Any) -> None:
        """Pre-fill the form with a version's facts (lists one item per line)."""
        for name in FACT_FIELDS:
            value = getattr(version, name)
            if isinstance(value, list):
                value = "\n".join(value)
            elif name == "legal_basis":
                value = value.value if value is not None else ""
            self[name].data = value

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks, then dates that must follow each other."""
        ok = super().validate(extra_validators)
        dpia_on, review_on = self.dpia_on.data, self.dpia_next_review_on.data
        if dpia_on and review_on and review_on <= dpia_on:
            self.dpia_next_review_on.errors = [
                *self.dpia_next_review_on.errors,
                _l("The next DPIA review must come after the DPIA."),
            ]
            ok = False
        signed, expires = self.processor_agreement_on.data, self.processor_agreement_expires_on.data
        if signed and expires and expires <= signed:
            self.processor_agreement_expires_on.errors = [
                *self.processor_agreement_expires_on.errors,
                _l("The processor agreement must expire after it was signed."),
            ]
            ok = False
        return ok


class NewEntryForm(RegisterEntryForm):
    """A new register entry: the tool's name and kind, then its facts."""

    name = StringField(
        FIELD_LABELS["name"],
        validators=[DataRequired(message=_l("Give the tool a name.")), Length(max=200)],
    )
    kind = RadioField(
        FIELD_LABELS["kind"],
        choices=[SelectChoice(kind.value, label) for kind, label in TOOL_KIND_LABELS.items()],
        validators=[InputRequired(message=_l("Choose the kind of tool."))],
        default=ToolKind.PROCTORING.value,
    )


class ExamForm(Form):
    """An exam and the tool it uses, with the DPO's override when the tool is not ready."""

    course_code = StringField(
        _l("Course code"),
        validators=[DataRequired(message=_l("Give the course code.")), Length(max=32)],
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Give the title.")), Length(max=200)]
    )
    programme_id = SelectField(
        _l("Programme"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose the programme."))],
    )
    starts_at = DateTimeLocalField(
        _l("Starts at"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        tz=AMSTERDAM,
        validators=[InputRequired(message=_l("Give the date and time the exam starts."))],
        description=_l("Time in the Netherlands."),
    )
    tool_id = SelectField(
        _l("Proctoring or video-call tool"),
        coerce=int,
        validators=[Optional()],
        description=_l("A tool that is not ready can be used only with an override by the DPO."),
    )
    override_dpo_id = SelectField(
        _l("DPO who decided the override"), coerce=int, validators=[Optional()]
    )
    override_decided_on = DateField(_l("Date of the DPO's decision"), validators=[Optional()])
    override_reason = TextAreaField(
        _l("The DPO's reason"), validators=[Optional(), Length(max=5000)]
    )

    @property
    def override_given(self) -> bool:
        """Whether any override field was filled in."""
        return bool(
            self.override_dpo_id.data
            or self.override_decided_on.data
            or (self.override_reason.data or "").strip()
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks; an override needs its DPO, date and reason together."""
        ok = super().validate(extra_validators)
        if self.override_given:
            required = (
                (self.override_dpo_id, not self.override_dpo_id.data, _l("Choose the DPO.")),
                (
                    self.override_decided_on,
                    not self.override_decided_on.data,
                    _l("Give the date of the DPO's decision."),
                ),
                (
                    self.override_reason,
                    not (self.override_reason.data or "").strip(),
                    _l("Write down the DPO's reason."),
                ),
            )
            for field, empty, message in required:
                if empty:
                    field.errors = [*field.errors, message]
                    ok = False
        return ok

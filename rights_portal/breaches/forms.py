"""Forms of the breach register. Moments are entered as Amsterdam date and time (stored UTC)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import Form
from .models import RiskLevel

RISK_LABELS = {
    RiskLevel.NO_RISK: _l("No risk: unlikely to harm the people concerned (no notification)"),
    RiskLevel.RISK: _l("Risk: notify the Autoriteit Persoonsgegevens"),
    RiskLevel.HIGH_RISK: _l("High risk: notify the AP and inform the people concerned"),
}

TEXT_MAX = 10000


def _tool_field() -> SelectField:
    return SelectField(
        _l("Tool or vendor involved (optional)"),
        coerce=int,
        validators=[Optional()],
        description=_l("Choose the proctoring tool if the breach happened at or through it."),
    )


class ReportBreachForm(Form):
    """What any staff member reports (art. 33(3)(a))."""

    description = TextAreaField(
        _l("What happened?"),
        validators=[DataRequired(message=_l("Describe what happened.")), Length(max=TEXT_MAX)],
        description=_l(
            "Describe it as concretely as you can. Do not wait until you know all facts."
        ),
    )
    discovered_on = DateField(
        _l("Date of discovery"),
        validators=[InputRequired(message=_l("Give the date the breach was discovered."))],
    )
    discovered_time = TimeField(
        _l("Time of discovery (Amsterdam time)"),
        validators=[InputRequired(message=_l("Give the time the breach was discovered."))],
        description=_l("The 72 hours for notifying the AP start at this moment."),
    )
    data_categories = TextAreaField(
        _l("Which data is involved?"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("For example: webcam recordings, screenshots, names and student numbers."),
    )
    data_subjects = TextAreaField(
        _l("Whose data is it?"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("For example: the students who took one exam, and roughly how many."),
    )
    tool_id = _tool_field()


class AssessForm(Form):
    """The DPO's risk assessment."""

    risk = RadioField(
        _l("Risk to the people concerned"),
        choices=[SelectChoice(level.value, label) for level, label in RISK_LABELS.items()],
        validators=[InputRequired(message=_l("Choose the risk level."))],
    )
    assessment = TextAreaField(
        _l("Assessment"),
        validators=[
            DataRequired(message=_l("Write down how you assessed the risk.")),
            Length(max=TEXT_MAX),
        ],
    )


class ApNotificationForm(Form):
    """When the AP was notified, with its reference (and reasons for lateness)."""

    notified_on = DateField(
        _l("Date of the notification"),
        validators=[InputRequired(message=_l("Give the date of the notification."))],
    )
    notified_time = TimeField(
        _l("Time of the notification (Amsterdam time)"),
        validators=[InputRequired(message=_l("Give the time of the notification."))],
    )
    # Field names are unique across the breach page's forms, so every label points at one id.
    ap_reference = StringField(
        _l("Reference of the notification at the AP"),
        validators=[
            DataRequired(message=_l("Give the reference of the notification to the AP.")),
            Length(max=100),
        ],
    )
    lateness_reason = TextAreaField(
        _l("Reasons for the delay"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("Required when the AP was notified more than 72 hours after discovery."),
    )


class RemedialForm(Form):
    """Measures taken to end the breach and limit its consequences."""

    remedial_actions = TextAreaField(
        _l("Measures taken"), validators=[Optional(), Length(max=TEXT_MAX)]
    )


class ToolForm(Form):
    """Link a tool or vendor."""

    tool_id = _tool_field()


class LinkCaseForm(Form):
    """Link a case by its reference."""

    case_reference = StringField(
        _l("Case reference"),
        validators=[DataRequired(message=_l("Give the reference of the case.")), Length(max=20)],
    )


class StudentsForm(Form):
    """Affected students by student number."""

    numbers = TextAreaField(
        _l("Student numbers"),
        validators=[
            DataRequired(message=_l("Give at least one student number.")),
            Length(max=TEXT_MAX),
        ],
        description=_l("One per line, or separated by commas or spaces."),
    )


class NoticeForm(Form):
    """The plain-language notice to the people concerned (art. 34(2))."""

    text_nl = TextAreaField(
        _l("Notice in Dutch"),
        validators=[DataRequired(message=_l("Write the notice in Dutch.")), Length(max=TEXT_MAX)],
        description=_l(
            "Plain language: what happened, what it means for them, what we did and what they can "
            "do themselves."
        ),
    )
    text_en = TextAreaField(
        _l("Notice in English"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("Needed when an affected student reads the portal in English."),
    )


class NotifyStudentsForm(Form):
    """One button: send the notice to every affected student not yet told."""


class CloseForm(Form):
    """Close the record; without an AP notification the reason is required (art. 33(5))."""

    not_notified_reason = TextAreaField(
        _l("Why the AP was not notified"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("Required when the AP was not notified. It stays in the register."),
    )
    subjects_not_informed_reason = TextAreaField(
        _l("Why the people concerned were not informed"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("Required for a high risk when they were not informed (GDPR art. 34(3))."),
    )

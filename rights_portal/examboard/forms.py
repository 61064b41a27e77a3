"""Forms for exam-board decisions, alternatives and flag reviews."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..exams.models import FlagReviewStatus
from ..forms import Form
from .models import AlternativeForm, AlternativeStatus

ALTERNATIVE_FORM_LABELS = {
    AlternativeForm.ON_CAMPUS: _l("On campus, with an invigilator"),
    AlternativeForm.ORAL: _l("Oral exam"),
    AlternativeForm.PAPER: _l("Paper or essay"),
    AlternativeForm.TAKE_HOME: _l("Take-home exam"),
}

ALTERNATIVE_STATUS_LABELS = {
    AlternativeStatus.OFFERED: _l("Offered, waiting for the student"),
    AlternativeStatus.ACCEPTED: _l("Accepted"),
    AlternativeStatus.OTHER_SLOT_REQUESTED: _l("Another time requested"),
}

FLAG_OUTCOME_LABELS = {
    FlagReviewStatus.NO_IRREGULARITY: _l("No irregularity"),
    FlagReviewStatus.IRREGULARITY_SUSPECTED: _l(
        "Irregularity suspected: start the fraud procedure"
    ),
}


class AssignAlternativeForm(Form):
    """R17: the alternative, its date and place or hand-in instructions."""

    form = RadioField(
        _l("Kind of alternative"),
        choices=[SelectChoice(k.value, v) for k, v in ALTERNATIVE_FORM_LABELS.items()],
        validators=[InputRequired(message=_l("Choose the kind of alternative."))],
    )
    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Give a valid date."))])
    time = TimeField(_l("Start time"), validators=[InputRequired(message=_l("Give a valid time."))])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    instructions = TextAreaField(
        _l("Instructions (for example how to hand in)"), validators=[Optional(), Length(max=5000)]
    )
    late_justification = TextAreaField(
        _l("Why a later date is needed (only when beyond the limit)"),
        validators=[Optional(), Length(max=5000)],
        description=_l("A later date causes study delay; the reason is shown to the DPO."),
    )


class RespondAlternativeForm(Form):
    """The student accepts or asks for another time, with a reason."""

    answer = RadioField(
        _l("Your answer"),
        choices=[
            SelectChoice("accept", _l("I accept this alternative")),
            SelectChoice("other", _l("I need another time")),
        ],
        validators=[InputRequired(message=_l("Choose your answer."))],
    )
    reason = TextAreaField(
        _l("Why do you need another time?"), validators=[Optional(), Length(max=2000)]
    )


class FlagReviewForm(Form):
    """R18: the human judgement of an automated flag."""

    outcome = RadioField(
        _l("Outcome of your review"),
        choices=[SelectChoice(k.value, v) for k, v in FLAG_OUTCOME_LABELS.items()],
        validators=[InputRequired(message=_l("Choose the outcome of your review."))],
    )
    reasons = TextAreaField(
        _l("Reasons"),
        validators=[DataRequired(message=_l("A review needs written reasons.")), Length(max=10000)],
        description=_l("What you saw in the material, and why it leads to this outcome."),
    )


class SignOffForm(Form):
    """Confirms a second member's sign-off (only the CSRF token)."""

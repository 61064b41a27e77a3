"""Forms of the staff case page and queue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from ..cases.labels import OUTCOME_LABELS


class AssignForm(FlaskForm):
    """Assign the case to oneself or a colleague."""

    assignee_id = SelectField(_l("Assign to"), coerce=int, validators=[InputRequired()])


class DecideForm(FlaskForm):
    """A decision always has written reasons (R5, R15, R23)."""

    outcome = RadioField(
        _l("Decision"),
        choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    reasons = TextAreaField(
        _l("Reasons"),
        validators=[
            DataRequired(message=_l("Write down the reasons for this decision.")),
            Length(max=10000),
        ],
        description=_l("The requester reads these reasons. Write them in plain language."),
    )

"""Forms of the staff case page and queue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..cases.forms import DecideForm
from ..cases.models import ExtensionReason, MessageKind
from ..forms import Form

__all__ = ["AskForm", "AssignForm", "DecideForm", "DuplicateForm", "ExtendForm", "StaffMessageForm"]


class AssignForm(Form):
    """Assign the case to oneself or a colleague."""

    assignee_id = SelectField(_l("Assign to"), coerce=int, validators=[InputRequired()])


class StaffMessageForm(Form):
    """A message to the requester."""

    body = TextAreaField(
        _l("Message to the requester"),
        validators=[DataRequired(message=_l("Write a message first.")), Length(max=5000)],
    )


class AskForm(Form):
    """Ask for identity information or a clarification (R6, R22)."""

    kind = RadioField(
        _l("What do you need?"),
        choices=[
            SelectChoice(
                MessageKind.QUESTION_CLARIFICATION.value, _l("A clarification of the request")
            ),
            SelectChoice(
                MessageKind.QUESTION_IDENTITY.value, _l("Proof of identity (reasonable doubt only)")
            ),
        ],
        validators=[InputRequired(message=_l("Choose what you need."))],
    )
    question = TextAreaField(
        _l("Question"),
        validators=[DataRequired(message=_l("Write the question first.")), Length(max=5000)],
    )


class ExtendForm(Form):
    """Extend the term by one or two months (R4)."""

    months = RadioField(
        _l("Extend by"),
        choices=[SelectChoice("1", _l("One month")), SelectChoice("2", _l("Two months"))],
        validators=[InputRequired(message=_l("Choose one or two months."))],
    )
    reason = RadioField(
        _l("Reason"),
        choices=[
            SelectChoice(ExtensionReason.COMPLEXITY.value, _l("The request is complex")),
            SelectChoice(ExtensionReason.NUMBER_OF_REQUESTS.value, _l("The number of requests")),
        ],
        validators=[InputRequired(message=_l("Choose a reason."))],
    )
    explanation = TextAreaField(
        _l("Explanation for the requester"),
        validators=[
            DataRequired(message=_l("Explain why the extension is needed.")),
            Length(max=5000),
        ],
    )


class DuplicateForm(Form):
    """Close as a duplicate of another case."""

    original = StringField(
        _l("Reference of the original case"),
        validators=[
            DataRequired(message=_l("Give the reference of the original case.")),
            Length(max=20),
        ],
    )
    note = TextAreaField(
        _l("Note to the requester (optional)"), validators=[Optional(), Length(max=2000)]
    )

"""Forms students use to file requests."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

MAX_TEXT = 5000


class AccessRequestForm(FlaskForm):
    """R11: access to recordings and data; the student may say what they are looking for."""

    description = TextAreaField(
        _l("What would you like to receive? (optional)"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("For example: the recording of one exam, or all data you have about me."),
    )


class ExamRequestForm(FlaskForm):
    """An objection or an alternative-exam request about one exam."""

    exam_id = SelectField(
        _l("Exam"), coerce=int, validators=[InputRequired(message=_l("Choose an exam."))]
    )
    description = TextAreaField(
        _l("Your reasons"),
        validators=[
            DataRequired(message=_l("Describe your reasons.")),
            Length(max=MAX_TEXT),
        ],
    )


class ObjectionForm(ExamRequestForm):
    """R15: an objection needs grounds relating to the student's situation."""

    description = TextAreaField(
        _l("Grounds of your objection"),
        validators=[
            DataRequired(message=_l("Describe the grounds of your objection.")),
            Length(max=MAX_TEXT),
        ],
        description=_l(
            "Explain what in your personal situation makes online proctoring a problem."
        ),
    )
    restrict = BooleanField(
        _l("Do not use my recordings of this exam while my objection is being decided"),
        description=_l("Staff may then only look at them to decide about your objection."),
    )


class HumanReviewForm(FlaskForm):
    """R18: ask that a person, not a computer, judges an automated flag; with the student's view."""

    flag_id = SelectField(
        _l("Which flag?"), coerce=int, validators=[InputRequired(message=_l("Choose a flag."))]
    )
    description = TextAreaField(
        _l("Your view"),
        validators=[DataRequired(message=_l("Tell us your view.")), Length(max=MAX_TEXT)],
        description=_l(
            "What happened at that moment? The exam board reads this before it decides."
        ),
    )


class MessageForm(FlaskForm):
    """A message, or the answer to a question, on the case thread."""

    body = TextAreaField(
        _l("Your message"),
        validators=[DataRequired(message=_l("Write a message first.")), Length(max=MAX_TEXT)],
    )


class WithdrawForm(FlaskForm):
    """Confirms a withdrawal (only the CSRF token)."""

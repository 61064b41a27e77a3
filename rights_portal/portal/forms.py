"""Forms students use to file requests."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form

MAX_TEXT = 5000


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


class ExamRequestForm(Form):
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

    def validate_exam_id(self, field: SelectField) -> None:
        """The "choose an exam" placeholder is no answer: say so together with the other errors."""
        if not field.data:
            raise ValidationError(_l("Choose an exam."))


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


class HumanReviewForm(Form):
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

    def validate_flag_id(self, field: SelectField) -> None:
        """The "choose a flag" placeholder is no answer."""
        if not field.data:
            raise ValidationError(_l("Choose a flag."))


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


class MessageForm(Form):
    """A message, or the answer to a question, on the case thread."""

    body = TextAreaField(
        _l("Your message"),
        validators=[DataRequired(message=_l("Write a message first.")), Length(max=MAX_TEXT)],
    )


class WithdrawForm(Form):
    """Confirms a withdrawal (only the CSRF token)."""

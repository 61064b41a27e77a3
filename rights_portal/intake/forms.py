"""The staff form for registering a request received by letter, e-mail, phone or at a desk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..cases.labels import CASE_TYPE_LABELS
from ..cases.models import Channel
from ..forms import Form
from .models import AcknowledgeBy
from .services import INTAKE_TYPES

CHANNEL_CHOICE_LABELS = {
    Channel.LETTER: _l("Letter"),
    Channel.EMAIL: _l("E-mail"),
    Channel.PHONE: _l("Phone"),
    Channel.DESK: _l("At a desk"),
}
ACKNOWLEDGE_LABELS = {
    AcknowledgeBy.EMAIL: _l("By e-mail to the student's address"),
    AcknowledgeBy.POST: _l("By post: print the PDF letter"),
}


class RegisterRequestForm(Form):
    """R1: a request that reached us outside the portal, with its original date of receipt."""

    channel = RadioField(
        _l("How did the request reach us?"),
        choices=[SelectChoice(c.value, label) for c, label in CHANNEL_CHOICE_LABELS.items()],
        validators=[InputRequired(message=_l("Choose how the request reached us."))],
    )
    received_on = DateField(
        _l("Date of receipt"),
        description=_l(
            "The day the letter, e-mail or call reached the institution: the term runs from then."
        ),
        validators=[InputRequired(message=_l("Give the date of receipt."))],
    )
    student_number = StringField(
        _l("Student number"),
        validators=[InputRequired(message=_l("Give the student number.")), Length(max=32)],
    )
    date_of_birth = DateField(
        _l("Date of birth"),
        validators=[InputRequired(message=_l("Give the date of birth."))],
    )
    case_type = SelectField(
        _l("Kind of request"),
        choices=[SelectChoice(t.value, CASE_TYPE_LABELS[t]) for t in INTAKE_TYPES],
        validators=[InputRequired()],
    )
    exam_id = SelectField(
        _l("Exam (objection or alternative exam)"), coerce=int, validators=[Optional()]
    )
    description = TextAreaField(
        _l("What the requester asks"),
        description=_l("Copy the request or summarise a phone call in the requester's words."),
        validators=[Length(max=20000)],
    )
    document = FileField(
        _l("The letter or e-mail"),
        description=_l(
            "A scan as PDF or image (PNG, JPEG, TIFF), or the e-mail as .eml file. Required for "
            "a letter or e-mail."
        ),
    )
    acknowledge_by = RadioField(
        _l("Acknowledgement"),
        choices=[SelectChoice(a.value, label) for a, label in ACKNOWLEDGE_LABELS.items()],
        default=AcknowledgeBy.EMAIL.value,
        validators=[InputRequired()],
    )
    postal_address = TextAreaField(
        _l("Postal address (for post)"), validators=[Optional(), Length(max=1000)]
    )

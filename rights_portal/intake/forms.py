"""The staff form for registering a request received by letter, e-mail, phone or at a desk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..accounts.labels import AUTHORITY_DOCUMENT_LABELS, IDENTITY_DOCUMENT_LABELS
from ..cases.labels import CASE_TYPE_LABELS
from ..cases.models import Channel
from ..forms import Form
from .models import AcknowledgeBy, RequesterRelation
from .services import INTAKE_TYPES

CHANNEL_CHOICE_LABELS = {
    Channel.LETTER: _l("Letter"),
    Channel.EMAIL: _l("E-mail"),
    Channel.PHONE: _l("Phone"),
    Channel.DESK: _l("At a desk"),
}
ACKNOWLEDGE_LABELS = {
    AcknowledgeBy.EMAIL: _l("By e-mail (to the student's address, or to the requester's)"),
    AcknowledgeBy.POST: _l("By post: print the PDF letter"),
}
REQUESTER_KIND_LABELS = {
    "student": _l("The student, with their portal account"),
    "external": _l("Someone without an account (a former student, a parent)"),
}
RELATION_LABELS = {
    RequesterRelation.SELF: _l("The student themselves (for example a former student)"),
    RequesterRelation.LEGAL_REPRESENTATIVE: _l(
        "Parent or guardian of a student under 16 (legal representative)"
    ),
}
LOCALE_LABELS = {"nl": "Nederlands", "en": "English"}
LETTER_STATE_LABELS = {
    "held": _l("Held until the identity has been checked"),
    "emailed": _l("Sent by e-mail"),
    "to_print": _l("To print and post"),
    "printed": _l("Printed for post"),
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
    requester = RadioField(
        _l("Who made the request?"),
        choices=[SelectChoice(k, label) for k, label in REQUESTER_KIND_LABELS.items()],
        default="student",
        # Left out (an older client), it is the student with their account.
        validators=[Optional()],
    )
    requester_name = StringField(_l("Requester's name"), validators=[Optional(), Length(max=200)])
    requester_relation = RadioField(
        _l("Requester's relation to the student"),
        choices=[SelectChoice(r.value, label) for r, label in RELATION_LABELS.items()],
        default=RequesterRelation.SELF.value,
        validators=[Optional()],
    )
    requester_email = StringField(
        _l("Requester's e-mail address"),
        description=_l("Answers go here when they are sent by e-mail."),
        validators=[Optional(), Length(max=254)],
    )
    requester_locale = SelectField(
        _l("Requester's language"),
        choices=[SelectChoice(code, label) for code, label in LOCALE_LABELS.items()],
        default="nl",
        validators=[Optional()],
    )
    case_type = SelectField(
        _l("Kind of request"),
        choices=[SelectChoice(t.value, CASE_TYPE_LABELS[t]) for t in INTAKE_TYPES],
        validators=[InputRequired()],
    )
    exam_id = SelectField(
        _l("Exam (objection or alternative exam)"), coerce=int, validators=[Optional()]
    )
    flag_id = SelectField(
        _l("Automated flag (human review)"),
        description=_l("The student's flags are offered once the student has been found."),
        coerce=int,
        validate_choice=False,
        validators=[Optional()],
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


class RequesterIdentityForm(Form):
    """R22 (and R21): staff saw the requester's identity document, and a parent's authority."""

    identity_document = SelectField(
        _l("Identity document seen"),
        choices=[SelectChoice(d.value, label) for d, label in IDENTITY_DOCUMENT_LABELS.items()],
        validators=[InputRequired(message=_l("Give the type of document and the day you saw it."))],
    )
    seen_on = DateField(
        _l("Seen on"),
        validators=[InputRequired(message=_l("Give the type of document and the day you saw it."))],
    )
    authority_document = SelectField(
        _l("Document that showed the authority (parent or guardian)"),
        choices=[SelectChoice("", _l("— not a parent or guardian —"))]
        + [SelectChoice(d.value, label) for d, label in AUTHORITY_DOCUMENT_LABELS.items()],
        validators=[Optional()],
    )


class LinkAccountForm(Form):
    """Hand the case to the requester's own verified account."""

    account_email = StringField(
        _l("E-mail address of the requester's verified account"),
        validators=[
            InputRequired(message=_l("Give the e-mail address of the account.")),
            Length(max=254),
        ],
    )


class RequesterAnswerForm(Form):
    """R6: what the requester answered outside the portal, entered by the handler."""

    received_on = DateField(
        _l("Date of receipt"),
        validators=[InputRequired(message=_l("Give the date of receipt."))],
    )
    body = TextAreaField(
        _l("What the requester answered"),
        validators=[
            InputRequired(message=_l("Write down what the requester answered.")),
            Length(max=20000),
        ],
    )

"""Accounts forms: login and language, guardian accounts and links, identity checks (R20-R22)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from ..clock import today_local
from ..forms import Form
from .labels import (
    AUTHORITY_DOCUMENT_LABELS,
    BASIS_LABELS,
    IDENTITY_ANSWER_LABELS,
    IDENTITY_DOCUMENT_LABELS,
    METHOD_LABELS,
)
from .models import IdentityCheckStatus
from .services import MIN_PASSWORD_LENGTH

MAX_REASON = 5000


class LoginForm(Form):
    """E-mail and password."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LanguageForm(Form):
    """The language switch in the page header."""

    language = SelectField(
        _l("Language"), choices=[SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]
    )
    next = HiddenField()


def _choices(labels: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


def _not_in_future(form: FlaskForm, field: Field) -> None:
    if isinstance(field.data, date) and field.data > today_local():
        raise ValidationError(_l("This date cannot be in the future."))


def _password_field() -> PasswordField:
    return PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=_l("Choose a password of at least 10 characters."),
            ),
        ],
        description=_l("At least 10 characters. A sentence of a few words is easy to remember."),
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(message=_l("Repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


def _name_field() -> StringField:
    return StringField(
        _l("Your full name"),
        validators=[DataRequired(message=_l("Enter your name.")), Length(max=200)],
    )


class GuardianRegistrationForm(Form):
    """A parent or guardian creates an account (guardians only: students have one already)."""

    full_name = _name_field()
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    password = _password_field()
    confirm = _confirm_field()


class AcceptInvitationForm(Form):
    """An invited parent confirms their name and chooses a password."""

    full_name = _name_field()
    password = _password_field()
    confirm = _confirm_field()


class LinkRequestForm(Form):
    """A guardian asks to act for a student (R21)."""

    student_number = StringField(
        _l("Student number of your child"),
        validators=[DataRequired(message=_l("Enter the student number.")), Length(max=32)],
        description=_l("You find it on your child's student card or in letters from us."),
    )
    date_of_birth = DateField(
        _l("Date of birth of your child"),
        validators=[InputRequired(message=_l("Enter the date of birth.")), _not_in_future],
    )
    basis = RadioField(
        _l("On what basis do you act for your child?"),
        choices=_choices(BASIS_LABELS),
        validators=[InputRequired(message=_l("Choose the basis of your authority."))],
    )


class InviteGuardianForm(Form):
    """Staff invite a parent to create a guardian account."""

    full_name = StringField(
        _l("Name of the parent or guardian"),
        validators=[DataRequired(message=_l("Enter the name.")), Length(max=200)],
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter the e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    locale = SelectField(
        _l("Language of the e-mail"),
        choices=[SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")],
    )


class VerifyLinkForm(Form):
    """How staff checked the guardian's authority: method, document type, day (never a copy)."""

    method = RadioField(
        _l("How was the authority checked?"),
        choices=_choices(METHOD_LABELS),
        validators=[InputRequired(message=_l("Choose how the authority was checked."))],
    )
    document_type = RadioField(
        _l("Document seen"),
        choices=_choices(AUTHORITY_DOCUMENT_LABELS),
        validators=[InputRequired(message=_l("Choose the document that was seen."))],
        description=_l("Do not make or keep a copy of the document."),
    )
    document_seen_on = DateField(
        _l("Day the document was seen"),
        validators=[InputRequired(message=_l("Enter the day.")), _not_in_future],
    )


class RejectLinkForm(Form):
    """Reject a pending link with a reason the guardian reads."""

    rejection_reason = TextAreaField(
        _l("Reason for rejecting"),
        validators=[
            DataRequired(message=_l("Write down why the request is rejected.")),
            Length(max=MAX_REASON),
        ],
        description=_l("The guardian reads this reason. Write it in plain language."),
    )


class RevokeLinkForm(Form):
    """End a verified link with a reason the guardian reads."""

    revocation_reason = TextAreaField(
        _l("Reason for ending the link"),
        validators=[
            DataRequired(message=_l("Write down why the link is revoked.")),
            Length(max=MAX_REASON),
        ],
        description=_l("The guardian reads this reason. Write it in plain language."),
    )


class IdentityDoubtForm(Form):
    """R22: extra proof of identity is asked only on reasonable doubt, with the reason."""

    reason = TextAreaField(
        _l("Why do you doubt the requester's identity?"),
        validators=[
            DataRequired(message=_l("Write down why you doubt the requester's identity.")),
            Length(max=MAX_REASON),
        ],
        description=_l("The requester reads this reason. Write it in plain language."),
    )


class IdentityCheckForm(Form):
    """R22: the handler records "checked, document type, date" (or why no check was possible)."""

    status = RadioField(
        _l("Result"),
        choices=[
            SelectChoice(IdentityCheckStatus.VERIFIED.value, _l("Identity checked")),
            SelectChoice(
                IdentityCheckStatus.NOT_VERIFIED.value, _l("Identity could not be checked")
            ),
        ],
        validators=[InputRequired(message=_l("Choose the result of the check."))],
    )
    document_type = SelectField(
        _l("Document seen"),
        choices=[
            SelectChoice("", _l("— choose a document —")),
            *_choices(IDENTITY_DOCUMENT_LABELS),
        ],
        validators=[Optional()],
        description=_l("Do not make or keep a copy of the document, and do not note its number."),
    )
    document_seen_on = DateField(
        _l("Day the document was seen"), validators=[Optional(), _not_in_future]
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Optional(), Length(max=MAX_REASON)],
        description=_l("Required when the identity could not be checked: say why."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """A checked identity names document and day; one that could not be checked says why."""
        valid = super().validate(extra_validators)
        if self.status.data == IdentityCheckStatus.VERIFIED.value:
            if not self.document_type.data:
                self.document_type.errors = [_l("Choose the document that was seen.")]
                valid = False
            if self.document_seen_on.data is None and not self.document_seen_on.errors:
                self.document_seen_on.errors = [_l("Enter the day.")]
                valid = False
        elif (
            self.status.data == IdentityCheckStatus.NOT_VERIFIED.value
            and not (self.note.data or "").strip()
        ):
            self.note.errors = [_l("Write down why the identity could not be checked.")]
            valid = False
        return valid


class IdentityAnswerForm(Form):
    """The requester's answer to a request for proof of identity."""

    answer = RadioField(
        _l("Your answer"),
        choices=_choices(IDENTITY_ANSWER_LABELS),
        validators=[InputRequired(message=_l("Choose an answer."))],
    )


class ForgotPasswordForm(Form):
    """Ask for a password reset link."""

    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )


class ResetPasswordForm(Form):
    """Choose a new password through a reset link."""

    password = _password_field()
    confirm = _confirm_field()


class TotpCodeForm(Form):
    """A six-digit code from the authenticator app."""

    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(message=_l("Enter the six-digit code.")),
            Length(max=12, message=_l("Enter the six-digit code.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class LoginCodeForm(Form):
    """The code step of login: a TOTP code, or one of the recovery codes."""

    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(message=_l("Enter the six-digit code.")),
            Length(max=40, message=_l("Enter the six-digit code.")),
        ],
        description=_l("Lost your phone? Enter one of your recovery codes instead."),
        render_kw={"autocomplete": "one-time-code"},
    )


class TotpDisableForm(TotpCodeForm):
    """Turn the second factor off: a current code shows the phone is at hand, not a session only."""


class EndSessionsForm(Form):
    """Log out everywhere else (the button; the CSRF token is the whole form)."""


class RecoveryCodesForm(TotpCodeForm):
    """Make a new set of recovery codes, confirmed with a current code from the app."""

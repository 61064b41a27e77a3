"""The forms of the connector pages (admin) and of the vendors' panel on an access case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..access.labels import FILE_KIND_LABELS
from ..exams.models import FileKind
from ..forms import Form
from .labels import CONNECTOR_KIND_LABELS
from .models import ConnectorKind

KIND_CHOICES = [SelectChoice(kind.value, CONNECTOR_KIND_LABELS[kind]) for kind in ConnectorKind]


class ConnectorForm(Form):
    """A connector's settings; secrets are write-only (left empty, they keep their value)."""

    name = StringField(
        _l("Name"),
        validators=[InputRequired(message=_l("Give the connector a name.")), Length(max=200)],
    )
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    tool_id = SelectField(_l("Tool in the register"), coerce=int)
    base_url = StringField(_l("API address"), validators=[Optional(), Length(max=500)])
    token_url = StringField(_l("Token address (Zoom)"), validators=[Optional(), Length(max=500)])
    enabled = BooleanField(_l("Enabled"), default=True)
    account_id = StringField(_l("Account id (Zoom)"), validators=[Optional(), Length(max=200)])
    client_id = StringField(_l("Client id (Zoom)"), validators=[Optional(), Length(max=200)])
    client_secret = PasswordField(
        _l("Client secret (Zoom)"), validators=[Optional(), Length(max=500)]
    )
    webhook_secret = PasswordField(
        _l("Webhook secret token (Zoom)"), validators=[Optional(), Length(max=500)]
    )
    user_id = StringField(
        _l("Host user whose recordings are listed (Zoom, optional)"),
        validators=[Optional(), Length(max=200)],
    )
    api_token = PasswordField(
        _l("API token (ProctorExam)"), validators=[Optional(), Length(max=500)]
    )
    secret_key = PasswordField(
        _l("Secret key (ProctorExam)"), validators=[Optional(), Length(max=500)]
    )


class LinkForm(Form):
    """Which vendor meeting or exam holds an exam."""

    exam_id = SelectField(_l("Exam"), coerce=int)
    vendor_ref = StringField(
        _l("Meeting id (Zoom) or exam id (ProctorExam)"),
        validators=[
            InputRequired(message=_l("Give the vendor's meeting or exam id.")),
            Length(max=200),
        ],
    )
    student_number = StringField(
        _l("Student number (for a Zoom meeting)"), validators=[Optional(), Length(max=32)]
    )


class ButtonForm(Form):
    """A button that only needs the CSRF token."""


class UploadForm(Form):
    """A file the vendor sent in answer to a request."""

    exam_id = SelectField(_l("Exam"), coerce=int)
    kind = SelectField(
        _l("What the file holds"),
        choices=[SelectChoice(kind.value, FILE_KIND_LABELS[kind]) for kind in FileKind],
    )
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose the file."))])

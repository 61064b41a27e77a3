"""Login and language forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    """The language switch in the page header."""

    language = SelectField(
        _l("Language"), choices=[SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]
    )
    next = HiddenField()

"""Forms of the requester's case page; each type's filing form lives with its case type."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..cases.forms import MAX_TEXT
from ..forms import Form

__all__ = ["MAX_TEXT", "MessageForm", "WithdrawForm"]


class MessageForm(Form):
    """A message, or the answer to a question, on the case thread."""

    body = TextAreaField(
        _l("Your message"),
        validators=[DataRequired(message=_l("Write a message first.")), Length(max=MAX_TEXT)],
    )


class WithdrawForm(Form):
    """Confirms a withdrawal (only the CSRF token)."""

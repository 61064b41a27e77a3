"""The base of every form, and the check that keeps control characters out of stored text.

Every form of the portal derives from :class:`Form`. Its ``Meta.bind_field`` puts
:class:`NoControlCharacters` first in the validators of every text field (``StringField`` and its
kinds: text areas, e-mail, hidden, password fields), so no form has to remember it: a NUL byte or
another control character is refused with a message in the person's language and the page answers
400, before any other validator or the view hands the text to the database. Newline and tab stay
allowed in a text area (multi-line text); a single-line field accepts neither.

Query parameters that no form reads are checked by :func:`query_has_control_characters`, asked by
a request hook for every request (``rights_portal/__init__.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import StopValidation

# C0 controls, DEL and C1 controls; multi-line text keeps tab, newline and carriage return.
SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MULTI_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = _l(
    "This text contains a control character (for example a NUL byte) that cannot be stored."
    " Remove it and try again."
)


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds a character that no field of the portal accepts."""
    pattern = MULTI_LINE_CONTROL if multiline else SINGLE_LINE_CONTROL
    return pattern.search(text) is not None


class NoControlCharacters:
    """Refuse control characters; a text area keeps newline and tab. Stops the chain."""

    field_flags: dict[str, Any] = {}

    def __init__(self, *, multiline: bool) -> None:
        """``multiline``: allow tab, newline and carriage return."""
        self.multiline = multiline

    def __call__(self, form: Any, field: Field) -> None:
        """Raise StopValidation, so no later validator sees the text either."""
        values: Iterable[Any] = field.raw_data or ()
        if any(
            isinstance(value, str) and has_control_characters(value, multiline=self.multiline)
            for value in values
        ):
            field.errors[:] = []
            raise StopValidation(str(CONTROL_MESSAGE))


def query_has_control_characters(pairs: Iterable[tuple[str, str]]) -> bool:
    """Whether a query string (key, value pairs) holds a control character anywhere."""
    return any(has_control_characters(key) or has_control_characters(value) for key, value in pairs)


class _Meta(FlaskForm.Meta):
    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
        field: Field = super().bind_field(form, unbound_field, options)
        if isinstance(field, StringField):
            check = NoControlCharacters(multiline=isinstance(field, TextAreaField))
            field.validators = [check, *field.validators]
        return field


class Form(FlaskForm):
    """The base of every form: a FlaskForm (CSRF) whose text fields refuse control characters."""

    Meta = _Meta

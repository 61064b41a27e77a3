"""Forms of automatic redaction on the access workspace (R27)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from ..forms import Form
from .detect import DEFAULT_THRESHOLD
from .services import MutedRange

_RANGE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*-\s*(\d+(?:[.,]\d+)?)\s+(.+?)\s*$")


def parse_muted(text: str) -> list[MutedRange]:
    """Lines like ``12.5-15 a housemate speaks``: start and end in seconds, then the reason."""
    ranges = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        match = _RANGE.match(line)
        if match is None:
            raise ValidationError(_l("Write each muted range as: start-end reason (in seconds)."))
        start, end = (float(v.replace(",", ".")) for v in match.group(1, 2))
        ranges.append(MutedRange(start, end, match.group(3)))
    return ranges


class RedactForm(Form):
    """Queue an automatic redaction of one file."""

    threshold = DecimalField(
        _l("Detection threshold"),
        default=DEFAULT_THRESHOLD,
        places=2,
        validators=[Optional(), NumberRange(min=0.05, max=0.95)],
        description=_l("Lower finds more faces (and more that are not faces)."),
    )
    cover_all = BooleanField(_l("Cover every face, the requester's too"))
    muted = TextAreaField(
        _l("Mute the sound"),
        validators=[Optional()],
        description=_l("One range a line, in seconds, with the reason: 12-15 a housemate speaks"),
    )

    def validate_muted(self, field: TextAreaField) -> None:
        """Every line must parse as a range with a reason."""
        parse_muted(field.data or "")


class RunForm(Form):
    """Cancel or retry a run (only the CSRF token)."""


class ConfirmForm(Form):
    """Which face is the requester's."""

    track = IntegerField(_l("The requester's face"), validators=[InputRequired()])

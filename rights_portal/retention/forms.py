"""The DPO's forms: place and release a legal hold, each with a reason (R25)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..forms import Form

MAX_TEXT = 2000


class PlaceHoldForm(Form):
    """Keep a recording whatever its retention date says."""

    recording_id = IntegerField(
        _l("Recording number"),
        validators=[
            InputRequired(message=_l("Enter the number of the recording.")),
            NumberRange(min=1, message=_l("Enter the number of the recording.")),
        ],
    )
    reason = TextAreaField(
        _l("Reason for the legal hold"),
        validators=[
            DataRequired(message=_l("Write down why the recording must be kept.")),
            Length(max=MAX_TEXT),
        ],
        description=_l("For example: a complaint or court case in which the recording is needed."),
    )


class ReleaseHoldForm(Form):
    """End a legal hold; the retention date applies again."""

    hold_id = HiddenField(validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason for releasing the hold"),
        validators=[
            DataRequired(message=_l("Write down why the recording no longer needs to be kept.")),
            Length(max=MAX_TEXT),
        ],
    )

"""The forms every case type can share: the common decision, and confirming fulfilment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import Form
from .labels import OUTCOME_LABELS

#: The longest text a requester may write in one field.
MAX_TEXT = 5000


class DecideForm(Form):
    """A decision always has written reasons (R5, R15, R23)."""

    outcome = RadioField(
        _l("Decision"),
        choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    reasons = TextAreaField(
        _l("Reasons"),
        validators=[
            DataRequired(message=_l("Write down the reasons for this decision.")),
            Length(max=10000),
        ],
        description=_l("The requester reads these reasons. Write them in plain language."),
    )
    compelling_grounds = TextAreaField(
        _l("Compelling legitimate grounds (required to reject an objection)"),
        validators=[Optional(), Length(max=10000)],
        description=_l(
            "Why the institution's grounds override the student's interests, rights and freedoms."
        ),
    )
    manifestly_unfounded = BooleanField(
        _l("Refuse because the request is manifestly unfounded or excessive (GDPR art. 12(5))")
    )
    unfounded_justification = TextAreaField(
        _l("Justification for manifestly unfounded or excessive"),
        validators=[Optional(), Length(max=10000)],
        description=_l("Required when you refuse on this ground; it is kept on the record."),
    )

    def validate(self, extra_validators: object = None) -> bool:
        """Require the justification when the unfounded box is ticked."""
        ok = super().validate(extra_validators)
        if self.manifestly_unfounded.data:
            if self.outcome.data != "rejected":
                self.manifestly_unfounded.errors = [
                    _l("Only a rejection can rest on a manifestly unfounded request.")
                ]
                ok = False
            if not (self.unfounded_justification.data or "").strip():
                self.unfounded_justification.errors = [_l("Write down the justification.")]
                ok = False
        return ok


class FulfilForm(Form):
    """Confirms that what was decided has been done (only the CSRF token)."""

"""Forms of the institutional login's staff pages: link a staff account, confirm an age."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from ...forms import Form


class LinkStaffForm(Form):
    """An admin links a staff account to the person's institution login (principal name)."""

    user_id = SelectField(
        _l("Staff account"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose the staff account."))],
    )
    principal_name = StringField(
        _l("Institution login (eduPerson principal name)"),
        description=_l("As the institution writes it, for example j.jansen@uni.nl."),
        validators=[
            InputRequired(message=_l("Give the principal name.")),
            Length(max=254),
        ],
    )


class ConfirmAgeForm(Form):
    """R20: staff give the date of birth from the student record, or confirm 16 or older."""

    identity_id = HiddenField(validators=[InputRequired()])
    date_of_birth = DateField(
        _l("Date of birth from the student record"),
        description=_l("Leave empty to confirm only that the student is 16 or older."),
        validators=[Optional()],
    )

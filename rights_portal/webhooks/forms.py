"""The admin's form for a webhook endpoint."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form
from .events import ALL_EVENTS


class EndpointForm(Form):
    """Where to send, and which events."""

    url = StringField(
        _l("Address (URL)"),
        validators=[InputRequired(message=_l("Give the endpoint's address.")), Length(max=2000)],
    )
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(name, name) for name in ALL_EVENTS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired(message=_l("Choose at least one of the events."))],
    )

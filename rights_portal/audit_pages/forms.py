"""The filter form of the DPO's audit trail (a GET form: it changes nothing, so no CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import Form
from .trail import TrailFilter


class TrailFilterForm(Form):
    """Case, actor, action and period; every field may stay empty."""

    class Meta:
        """A GET form that only reads: no CSRF token in the URL."""

        csrf = False

    case = StringField(
        _l("Case reference"),
        validators=[Optional(), Length(max=20)],
        description=_l("For example RP-2026-000123."),
    )
    actor = StringField(_l("Done by (e-mail address)"), validators=[Optional(), Length(max=254)])
    action = StringField(
        _l("Action"),
        validators=[Optional(), Length(max=64)],
        description=_l("For example case.viewed or user.login_failed."),
        render_kw={"list": "audit-actions", "autocomplete": "off"},
    )
    date_from = DateField(
        _l("From"),
        validators=[Optional()],
        description=_l("Date in Dutch time, as YYYY-MM-DD."),
    )
    date_to = DateField(
        _l("Up to and including"),
        validators=[Optional()],
        description=_l("Date in Dutch time, as YYYY-MM-DD."),
    )

    def validate_date_to(self, field: Any) -> None:
        """The period must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def to_filter(self) -> TrailFilter:
        """The validated filter."""
        return TrailFilter(
            case_reference=(self.case.data or "").strip().upper(),
            actor_email=(self.actor.data or "").strip().lower(),
            action=(self.action.data or "").strip(),
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

"""The admin's page of API clients: make one with scopes (its token shown once), deactivate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..errors import RuleViolation
from ..extensions import db
from ..forms import Form
from ..permissions import can_manage_api_clients
from . import clients
from .models import ApiClient, Scope

bp = Blueprint("api_admin", __name__, template_folder="templates")
SCOPE_LABELS = {
    Scope.FILE: _l("file: file requests for students and post their messages"),
    Scope.READ_OWN: _l("read-own: read the cases this client filed"),
    Scope.STAFF_READ: _l("staff-read: list and read every case and its events"),
    Scope.DPO_READ: _l("dpo-read: the DPO's figures"),
}


class ClientForm(Form):
    """A new API client."""

    name = StringField(
        _l("Name of the system"),
        validators=[InputRequired(message=_l("Give the client a name.")), Length(max=120)],
    )
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired(message=_l("Choose at least one scope."))],
    )


def _admin_only() -> None:
    if not can_manage_api_clients(current_user):
        abort(403)


@bp.route("/staff/api-clients", methods=["GET", "POST"])
@login_required
def api_clients() -> ResponseReturnValue:
    """Make a client; the list of clients."""
    _admin_only()
    form = ClientForm()
    status = 200
    if form.validate_on_submit():
        try:
            client, token = clients.create_client(
                form.name.data or "", [Scope(s) for s in form.scopes.data or []], actor=current_user
            )
        except RuleViolation as refused:
            form.name.errors = [str(refused.message)]
            status = 400
        else:
            return render_template("api/token.html", client=client, token=token), 201
    elif form.is_submitted():
        status = 400
    return render_template("api/clients.html", form=form, clients=clients.clients()), status


@bp.route("/staff/api-clients/<int:client_id>/deactivate", methods=["POST"])
@login_required
def deactivate(client_id: int) -> ResponseReturnValue:
    """Refuse every further call of the client."""
    _admin_only()
    client = db.session.get(ApiClient, client_id) or abort(404)
    clients.deactivate(client, actor=current_user)
    flash(_("The client can no longer call the API."), "success")
    return redirect(url_for("api_admin.api_clients"))

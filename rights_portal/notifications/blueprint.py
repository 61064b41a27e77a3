"""Registers the e-mail templates folder (the notifications domain has no pages of its own)."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates")

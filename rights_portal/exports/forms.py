"""The one form of exports: a button that asks for one (its CSRF token is the whole form)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class StartExportForm(FlaskForm):
    """Ask for an export; the filters travel in the form's address."""

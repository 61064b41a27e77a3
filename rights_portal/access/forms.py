"""Forms of the access workspace, the package pages and the vendor-export import."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..forms import Form
from .labels import RELEASE_LABELS
from .models import ItemType, Release

MAX_TEXT = 5000


class ItemDecisionForm(Form):
    """R13: released as is, released redacted (with the copy and whom it protects) or withheld."""

    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice(r.value, label) for r, label in RELEASE_LABELS.items()],
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    redacted_file = FileField(
        _l("Redacted copy"),
        description=_l("Upload the file with other people made unrecognisable."),
    )
    protects = TextAreaField(
        _l("Whom the redaction protects"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("For example: a housemate who walks through the picture."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("Required when withholding. The requester reads it in the letter."),
    )

    def __init__(
        self, *args: Any, item_type: ItemType, has_redacted_copy: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.item_type = item_type
        self.has_redacted_copy = has_redacted_copy
        if item_type is not ItemType.FILE:
            # Only a file can be redacted; a flag or a note is released or withheld.
            self.decision.choices = [
                c for c in self.decision.choices if c.value != Release.REDACTED.value
            ]

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields a decision needs depend on the decision."""
        valid = super().validate(extra_validators)
        if not valid:
            return False
        decision = Release(self.decision.data)
        if decision is Release.REDACTED:
            if not self.redacted_file.data and not self.has_redacted_copy:
                self.redacted_file.errors = [_l("Upload the redacted file.")]
                valid = False
            if not (self.protects.data or "").strip():
                self.protects.errors = [_l("Say whom the redaction protects.")]
                valid = False
        if decision is Release.WITHHELD and not (self.reason.data or "").strip():
            self.reason.errors = [_l("Give the reason for withholding this item.")]
            valid = False
        return valid


class BuildForm(Form):
    """Start a package build (only the CSRF token)."""


class ReleaseForm(Form):
    """Release the package to the requester (only the CSRF token)."""


class ImportForm(Form):
    """Upload a vendor export as a ZIP file."""

    export = FileField(
        _l("Vendor export (ZIP)"),
        validators=[FileRequired(message=_l("Choose the ZIP file of the export."))],
        description=_l(
            "A ZIP with the media files and a manifest.csv or manifest.json with the columns "
            "student_number, exam_code, kind, recorded_at, file and flags."
        ),
    )

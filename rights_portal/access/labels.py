"""Translated names used on access pages, in the cover letter and in the decision's reasons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..exams.models import FileKind, FlagReviewStatus
from .models import PackageStatus, Release

FILE_KIND_LABELS = {
    FileKind.VIDEO: _l("Video recording"),
    FileKind.AUDIO: _l("Audio recording"),
    FileKind.SCREENSHOT: _l("Screenshot"),
    FileKind.LOG: _l("Log file"),
}

RELEASE_LABELS = {
    Release.RELEASED: _l("Released as is"),
    Release.REDACTED: _l("Released redacted"),
    Release.WITHHELD: _l("Withheld"),
}

REVIEW_LABELS = {
    FlagReviewStatus.UNREVIEWED: _l("Not yet reviewed by a person"),
    FlagReviewStatus.NO_IRREGULARITY: _l("Reviewed by a person: no irregularity"),
    FlagReviewStatus.IRREGULARITY_SUSPECTED: _l("Reviewed by a person: irregularity suspected"),
}

PACKAGE_STATUS_LABELS = {
    PackageStatus.QUEUED: _l("Waiting to be built"),
    PackageStatus.BUILDING: _l("Being built"),
    PackageStatus.READY: _l("Ready for release"),
    PackageStatus.FAILED: _l("Build failed"),
    PackageStatus.SUPERSEDED: _l("Replaced by a newer build"),
    PackageStatus.RELEASED: _l("Released to the requester"),
    PackageStatus.EXPIRED: _l("Expired and deleted"),
}

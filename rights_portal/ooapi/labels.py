"""The words of the OOAPI connector: what a run changed, how it failed, its state and trigger.

A run stores its changes as small dicts (``{"kind": "exam_moved", "exam": …}``) so the admin
page says them in the reader's language and ``flask ooapi sync`` in English (``describe`` under
``force_locale("en")``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

CHANGE_LABELS: dict[str, LazyString] = {
    "programme_created": _l("programme %(code)s created (%(name)s)"),
    "programme_updated": _l("programme %(code)s updated"),
    "programme_removed": _l("program %(code)s no longer listed"),
    "exam_created": _l("exam %(exam)s created (%(starts_at)s)"),
    "exam_updated": _l("exam %(exam)s updated"),
    "exam_returned": _l("exam %(exam)s listed again"),
    "exam_moved": _l(
        "exam %(exam)s moved from %(old)s to %(new)s; due dates of %(cases)s open case(s)"
        " recomputed"
    ),
    "case_due_moved": _l("  %(reference)s: effective due %(old)s -> %(new)s"),
    "exam_removed": _l("exam %(exam)s no longer offered: marked as removed"),
    "date_of_birth": _l("student %(student_number)s: date of birth from the SIS"),
    "enrolments": _l("enrolments: %(created)s new, %(changed)s changed"),
    "enrolments_removed": _l("enrolments: %(count)s no longer listed"),
}

ERROR_KIND_LABELS: dict[str, LazyString] = {
    "timeout": _l("The OOAPI server did not answer in time."),
    "connection": _l("The OOAPI server could not be reached."),
    "http": _l("The OOAPI server answered with an error."),
    "auth": _l("The token endpoint refused the client's credentials."),
    "paging": _l("The OOAPI server kept on sending further pages; the sync stopped."),
    "invalid": _l("The OOAPI server sent something that is not the OOAPI v5 contract's shape."),
    "config": _l("The connector is not configured."),
}
STATUS_LABELS: dict[str, LazyString] = {
    "ok": _l("completed"),
    "failed": _l("failed, nothing was changed"),
    "skipped": _l("skipped: another sync was running"),
}
TRIGGER_LABELS: dict[str, LazyString] = {
    "schedule": _l("schedule"),
    "manual": _l("sync now"),
    "cli": _l("command line"),
}


def describe(change: dict[str, Any]) -> str:
    """One stored change as a sentence in the current locale (unknown kinds as they are)."""
    params = {key: value for key, value in change.items() if key != "kind"}
    label = CHANGE_LABELS.get(str(change.get("kind")))
    if label is None:
        return str(change)
    return str(label) % params

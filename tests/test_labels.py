"""Every code people could see has a name in Dutch and in English: audit actions, flags, enums.

The audit actions are found by reading the source (``tests/audit_actions_scan.py``), so a new
``record("…")`` without a label fails here, not on a Dutch page in front of a student.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from rights_portal.labels import (
    AUDIT_ACTION_LABELS,
    FLAG_KIND_LABELS,
    ROLE_LABELS,
    audit_action_label,
    flag_kind_label,
    recording_offset,
)
from tests.audit_actions_scan import ROOT, scan

CATALOGUE = ROOT / "rights_portal/translations/nl/LC_MESSAGES/messages.po"


@pytest.fixture(scope="module")
def dutch() -> dict[str, str]:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    return {str(m.id): str(m.string) for m in catalogue if m.id and isinstance(m.id, str)}


def english(label: object) -> str:
    """The English text of a lazy label (English is the source language, the msgid)."""
    with force_locale("en"):
        return str(label)


def test_every_recorded_audit_action_has_a_label(app_ctx):
    found = scan()
    assert not found.unreadable, (
        "audit actions that the labels test cannot read (pass a literal, or add the wrapper to "
        f"tests/audit_actions_scan.py WRAPPERS): {found.unreadable}"
    )
    assert len(found.actions) > 100  # the scan really reads the code
    missing = {a: sites[0] for a, sites in found.actions.items() if a not in AUDIT_ACTION_LABELS}
    assert not missing, f"audit actions without a label in rights_portal/labels.py: {missing}"


def test_every_label_has_dutch_and_english_text(app_ctx, dutch):
    tables = {
        "audit actions": AUDIT_ACTION_LABELS,
        "flag kinds": FLAG_KIND_LABELS,
        "roles": ROLE_LABELS,
    }
    for enum_type, table in enum_label_tables():
        tables[f"{enum_type.__name__} ({id(table)})"] = table
    untranslated = []
    for name, table in tables.items():
        for key, label in table.items():
            text = english(label)
            assert text.strip(), f"{name}: {key} has an empty English label"
            if not dutch.get(text):
                untranslated.append((name, key, text))
    assert not untranslated, f"labels without a Dutch translation in messages.po: {untranslated}"


def test_every_value_of_every_shown_enumeration_has_a_label(app_ctx):
    for enum_type, table in enum_label_tables():
        missing = [member for member in enum_type if member not in table]
        assert not missing, f"{enum_type.__name__} values without a label: {missing}"


def _flag_codes_in_the_code() -> set[str]:
    """Flag codes the portal itself creates (the demo's, and any literal ``code=`` of a flag)."""
    from rights_portal.demo import exams as demo_exams

    codes = {demo_exams.SECOND_PERSON, demo_exams.GAZE_AWAY}
    for path in (ROOT / "rights_portal").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "AutomatedFlag"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.add(keyword.value.value)
    return codes


def test_every_flag_kind_the_portal_creates_has_a_label():
    missing = _flag_codes_in_the_code() - set(FLAG_KIND_LABELS)
    assert not missing, f"flag kinds without a label in rights_portal/labels.py: {missing}"


def test_unknown_codes_are_named_neutrally_never_shown_raw(app_ctx):
    with force_locale("nl"):
        assert audit_action_label("case.viewed") == "Verzoek bekeken"
        assert audit_action_label("made.up_action") == "Stap vastgelegd"
        assert flag_kind_label("gaze_away") == "Keek weg van het scherm"
        assert flag_kind_label("vendor_specific_thing") == "Signaal van de proctoringsoftware"
    with force_locale("en"):
        assert audit_action_label("recording.restricted") == "Use of a recording restricted"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00"), (14, "0:14"), (1260, "21:00"), (1830, "30:30"), (3725, "1:02:05"), (None, "")],
)
def test_times_within_a_recording_are_minutes_and_seconds(seconds, shown):
    assert recording_offset(seconds) == shown


def test_the_labels_module_names_no_code_twice():
    source = Path(ROOT / "rights_portal/labels.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert len(keys) == len(set(keys)), "a code is named twice"


def enum_label_tables() -> list[tuple[type[enum.Enum], Mapping[Any, object]]]:
    """Every enumeration people see a value of, with its table of names (for the labels test)."""
    from rights_portal.access.labels import (
        FILE_KIND_LABELS,
        PACKAGE_STATUS_LABELS,
        RELEASE_LABELS,
        REVIEW_LABELS,
    )
    from rights_portal.access.models import PackageStatus, Release
    from rights_portal.accounts.models import Role
    from rights_portal.cases.labels import (
        CASE_TYPE_LABELS,
        CHANNEL_LABELS,
        MESSAGE_KIND_LABELS,
        OUTCOME_LABELS,
        STAFF_STATUS_LABELS,
        STATUS_LABELS,
    )
    from rights_portal.cases.models import CaseStatus, CaseType, Channel, MessageKind, Outcome
    from rights_portal.exams.models import FileKind, FlagReviewStatus
    from rights_portal.exports.labels import EXPORT_KIND_LABELS, EXPORT_STATUS_LABELS
    from rights_portal.exports.models import ExportKind, ExportStatus
    from rights_portal.vendors.labels import CONNECTOR_KIND_LABELS
    from rights_portal.vendors.models import ConnectorKind

    return [
        (ConnectorKind, CONNECTOR_KIND_LABELS),
        (Role, ROLE_LABELS),
        (Channel, CHANNEL_LABELS),
        (FileKind, FILE_KIND_LABELS),
        (FlagReviewStatus, REVIEW_LABELS),
        (CaseStatus, STATUS_LABELS),
        (CaseStatus, STAFF_STATUS_LABELS),
        (CaseType, CASE_TYPE_LABELS),
        (Outcome, OUTCOME_LABELS),
        (MessageKind, MESSAGE_KIND_LABELS),
        (PackageStatus, PACKAGE_STATUS_LABELS),
        (Release, RELEASE_LABELS),
        (ExportKind, EXPORT_KIND_LABELS),
        (ExportStatus, EXPORT_STATUS_LABELS),
    ]

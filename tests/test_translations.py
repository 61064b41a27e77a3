"""Every user-facing string has a Dutch translation (Dutch is the default language)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
NL_PO = ROOT / "rights_portal/translations/nl/LC_MESSAGES/messages.po"


def extracted_ids(tmp_path: Path) -> set[object]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "lazy_gettext",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_every_string_in_code_templates_and_emails_has_a_dutch_translation(tmp_path):
    with NL_PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        m.id
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = extracted_ids(tmp_path) - translated
    assert not missing, (
        f"untranslated (run `make extract-messages` and translate): {sorted(map(str, missing))}"
    )

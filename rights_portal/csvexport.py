"""CSV for the exports of the DPO's desk: the dashboard's figures and the breach register.

A neutral helper both the ``dpo`` and ``breaches`` packages use, so neither imports the other
for it.

UTF-8 with a byte-order mark (so spreadsheets read accents), and text cells that a spreadsheet
would run as a formula are defused (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The table as CSV text, header first."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_safe(c) for c in columns])
    for row in rows:
        writer.writerow([_safe(c) for c in row])
    return out.getvalue()

"""What each kind of export writes: the audit trail's CSV and the DPO's report as PDF.

The builders run in the worker, with the filters the export row keeps; what they write is the
same as the synchronous downloads wrote before (the trail's CSV module and the report module
are the audit pages' and the DPO's own).
"""

from __future__ import annotations

from datetime import date
from typing import BinaryIO

from ..audit_pages.trail import TrailFilter, conditions, csv_chunks
from ..clock import today_local
from ..dpo import report
from ..dpo.queries import Filters
from .models import Export, ExportKind

#: Text is encoded and written in pieces of about this size (the CSV is made batch by batch).
_WRITE_SIZE = 1024 * 1024


def write_export(export: Export, target: BinaryIO) -> None:
    """Write the file of ``export`` to ``target``."""
    if export.kind is ExportKind.AUDIT_TRAIL:
        _write_audit_trail(export, target)
    elif export.kind is ExportKind.DPO_REPORT:
        _write_dpo_report(export, target)
    else:  # pragma: no cover - a new kind without a builder
        raise ValueError(f"no builder for export kind {export.kind!r}")


def _write_audit_trail(export: Export, target: BinaryIO) -> None:
    clauses = conditions(TrailFilter.from_dict(dict(export.params)))
    pending: list[str] = []
    size = 0
    for chunk in csv_chunks(clauses):
        pending.append(chunk)
        size += len(chunk)
        if size >= _WRITE_SIZE:
            target.write("".join(pending).encode("utf-8"))
            pending, size = [], 0
    if pending:
        target.write("".join(pending).encode("utf-8"))


def report_filters(params: dict[str, object]) -> Filters:
    """The report's filters from the export's params (``from``, ``to``, ``programme_id``)."""
    programme = params.get("programme_id")
    return Filters(
        start=date.fromisoformat(str(params["from"])),
        end=date.fromisoformat(str(params["to"])),
        programme_id=int(str(programme)) if programme is not None else None,
        today=today_local(),
    )


def _write_dpo_report(export: Export, target: BinaryIO) -> None:
    html = report.render_html(report_filters(dict(export.params)), viewer=export.requested_by)
    target.write(report.to_pdf(html))

"""The accountability report (PDF) for a period: case statistics and the breach register.

The report is HTML rendered from ``dpo/report.html`` and turned into PDF by WeasyPrint. The HTML
is kept separate (:func:`render_html`) so it can be checked on its own; WeasyPrint is imported
only when a PDF is made, so the rest of the portal runs without it.
"""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..accounts.models import User
from ..breaches import export as breach_export
from ..breaches import services as breach_services
from ..clock import now_utc
from ..permissions import visible_breaches_clause
from . import figures
from .queries import Filters


def render_html(filters: Filters, viewer: User | None = None) -> str:
    """The report as a standalone HTML document, with the breaches ``viewer`` may see.

    ``viewer`` is the logged-in user unless given (the background export gives who asked).
    """
    visible = visible_breaches_clause(viewer or current_user)
    breaches = breach_services.register(visible, start=filters.start_utc, end=filters.end_utc)
    return render_template(
        "dpo/report.html",
        filters=filters,
        figures=figures.build(filters),
        breach_columns=breach_export.register_columns(),
        breach_rows=breach_export.register_rows(breaches),
        generated_at=now_utc(),
    )


def to_pdf(html: str) -> bytes:
    """Render the HTML to PDF bytes with WeasyPrint."""
    from weasyprint import HTML

    pdf = HTML(string=html).write_pdf()
    assert pdf is not None  # noqa: S101 (write_pdf without a target returns the bytes)
    return bytes(pdf)

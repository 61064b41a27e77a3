"""The cover letter of an access package: the art. 15(1)(a)-(h) facts, as HTML and as PDF.

:func:`art15_facts` is the ONE place that reads the facts about a proctoring tool (purposes,
categories, recipients, retention, transfers) for a letter. Today it reads
:class:`~rights_portal.exams.models.ProctoringTool` as it is; when the register of tools (with
versioned entries) lands, this function is re-pointed to the register entry and returns its
version in ``source`` — the package stores what this function returned, so every letter records
which facts it used. Rendering the letter (a Jinja template in the requester's language) and
turning it into PDF (WeasyPrint) also live here; what goes into the package is decided elsewhere.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import force_locale

from ..exams.models import ProctoringTool

FACTS_SOURCE = "proctoring_tools"  # becomes the register's table and entry version at merge


def art15_facts(tool: ProctoringTool) -> dict[str, Any]:
    """The art. 15(1) facts about ``tool`` as plain JSON-ready data, with where they came from."""
    purposes = [line.strip() for line in (tool.purpose or "").splitlines() if line.strip()]
    recipients = [{"name": tool.vendor, "role": "processor", "email": tool.vendor_email}]
    return {
        "source": {"table": FACTS_SOURCE, "id": tool.id, "version": None},
        "tool": tool.name,
        "vendor": tool.vendor,
        "vendor_email": tool.vendor_email,
        "purposes": purposes,
        "data_categories": [str(category) for category in (tool.data_categories or [])],
        "recipients": recipients,
        "retention_days": tool.retention_days,
        "outside_eea": bool(tool.outside_eea),
        "transfer_safeguards": tool.transfer_safeguards,
        # Not kept per tool yet; the register will hold the legal basis (art. 6(1) point).
        "legal_basis": None,
    }


def render_letter(locale: str, **context: Any) -> str:
    """The cover letter as a complete HTML document, in ``locale``."""
    with force_locale(locale):
        return render_template("access/letter.html", locale=locale, **context)


def render_pdf(html: str) -> bytes:
    """The letter as PDF (WeasyPrint, imported here: only the package builder needs it)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, url_fetcher=_fetch_nothing).write_pdf()
    return pdf


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The letter is self-contained; a URL in it (from a field somebody typed) is never fetched.
    raise ValueError(f"the cover letter loads no external resources ({url[:80]})")

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
from ..register import facts as register_facts

FACTS_SOURCE = "register_versions"  # the register of tools: entry id and version number


def art15_facts(tool: ProctoringTool) -> dict[str, Any]:
    """The art. 15(1) facts about ``tool`` from its register entry, with the version cited.

    The register of tools is the one source of truth (issue 12): the letter records which
    version it used, so a later change to the register never rewrites an answer already given.
    """
    facts = register_facts.current_facts(tool.id)
    return {
        "source": {"table": FACTS_SOURCE, "id": tool.id, "version": facts.version},
        "tool": facts.tool_name,
        "vendor": facts.vendor,
        "vendor_email": facts.vendor_email,
        "purposes": list(facts.purposes),
        "data_categories": list(facts.data_categories),
        "recipients": [
            {"name": r.name, "role": r.role, "email": r.email} for r in facts.recipients
        ],
        "retention_days": facts.retention_days,
        "outside_eea": facts.outside_eea,
        "transfer_safeguards": facts.transfer_safeguards,
        "legal_basis": facts.legal_basis_label or None,
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

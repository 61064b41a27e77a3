"""Where a requester can turn after a decision on a GDPR request (R5, R19 in docs/rules.md).

This module owns the sentences that name the routes of redress in decisions, refusal letters
and access-package letters, and which of them applies: that depends on the kind of institution
(the setting ``INSTITUTION_KIND``). It does not cover exam-board decisions, which always name
the College van Beroep voor de Examens.

* A public institution is an administrative body (bestuursorgaan): its decision on a GDPR request
  is a decision under the Awb (art. 34 UAVG), so the route is an objection (bezwaar) to the
  institution within 6 weeks, and after the decision on the objection the administrative court
  (R5's "right to go to court").
* A private (bijzondere) institution is not: the requester asks the civil court, by petition
  within 6 weeks of the answer (art. 79 GDPR, art. 35 UAVG).
* Either way the requester may complain to the Autoriteit Persoonsgegevens (art. 77 GDPR).
"""

from __future__ import annotations

from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _

__all__ = [
    "InstitutionKind",
    "gdpr_redress",
    "gdpr_redress_after_refusal",
    "gdpr_redress_route",
    "institution_kind",
]


class InstitutionKind(StrEnum):
    """Whether the institution is an administrative body (public) or not (private, bijzonder)."""

    PUBLIC = "public"
    PRIVATE = "private"


def institution_kind() -> InstitutionKind:
    """The kind of institution of the running application (``INSTITUTION_KIND``, R19)."""
    return InstitutionKind(current_app.config["INSTITUTION_KIND"])


def gdpr_redress() -> str:
    """Translated: what a requester who disagrees with a decision on a GDPR request can do."""
    if institution_kind() is InstitutionKind.PRIVATE:
        return _(
            "Do you disagree? You can ask the civil court (rechtbank) to rule on your request "
            "within 6 weeks of this answer (article 79 GDPR, article 35 UAVG). You can also "
            "complain to the Dutch Data Protection Authority (Autoriteit Persoonsgegevens)."
        )
    return _(
        "Do you disagree? You can object (bezwaar) to this decision with us within 6 weeks; "
        "after our decision on your objection you can go to the administrative court. You can "
        "also complain to the Dutch Data Protection Authority (Autoriteit Persoonsgegevens)."
    )


def gdpr_redress_after_refusal() -> str:
    """Translated: the routes after a (partial) refusal, for refusal and package letters (R5)."""
    if institution_kind() is InstitutionKind.PRIVATE:
        return _(
            "This is a partial refusal. If you disagree, you can ask the civil court (rechtbank) "
            "to rule on it within 6 weeks of this answer (article 79 GDPR, article 35 UAVG), and "
            "you can complain to the Autoriteit Persoonsgegevens."
        )
    return _(
        "This is a partial refusal. If you disagree, you can object (bezwaar) to it with us "
        "within 6 weeks (after our decision on your objection you can go to the administrative "
        "court), and you can complain to the Autoriteit Persoonsgegevens."
    )


def gdpr_redress_route() -> str:
    """Translated: the route alone, next to a sentence about the AP (e.g. a letter's rights)."""
    if institution_kind() is InstitutionKind.PRIVATE:
        return _(
            "You can also ask the civil court (rechtbank) to rule on our decision within 6 weeks "
            "of this answer (article 79 GDPR, article 35 UAVG)."
        )
    return _(
        "You can also object (bezwaar) to our decision with us within 6 weeks, and after our "
        "decision on your objection go to the administrative court."
    )

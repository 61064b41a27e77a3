"""The case type's name: the built-in enum, a plug-in type's name, and the column storing it.

What a name means — its form, rules and pages — is its registered kind
(:mod:`rights_portal.cases.registry`); the names here only look it up, so a type registered by
a module is stored and read like a built-in one.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from .registry import CaseKind


class _CaseTypeTraits:
    """What a case type's name tells, read from its registered kind (:mod:`.registry`)."""

    value: str

    @property
    def kind(self) -> CaseKind:
        """The registered declaration of this type."""
        from .registry import kind_of

        return kind_of(self.value)

    @property
    def needs_exam(self) -> bool:
        """Objections, alternative-exam requests and flag reviews are about one exam."""
        return self.kind.needs_exam

    @property
    def exam_bound(self) -> bool:
        """R7: objections and alternative-exam requests must be decided before their exam.

        A human review is about a flag raised in an exam already taken, so it has no exam-bound
        date and runs on the statutory term (R2, R3).
        """
        return self.kind.exam_bound

    @property
    def leads_to_alternative(self) -> bool:
        """R17: an upheld objection or granted alternative-exam request needs an alternative."""
        return self.kind.leads_to_alternative

    @property
    def decided_by_exam_board(self) -> bool:
        """docs/rules.md#roles: the exam board decides objections and alternatives."""
        return self.kind.decided_by_exam_board

    @property
    def legal_basis(self) -> str:
        """The provision a decision on this type rests on (R23)."""
        return self.kind.legal_basis


class CaseType(_CaseTypeTraits, enum.StrEnum):
    """The built-in request types; each is declared as a kind in the domain that owns it."""

    ACCESS = "access"
    OBJECTION = "objection"
    ALTERNATIVE_EXAM = "alternative_exam"
    HUMAN_REVIEW = "human_review"
    ERASURE = "erasure"  # art. 17: delete chosen recordings (R25)


class PluginCaseType(_CaseTypeTraits, str):
    """The name of a registered type that is not built in, as the ``case_type`` column reads it."""

    __slots__ = ()

    @property
    def value(self) -> str:  # type: ignore[override]
        """The stored name, like an enum member's ``value``."""
        return str(self)


def case_type_name(name: str) -> CaseType:
    """The column's Python value for ``name``: the enum member, or a plug-in type's name.

    Typed as :class:`CaseType` because plug-in names answer the same questions.
    """
    if name in CaseType._value2member_map_:
        return CaseType(name)
    return PluginCaseType(name)  # type: ignore[return-value]


class CaseTypeColumn(TypeDecorator[CaseType]):
    """The case type stored by name; only registered names are written.

    No CHECK list in SQL, so a type registered by a module needs no migration.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Refuse a name no module registered."""
        if value is None:
            return None
        from .registry import is_registered

        if not is_registered(str(value)):
            raise ValueError(f"unregistered case type {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> CaseType | None:
        """The enum member of a built-in type, else the plug-in type's name."""
        return None if value is None else case_type_name(value)

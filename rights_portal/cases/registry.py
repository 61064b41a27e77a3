"""The registry of case types: each type declares in one place how it is filed and decided.

A case type is one :class:`CaseKind`, declared in the module of the domain that owns it and
registered with :func:`register` when that module is imported:

======================  ==================================================================
``form``, ``prepare``   the filing form, and how its choices are filled for the requester
``file``                how a validated form becomes a case (the domain's service function)
``decides``             who decides it: a predicate of :mod:`rights_portal.permissions`
``decision_form``,      how it is decided on the staff case page (``None``: not with the
``decide``              common decision form, e.g. a flag review decides a human review)
``fulfilment``          what fulfilment means; ``fulfilled_by_staff``: a handler confirms it
``after_decision``      hooks run once a decision took effect (delete files, notices)
======================  ==================================================================

The portal's filing page and the staff case page ask the registry and know no type. Adding a
type is one module that calls :func:`register`, plus its name in :data:`BUILT_IN_MODULES` (or,
for a test, :func:`register` alone). Loading the built-in modules by name keeps this module free
of imports of the domains that own them (they import :mod:`rights_portal.cases`, not the other
way round).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask_wtf import FlaskForm

    from ..accounts.models import User
    from .models import Case

#: The modules that declare the built-in case types, imported the first time a type is needed.
BUILT_IN_MODULES = (
    "rights_portal.access.case_type",
    "rights_portal.examboard.case_types",
    "rights_portal.retention.case_type",
)


@dataclass(frozen=True)
class Decision:
    """What deciding did: the decision took effect, or it waits for a second signature."""

    case: Case
    awaiting_sign_off: bool = False


@dataclass
class FilingPage:
    """What the filing page of one type offers the requester, filled by the type's ``prepare``.

    ``options`` holds the objects the form's choices were made from (exams, flags, recordings),
    so ``file`` picks from the same list the requester saw and never loads someone else's.
    """

    form: FlaskForm
    subject: User
    options: dict[str, list[Any]] = field(default_factory=dict)
    #: Exams whose proctoring notice the page shows beside the form (R15's information).
    exam_notices: dict[int, Any] = field(default_factory=dict)


Prepare = Callable[[FilingPage, Mapping[str, str]], None]
File = Callable[[FilingPage, "User"], "Case | None"]
Decide = Callable[["Case", "User", "FlaskForm"], Decision]
Hook = Callable[["Case", "User"], None]
Panel = Callable[["Case", "User", Mapping[str, Any]], dict[str, Any]]


def _no_choices(page: FilingPage, args: Mapping[str, str]) -> None:
    """A form without choices that depend on the requester."""


@dataclass(frozen=True)
class CaseKind:
    """One case type: its name as stored, its pages and its rules (see the module's table)."""

    name: str
    label: Any  # a lazily translated string
    intro: Any
    #: The provision a decision on this type rests on (R23).
    legal_basis: str
    form: type[FlaskForm]
    file: File
    decides: Callable[[User, Case], bool]
    #: What fulfilment means, e.g. "access package delivered" (untranslated: the audit trail).
    fulfilment: str
    decide: Decide | None = None
    decision_form: type[FlaskForm] | None = None
    prepare: Prepare = _no_choices
    #: A handler confirms on the case page that what was decided has been done.
    fulfilled_by_staff: bool = False
    after_decision: tuple[Hook, ...] = ()
    #: Refused with this message when filed without a description (R15: an objection's grounds).
    description_required: Any = None
    #: Objections, alternative-exam requests and flag reviews are about one exam.
    needs_exam: bool = False
    #: R7: decided before the exam; the exam-bound date counts.
    exam_bound: bool = False
    #: R17: an upheld or granted case needs an alternative exam.
    leads_to_alternative: bool = False
    #: docs/rules.md#roles: the exam board of the programme decides (and is assigned) it.
    decided_by_exam_board: bool = False
    #: R15: rejecting it needs compelling legitimate grounds, asked for on the decision form.
    asks_compelling_grounds: bool = False
    #: The right this type exercises in plain words, as an exam's privacy notice offers it.
    right_in_plain_words: Any = None
    #: Parts of the staff case page this type adds: a template and its context.
    staff_panel: tuple[str, Panel] | None = None
    #: What this type adds to the requester's case page's context (its template shows it).
    requester_panel: Panel | None = None

    @property
    def value(self) -> str:
        """The stored name (templates and URLs use ``.value`` like an enum member's)."""
        return self.name


_KINDS: dict[str, CaseKind] = {}
_loaded = False
#: Parts of a type's staff case page that another domain adds (wired by ``create_app``), e.g.
#: the vendor connectors' panel on access requests: the type's module need not import them.
_EXTRA_PANELS: dict[str, list[tuple[str, Panel]]] = {}


def add_staff_panel(name: str, template: str, build: Panel) -> None:
    """Add a part to the staff case page of type ``name``; its template reads ``panel``."""
    panels = _EXTRA_PANELS.setdefault(name, [])
    if all(existing != template for existing, _build in panels):
        panels.append((template, build))


def extra_staff_panels(kind: CaseKind) -> list[tuple[str, Panel]]:
    """The parts other domains added to ``kind``'s staff case page."""
    return list(_EXTRA_PANELS.get(kind.name, []))

# gthread workers serve requests on several threads: the first lookups may race, and a thread
# must not see "loaded" before the built-in types are in _KINDS.
_load_lock = threading.RLock()  # re-entered if a built-in module looks a type up on import


def _load_built_ins() -> None:
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        for module in BUILT_IN_MODULES:
            importlib.import_module(module)
        _loaded = True


def register(kind: CaseKind) -> CaseKind:
    """Add a case type; its name must be new and fit the column (32 characters)."""
    if kind.name in _KINDS:
        raise ValueError(f"case type {kind.name!r} is already registered")
    if not kind.name or len(kind.name) > 32:
        raise ValueError(f"case type name {kind.name!r} must have 1 to 32 characters")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a case type again (tests that register a throw-away type)."""
    _KINDS.pop(name, None)


def kind_of(name: str) -> CaseKind:
    """The registered type called ``name``; KeyError for an unknown name."""
    _load_built_ins()
    return _KINDS[str(name)]


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered case type."""
    _load_built_ins()
    return str(name) in _KINDS


def kinds() -> list[CaseKind]:
    """Every registered type, built-ins in their declared order first."""
    _load_built_ins()
    return list(_KINDS.values())


def type_names() -> list[Any]:
    """The names of every type, as the ``case_type`` column returns them (enum or plug-in)."""
    from .models import case_type_name

    return [case_type_name(kind.name) for kind in kinds()]


class KindAttribute(Mapping[Any, Any]):
    """A read-only mapping of type name to one attribute of its kind (labels, intros)."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def __getitem__(self, name: str | CaseKind) -> Any:
        kind = name if isinstance(name, CaseKind) else kind_of(name)
        return getattr(kind, self._attribute)

    def __iter__(self) -> Iterator[Any]:
        return iter(kind.name for kind in kinds())

    def __len__(self) -> int:
        return len(kinds())

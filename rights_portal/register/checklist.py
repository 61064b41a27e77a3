"""The AP's checklists for online proctoring and online video calling, evaluated on a version.

Plain rules without a database: :func:`evaluate` takes a register version, the date the tool was
first used (or will be, by its earliest exam) and today's date, and returns each checklist item
with its state (done, missing, due for review) and what is missing. A tool is *ready* only when
every item is done. Reading the facts and the first-use date is the services' job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l

from ..exams.models import ToolKind
from ..formatting import format_day
from .models import RegisterVersion

# The AP asks to re-evaluate the necessity of a tool after each year of use.
NECESSITY_REVIEW_INTERVAL = relativedelta(years=1)


class ItemState(enum.StrEnum):
    """The state of one checklist item."""

    DONE = "done"
    MISSING = "missing"
    DUE_FOR_REVIEW = "due_for_review"


ITEM_STATE_LABELS = {
    ItemState.DONE: _l("Done"),
    ItemState.MISSING: _l("Missing"),
    ItemState.DUE_FOR_REVIEW: _l("Due for review"),
}

ITEM_LABELS = {
    "purpose": _l("Purpose determined"),
    "necessity": _l("Necessity shown and less intrusive alternatives considered"),
    "intrusion": _l("Intrusion limited"),
    "legal_basis": _l("Legal basis (GDPR art. 6(1))"),
    "dpia": _l("DPIA carried out, with outcome and review date"),
    "dpo_advice": _l("DPO's advice asked before use"),
    "stakeholders": _l("Stakeholders consulted"),
    "supplier": _l("Compliant supplier with a processor agreement"),
    "policy": _l("Policy document"),
    "informing": _l("Students and parents informed"),
    "rights_process": _l("Process for the rights of students and parents"),
    "incidents": _l("Incident procedure"),
    "recording_rules": _l("Recording rules for video calls"),
}


class _Date:
    """A date that formats itself in the reader's language only when the message is shown."""

    def __init__(self, value: date) -> None:
        self.value = value

    def __str__(self) -> str:
        return format_day(self.value)


@dataclass(frozen=True)
class ChecklistItem:
    """One AP checklist item of one tool."""

    key: str
    state: ItemState
    problems: tuple[object, ...] = ()  # lazily translated messages: what is missing or due

    @property
    def label(self) -> object:
        """The item's name in the reader's language."""
        return ITEM_LABELS[self.key]

    @property
    def state_label(self) -> object:
        """The state in the reader's language."""
        return ITEM_STATE_LABELS[self.state]

    @property
    def done(self) -> bool:
        """Whether nothing is missing or due."""
        return self.state is ItemState.DONE


@dataclass(frozen=True)
class Checklist:
    """The evaluated checklist of one tool at one register version."""

    kind: ToolKind
    version: int
    items: tuple[ChecklistItem, ...]
    first_use: date | None = None

    @property
    def ready(self) -> bool:
        """A tool is ready for (new) exams only when every item is done."""
        return all(item.done for item in self.items)

    @property
    def open_items(self) -> list[ChecklistItem]:
        """The items that are missing or due for review."""
        return [item for item in self.items if not item.done]

    @property
    def open_keys(self) -> list[str]:
        """Keys of the open items, for records and tests."""
        return [item.key for item in self.open_items]


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def necessity_due_on(version: RegisterVersion, first_use: date | None) -> date | None:
    """When the necessity must next be re-evaluated: a year after first use or the last review."""
    if first_use is None:
        return None
    anchor = first_use
    if version.necessity_reviewed_on is not None and version.necessity_reviewed_on > first_use:
        anchor = version.necessity_reviewed_on
    return anchor + NECESSITY_REVIEW_INTERVAL


def _item(key: str, problems: list[object], due: list[object] | None = None) -> ChecklistItem:
    if problems:
        return ChecklistItem(key, ItemState.MISSING, tuple(problems))
    if due:
        return ChecklistItem(key, ItemState.DUE_FOR_REVIEW, tuple(due))
    return ChecklistItem(key, ItemState.DONE)


def _purpose(v: RegisterVersion) -> ChecklistItem:
    return _item("purpose", [_l("No purpose is recorded.")] if _blank(v.purpose) else [])


def _necessity(v: RegisterVersion, first_use: date | None, today: date) -> ChecklistItem:
    problems: list[object] = []
    if _blank(v.necessity):
        problems.append(_l("Why the tool is necessary is not recorded."))
    if _blank(v.alternatives_considered):
        problems.append(
            _l("The less intrusive alternatives that were considered are not recorded.")
        )
    due: list[object] = []
    due_on = necessity_due_on(v, first_use)
    if first_use is not None and first_use <= today and due_on is not None and due_on <= today:
        due.append(
            _l(
                "The tool has been used for a year since %(date)s without a new evaluation of "
                "its necessity.",
                date=_Date(due_on - NECESSITY_REVIEW_INTERVAL),
            )
        )
    return _item("necessity", problems, due)


def _intrusion(v: RegisterVersion) -> ChecklistItem:
    missing = _blank(v.intrusion_limits)
    return _item(
        "intrusion", [_l("How the intrusion is limited is not recorded.")] if missing else []
    )


def _legal_basis(v: RegisterVersion) -> ChecklistItem:
    missing = v.legal_basis is None
    return _item("legal_basis", [_l("No legal basis is chosen.")] if missing else [])


def _dpia(v: RegisterVersion, today: date) -> ChecklistItem:
    problems: list[object] = []
    if v.dpia_on is None:
        problems.append(_l("No DPIA is recorded."))
    if v.dpia_on is not None and _blank(v.dpia_outcome):
        problems.append(_l("The outcome of the DPIA is not recorded."))
    if v.dpia_on is not None and v.dpia_next_review_on is None:
        problems.append(_l("The next review date of the DPIA is not set."))
    due: list[object] = []
    if v.dpia_next_review_on is not None and v.dpia_next_review_on < today:
        due.append(
            _l("The DPIA review date (%(date)s) has passed.", date=_Date(v.dpia_next_review_on))
        )
    return _item("dpia", problems, due)


def _dpo_advice(v: RegisterVersion, first_use: date | None) -> ChecklistItem:
    problems: list[object] = []
    if v.dpo_advice_on is None or _blank(v.dpo_advice_summary):
        problems.append(_l("The DPO's advice (date and summary) is not recorded."))
    elif first_use is not None and v.dpo_advice_on >= first_use:
        # AP: the DPO is involved before the decision to use the tool; telling afterwards is not
        # enough, so advice dated on or after the first use does not count.
        problems.append(
            _l(
                "The DPO's advice (%(advice)s) is not dated before the first use (%(first_use)s). "
                "The DPO must advise before use; informing the DPO afterwards is not enough.",
                advice=_Date(v.dpo_advice_on),
                first_use=_Date(first_use),
            )
        )
    return _item("dpo_advice", problems)


def _stakeholders(v: RegisterVersion) -> ChecklistItem:
    missing = _blank(v.stakeholders_consulted)
    return _item(
        "stakeholders",
        [_l("Which stakeholders were consulted is not recorded.")] if missing else [],
    )


def _supplier(v: RegisterVersion, today: date) -> ChecklistItem:
    problems: list[object] = []
    if v.processor_agreement_on is None:
        problems.append(_l("No processor agreement is recorded."))
    elif v.processor_agreement_expires_on is not None and v.processor_agreement_expires_on < today:
        problems.append(
            _l(
                "The processor agreement expired on %(date)s.",
                date=_Date(v.processor_agreement_expires_on),
            )
        )
    if v.outside_eea and _blank(v.transfer_safeguards):
        problems.append(
            _l("Data goes outside the EEA, but the safeguards for the transfer are not recorded.")
        )
    return _item("supplier", problems)


def _policy(v: RegisterVersion) -> ChecklistItem:
    return _item("policy", [_l("No policy document is linked.")] if _blank(v.policy_url) else [])


def _informing(v: RegisterVersion) -> ChecklistItem:
    missing = _blank(v.privacy_notice)
    return _item(
        "informing",
        [_l("There is no privacy notice text for students and parents.")] if missing else [],
    )


def _incidents(v: RegisterVersion) -> ChecklistItem:
    missing = _blank(v.incident_procedure)
    return _item("incidents", [_l("No incident procedure is recorded.")] if missing else [])


def _recording_rules(v: RegisterVersion) -> ChecklistItem:
    missing = _blank(v.recording_rules)
    return _item(
        "recording_rules",
        [_l("The rules for recording video calls are not recorded.")] if missing else [],
    )


def evaluate(
    version: RegisterVersion, kind: ToolKind, *, first_use: date | None, today: date
) -> Checklist:
    """Evaluate the AP checklist of a tool of ``kind`` on ``version`` as of ``today``."""
    items = [
        _purpose(version),
        _necessity(version, first_use, today),
        _intrusion(version),
        _legal_basis(version),
        _dpia(version, today),
        _dpo_advice(version, first_use),
        _stakeholders(version),
        _supplier(version, today),
        _policy(version),
        _informing(version),
        # Requests for access, objection and the rest are handled in this portal itself.
        ChecklistItem("rights_process", ItemState.DONE),
        _incidents(version),
    ]
    if kind is ToolKind.VIDEO_CALL:
        items.append(_recording_rules(version))
    return Checklist(kind=kind, version=version.number, items=tuple(items), first_use=first_use)

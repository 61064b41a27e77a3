"""The register's one source of truth for tool facts, as letters and privacy notices cite them.

:func:`current_facts` and :func:`facts_at_version` give privacy notices and access letters (R11)
the purposes, data categories, recipients, transfer safeguards, retention and legal basis of a
tool, with the version number a letter records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..exams.models import ProctoringTool, ToolKind
from ..extensions import db
from .entries import current_version, version_of
from .labels import LEGAL_BASIS_LABELS
from .models import LegalBasis, RegisterVersion


@dataclass(frozen=True)
class Recipient:
    """Someone who receives the data: the supplier or one of its sub-processors."""

    name: str
    role: str  # "vendor" or "sub_processor"
    email: str | None = None


@dataclass(frozen=True)
class RegisterFacts:
    """A tool's facts at one register version, as a letter or privacy notice cites them (R11)."""

    tool_id: int
    tool_name: str
    kind: ToolKind
    version: int
    recorded_at: datetime
    purpose: str
    data_categories: tuple[str, ...]
    vendor: str
    vendor_email: str | None
    sub_processors: tuple[str, ...]
    outside_eea: bool
    transfer_safeguards: str | None
    retention_days: int
    legal_basis: LegalBasis | None
    legal_basis_explanation: str
    intrusion_limits: str
    recording_rules: str
    privacy_notice: str

    @property
    def purposes(self) -> tuple[str, ...]:
        """The purposes of the processing (one per register entry: a new purpose is a new one)."""
        return (self.purpose,) if self.purpose else ()

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """The supplier first, then its sub-processors."""
        vendor = Recipient(self.vendor, "vendor", self.vendor_email)
        return (vendor, *(Recipient(name, "sub_processor") for name in self.sub_processors))

    @property
    def legal_basis_label(self) -> str:
        """The legal basis in the current language, e.g. "GDPR art. 6(1)(e): …"."""
        return "" if self.legal_basis is None else str(LEGAL_BASIS_LABELS[self.legal_basis])

    @classmethod
    def of(cls, tool: ProctoringTool, version: RegisterVersion) -> RegisterFacts:
        """Build the facts of ``tool`` at ``version``."""
        return cls(
            tool_id=tool.id,
            tool_name=tool.name,
            kind=tool.kind,
            version=version.number,
            recorded_at=version.created_at,
            purpose=version.purpose,
            data_categories=tuple(version.data_categories or ()),
            vendor=version.vendor,
            vendor_email=version.vendor_email,
            sub_processors=tuple(version.sub_processors or ()),
            outside_eea=version.outside_eea,
            transfer_safeguards=version.transfer_safeguards or None,
            retention_days=version.retention_days,
            legal_basis=version.legal_basis,
            legal_basis_explanation=version.legal_basis_explanation,
            intrusion_limits=version.intrusion_limits,
            recording_rules=version.recording_rules,
            privacy_notice=version.privacy_notice,
        )


def current_facts(tool_id: int) -> RegisterFacts:
    """The facts of the tool's current (latest) register version; LookupError for no such tool."""
    tool = _tool(tool_id)
    return RegisterFacts.of(tool, current_version(tool))


def facts_at_version(tool_id: int, version: int) -> RegisterFacts:
    """The facts as they were at ``version`` (what an earlier letter cited); LookupError if none."""
    tool = _tool(tool_id)
    found = version_of(tool, version)
    if found is None:
        raise LookupError(f"tool {tool_id} has no register version {version}")
    return RegisterFacts.of(tool, found)


def _tool(tool_id: int) -> ProctoringTool:
    tool = db.session.get(ProctoringTool, tool_id)
    if tool is None:
        raise LookupError(f"no tool {tool_id}")
    return tool

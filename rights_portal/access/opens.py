"""Downloads and staff access to files on the audit trail (R14, R24)."""

from __future__ import annotations

from typing import Any

from ..accounts.models import User
from ..audit.services import record
from ..cases.models import Case
from .models import AccessPackage


def record_download(package: AccessPackage, *, actor: User, byte_range: str | None) -> None:
    """A requester's download (or resumed part of one) of their package."""
    record(
        "package.downloaded",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=package.case_id,
        after={"sha256": package.sha256, "range": byte_range},
    )


def record_staff_open(
    case: Case, *, actor: User, what: str, object_id: int, details: dict[str, Any]
) -> None:
    """Staff opened or played a recording, a redacted copy, a letter or a package (R24)."""
    record(
        f"{what}.opened",
        actor=actor,
        object_type=what,
        object_id=object_id,
        case_id=case.id,
        after=details,
    )

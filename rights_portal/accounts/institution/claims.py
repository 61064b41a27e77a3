"""What the institution's login tells about a person: SURFconext's claims, read one way.

SURFconext releases per service only the claims that service registered (data minimisation);
the portal asks for these and uses each for one purpose (README, "Log in with the institution"):

- ``sub``: the stable, pairwise identifier that links the login to the portal account;
- ``schac_home_organization``: which institution vouches (only accepted organisations log in);
- ``eduperson_affiliation`` / ``eduperson_scoped_affiliation``: student or employee, checked at
  every login (an affiliation that ended ends access); older spelling ``edu_person_affiliations``;
- ``eduperson_principal_name``: matches a staff account an admin linked, or a known student;
- ``schac_personal_unique_code``: the student number, to match the student record;
- ``email`` and ``name``: where the portal writes and how it addresses the person.

Nothing here needs a request: :func:`read_claims` is plain data in, data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The claim names that carry affiliations, newest spelling first; all are read and merged.
AFFILIATION_CLAIMS = (
    "eduperson_affiliation",
    "eduperson_scoped_affiliation",
    "edu_person_affiliations",
    "edu_person_scoped_affiliations",
)
#: Affiliations that make someone a student, and those that make someone staff (eduPerson).
STUDENT_AFFILIATIONS = frozenset({"student"})
EMPLOYEE_AFFILIATIONS = frozenset({"employee", "staff", "faculty"})
STUDENT_CODE_PREFIX = "urn:schac:personalUniqueCode:"


@dataclass(frozen=True)
class InstitutionalClaims:
    """The claims of one login, normalised (lower-case organisation and affiliations)."""

    subject: str
    organization: str
    affiliations: frozenset[str] = field(default_factory=frozenset)
    principal_name: str = ""
    student_number: str = ""
    email: str = ""
    name: str = ""
    acr: str = ""

    @property
    def is_student(self) -> bool:
        """Whether the institution says this person studies there now."""
        return bool(self.affiliations & STUDENT_AFFILIATIONS)

    @property
    def is_employee(self) -> bool:
        """Whether the institution says this person works there now."""
        return bool(self.affiliations & EMPLOYEE_AFFILIATIONS)


def _strings(value: Any) -> list[str]:
    """A claim as a list of strings: providers send one value or a list of them."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [item for item in value if isinstance(item, str)]
    return []


def _first(value: Any) -> str:
    values = _strings(value)
    return values[0].strip() if values else ""


def affiliations(claims: Mapping[str, Any]) -> frozenset[str]:
    """Every affiliation in any of the spellings, without scope (``student@uni.nl`` → student)."""
    found: set[str] = set()
    for name in AFFILIATION_CLAIMS:
        for value in _strings(claims.get(name)):
            bare = value.partition("@")[0].strip().lower()
            if bare:
                found.add(bare)
    return frozenset(found)


def student_number(codes: Any, organization: str) -> str:
    """The student number from ``schac_personal_unique_code`` issued by ``organization``.

    The code reads ``urn:schac:personalUniqueCode:nl:local:<org>:studentid:<number>``; a code
    of another organisation, or of another kind than ``studentid``, is not this student number.
    """
    for code in _strings(codes):
        if not code.lower().startswith(STUDENT_CODE_PREFIX.lower()):
            continue
        parts = code[len(STUDENT_CODE_PREFIX) :].split(":")
        # nl : local : <org> : studentid : <number>
        if len(parts) != 5 or parts[1].lower() != "local" or parts[3].lower() != "studentid":
            continue
        if organization and parts[2].lower() != organization:
            continue
        number = parts[4].strip()
        if number:
            return number
    return ""


def read_claims(claims: Mapping[str, Any]) -> InstitutionalClaims:
    """The ID token's and userinfo's claims (merged by the caller) as the portal reads them."""
    organization = _first(claims.get("schac_home_organization")).lower()
    return InstitutionalClaims(
        subject=_first(claims.get("sub")),
        organization=organization,
        affiliations=affiliations(claims),
        principal_name=_first(claims.get("eduperson_principal_name")).lower(),
        student_number=student_number(claims.get("schac_personal_unique_code"), organization),
        email=_first(claims.get("email")).lower(),
        name=_first(claims.get("name")),
        acr=_first(claims.get("acr")),
    )

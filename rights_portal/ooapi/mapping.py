"""From OOAPI v5 objects to the facts the portal keeps: plain functions, no database.

Each ``*_facts`` function takes one object as the contract describes it and returns a small
dict of what the portal uses (codes, names, dates, links to other OOAPI ids), or raises
:class:`Unusable` with the reason the object is skipped. The hash of those facts is what the sync
compares, so a change the portal does not use (a description, a study load) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
#: Association states that mean the student takes part (the others: canceled, denied).
ACTIVE_STATES = frozenset({"associated", "pending", "queued"})
CODE_LENGTH = 32  # programmes.code and exams.course_code


class Unusable(ValueError):
    """An object the portal cannot use; the sync skips it and reports why."""


def content_hash(facts: dict[str, Any]) -> str:
    """A stable hash of ``facts`` (sorted keys), compared between runs."""
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def text_of(values: Any, preferred: tuple[str, ...] = ("nl", "en")) -> str:
    """The value of a list of LanguageTypedString in Dutch, else English, else the first."""
    if not isinstance(values, list) or not values:
        return ""
    entries = [v for v in values if isinstance(v, dict) and isinstance(v.get("value"), str)]
    for language in preferred:
        for entry in entries:
            if str(entry.get("language", "")).split("-")[0] == language:
                return str(entry["value"]).strip()
    return str(entries[0]["value"]).strip() if entries else ""


def _id_of(reference: Any, key: str) -> str | None:
    """An expandable reference: the id string, or the id inside the expanded object."""
    if isinstance(reference, str):
        return reference
    if isinstance(reference, dict) and isinstance(reference.get(key), str):
        return str(reference[key])
    return None


def _code(item: dict[str, Any]) -> str:
    primary = item.get("primaryCode")
    code = primary.get("code") if isinstance(primary, dict) else None
    if not isinstance(code, str) or not code.strip():
        raise Unusable("it has no primaryCode")
    code = code.strip()
    if len(code) > CODE_LENGTH:
        raise Unusable(f"its code {code[:40]!r} is longer than {CODE_LENGTH} characters")
    return code


def _required_id(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise Unusable(f"it has no {key}")
    return value


def program_facts(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Program: its id, and code and name (the portal's programme)."""
    program_id = _required_id(item, "programId")
    name = text_of(item.get("name"))
    if not name:
        raise Unusable("it has no name")
    return program_id, {"code": _code(item), "name": name[:200]}


def course_facts(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Course: its id, and code, name and the programs it belongs to."""
    course_id = _required_id(item, "courseId")
    programs = [_id_of(p, "programId") for p in item.get("programs") or []]
    return course_id, {
        "code": _code(item),
        "name": text_of(item.get("name"))[:200],
        "programs": [p for p in programs if p],
    }


def component_facts(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A test Component: its id, name and the course it is part of."""
    component_id = _required_id(item, "componentId")
    course = _id_of(item.get("course"), "courseId")
    if course is None:
        raise Unusable("it names no course")
    return component_id, {"name": text_of(item.get("name"))[:200], "course": course}


def parse_moment(value: Any) -> datetime:
    """An RFC 3339 date-time; one without an offset is read as Amsterdam time."""
    if not isinstance(value, str):
        raise Unusable("it has no startDateTime")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise Unusable(f"its startDateTime {value[:40]!r} is not a date-time") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=AMSTERDAM)


def offering_facts(item: dict[str, Any], component_id: str) -> tuple[str, dict[str, Any]]:
    """A ComponentOffering of a test: its id, name and start (the portal's exam)."""
    offering_id = _required_id(item, "offeringId")
    starts_at = parse_moment(item.get("startDateTime"))
    return offering_id, {
        "name": text_of(item.get("name"))[:200],
        "component": component_id,
        "starts_at": starts_at.isoformat(),
    }


def person_facts(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Person: its id, student number (the primary code) and date of birth if released."""
    person_id = _required_id(item, "personId")
    primary = item.get("primaryCode")
    number = primary.get("code") if isinstance(primary, dict) else None
    born = item.get("dateOfBirth")
    if born is not None:
        try:
            date.fromisoformat(str(born))
        except ValueError as error:
            raise Unusable(f"its dateOfBirth {str(born)[:20]!r} is not a date") from error
    return person_id, {
        "student_number": number if isinstance(number, str) else None,
        "date_of_birth": born,
    }


def association_facts(item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A person's association with a component offering: its id, offering and state.

    Other associations (programs, courses, roles other than student) are ``None``.
    """
    if item.get("associationType") != "componentOfferingAssociation":
        return None
    if item.get("role") != "student":
        return None
    association_id = _required_id(item, "associationId")
    offering = _id_of(item.get("offering"), "offeringId")
    if offering is None:
        raise Unusable("it names no offering")
    state = item.get("state")
    if not isinstance(state, str):
        raise Unusable("it has no state")
    return association_id, {"offering": offering, "state": state}

"""The one lookup the demo's rows share: find a row by its natural key, or add it.

Only for rows that have no service of their own (programmes, boards, exams, recordings, which a
real institution gets from its student-information system and vendors); everything with a
service is made through that service.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from ..extensions import db

M = TypeVar("M")


def get_or_create(model: type[M], lookup: dict[str, Any], **values: Any) -> M:
    """The row of ``model`` matching ``lookup``; created with ``values`` if there is none."""
    found = db.session.scalars(select(model).filter_by(**lookup)).one_or_none()
    if found is not None:
        return found
    obj = model(**lookup, **values)
    db.session.add(obj)
    db.session.flush()
    return obj

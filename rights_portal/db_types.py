"""Column types shared by every domain: UTC timestamps and string-backed enums."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum
from sqlalchemy.types import TypeDecorator

from .clock import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; SQLite's naive values come back as UTC too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Reject naive datetimes on the way in: every timestamp must say its zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        return None if value is None else as_utc(value)


def str_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """Store an enum by its value as VARCHAR with a CHECK constraint (portable and readable)."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )

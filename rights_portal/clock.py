"""Time helpers: timestamps are stored in UTC, dates are reasoned about in Europe/Amsterdam (R2)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def now_utc() -> datetime:
    """Return the current time as an aware UTC datetime (use as a callable column default)."""
    return datetime.now(UTC)


def today_local() -> date:
    """Return today's date in Europe/Amsterdam."""
    return datetime.now(AMSTERDAM).date()


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC (SQLite returns naive values) and return an aware one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """Return ``moment`` in Europe/Amsterdam."""
    return as_utc(moment).astimezone(AMSTERDAM)

"""The one date format and the one time format of each language, for pages, mails and letters.

Dutch: "4 januari 2027" and "09:00"; English: "4 January 2027" and "09:00". Never seconds, never
a weekday in one place and not in the next. Templates reach these through the ``date``,
``datetime`` and ``time`` filters (``web.register_template_helpers``); Python code that writes a
date into a sentence calls them directly. Files for machines (CSV exports) keep ISO 8601 and do
not come here.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    ngettext,
)

DATE_PATTERN = "d MMMM y"
TIME_PATTERN = "HH:mm"
# "4 januari 2027 om 09:00" / "4 January 2027 at 09:00"
DATE_TIME_JOINERS = {"nl": "{date} om {time}", "en": "{date} at {time}"}


def _locale() -> str:
    return str(get_locale() or "nl")


def format_day(value: date | datetime | None) -> str:
    """A day in the language's one date format; "" for none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, DATE_PATTERN)  # in the portal's time zone
    return format_date(value, DATE_PATTERN)


def format_clock(value: datetime | time | None) -> str:
    """A time of day in the language's one time format (hours and minutes); "" for none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, TIME_PATTERN)
    return format_time(value, TIME_PATTERN)


def format_moment(value: datetime | date | None) -> str:
    """A moment: its day and its time of day, joined the way the language does it."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return format_day(value)
    joiner = DATE_TIME_JOINERS.get(_locale(), DATE_TIME_JOINERS["en"])
    return joiner.format(date=format_day(value), time=format_clock(value))


FILE_SIZE_UNITS = ("kB", "MB", "GB", "TB")


def format_file_size(size: int | float | None) -> str:
    """A file size in the language's numbers: "512 bytes", "1,5 MB" (nl) / "1.5 MB" (en)."""
    if size is None:
        return ""
    value = float(size)
    if value < 1000:
        return ngettext("%(num)d byte", "%(num)d bytes", int(value))
    index = 0
    value /= 1000
    while value >= 1000 and index < len(FILE_SIZE_UNITS) - 1:
        value /= 1000
        index += 1
    return f"{format_decimal(value, '#,##0.#')} {FILE_SIZE_UNITS[index]}"

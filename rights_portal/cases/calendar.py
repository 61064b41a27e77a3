"""The Dutch working-day calendar behind every deadline (R3, docs/rules.md).

This module owns one question: is a given date a working day? A day is not a working day when
it is a Saturday, a Sunday, a public holiday of the Algemene termijnenwet (Atw), or a day the
institution configured as non-working. It does not compute deadlines (that is
:mod:`rights_portal.cases.deadlines`) and it has no clock of its own.

Source of the calendar: Algemene termijnenwet (Wet van 25 juli 1964, Stb. 1964, 314), art. 3.

* art. 3(1): "Algemeen erkende feestdagen in de zin van deze wet zijn: de Nieuwjaarsdag, de
  Christelijke tweede Paas- en Pinksterdag, de beide Kerstdagen, de Hemelvaartsdag, de dag waarop
  de verjaardag van de Koning wordt gevierd en de vijfde mei." 5 May is a holiday **every year**
  (unlike the ``holidays`` package's NL calendar, which has it only in lustrum years).
* art. 3(2): Good Friday is equated with those days.
* art. 3(3): further days may be equated by royal decree for a given year (published in the
  Staatscourant, e.g. Friday 2 January 2026 and Friday 15 May 2026). Those are NOT holidays here
  by default: treating a day as a working day gives the earlier, safe due date. When the DPO
  decides to follow a decree, the days are added with the setting ``EXTRA_NON_WORKING_DAYS``
  (comma-separated ISO dates, parsed in :mod:`rights_portal.config`).

The day on which the King's birthday is celebrated (Koningsdag) is 27 April, or Saturday 26 April
when 27 April is a Sunday (Besluit van 2013 houdende vaststelling van de dag waarop de verjaardag
van de Koning wordt gevierd). Until 2013 it was Queen's Day, 30 April, or 29 April when that was a
Sunday; older years are kept so that the arithmetic over past dates stays sensible. Easter comes
from :func:`dateutil.easter.easter` (Western/Gregorian computation), a maintained library, so the
movable feasts (Good Friday, Easter Monday, Ascension Day, Whit Monday) need no table.

Configured extra days are read from the Flask application when one is active
(``EXTRA_NON_WORKING_DAYS``, a tuple of dates); without an application (plain-Python callers,
unit tests) the calendar is exactly the statutory one.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from dateutil.easter import easter

__all__ = [
    "configured_extra_days",
    "is_public_holiday",
    "is_working_day",
    "non_working_days",
    "public_holidays",
]

_SATURDAY = 5
_SUNDAY = 6
#: First year in which the King's birthday was celebrated on 27 April (Koningsdag).
_FIRST_KINGS_DAY_YEAR = 2014


def _kings_day(year: int) -> date:
    """The day the King's (until 2013: the Queen's) birthday is celebrated (Atw art. 3(1))."""
    if year >= _FIRST_KINGS_DAY_YEAR:
        day = date(year, 4, 27)
        # On a Sunday it is celebrated on the Saturday before.
        return day - timedelta(days=1) if day.weekday() == _SUNDAY else day
    day = date(year, 4, 30)
    return day - timedelta(days=1) if day.weekday() == _SUNDAY else day


@functools.lru_cache(maxsize=512)
def public_holidays(year: int) -> dict[date, str]:
    """Return the public holidays of Atw art. 3(1)-(2) in ``year``, date -> English name.

    The mapping is cached per year; treat it as read-only.
    """
    easter_sunday = easter(year)
    days = {
        date(year, 1, 1): "New Year's Day",  # Atw art. 3(1): Nieuwjaarsdag
        easter_sunday - timedelta(days=2): "Good Friday",  # Atw art. 3(2): Goede Vrijdag
        easter_sunday + timedelta(days=1): "Easter Monday",  # Atw art. 3(1): tweede Paasdag
        _kings_day(year): "King's Day",  # Atw art. 3(1): verjaardag van de Koning
        date(year, 5, 5): "Liberation Day",  # Atw art. 3(1): de vijfde mei, every year
        easter_sunday + timedelta(days=39): "Ascension Day",  # Atw art. 3(1): Hemelvaartsdag
        easter_sunday + timedelta(days=50): "Whit Monday",  # Atw art. 3(1): tweede Pinksterdag
        date(year, 12, 25): "Christmas Day",  # Atw art. 3(1): de beide Kerstdagen (1)
        date(year, 12, 26): "Boxing Day",  # Atw art. 3(1): de beide Kerstdagen (2)
    }
    # Ascension Day can fall on 5 May (2005, 2016): the literal above kept only one name.
    if easter_sunday + timedelta(days=39) == date(year, 5, 5):
        days[date(year, 5, 5)] = "Ascension Day; Liberation Day"
    return days


def is_public_holiday(day: date) -> bool:
    """Whether ``day`` is a public holiday of Atw art. 3(1)-(2) (configured days not included)."""
    return day in public_holidays(day.year)


def configured_extra_days() -> frozenset[date]:
    """The days equated with holidays by configuration (Atw art. 3(3)), for the active app.

    Empty outside a Flask application context, so the plain-Python rules stay usable on their own.
    """
    from flask import current_app, has_app_context

    if not has_app_context():
        return frozenset()
    return _as_frozenset(tuple(current_app.config.get("EXTRA_NON_WORKING_DAYS") or ()))


@functools.lru_cache(maxsize=64)
def _as_frozenset(days: tuple[date, ...]) -> frozenset[date]:
    return frozenset(days)


def non_working_days(year: int) -> frozenset[date]:
    """Return the public holidays of ``year`` plus the configured extra days in that year.

    Weekends are not included; :func:`is_working_day` checks those.
    """
    return _non_working_days(year, configured_extra_days())


@functools.lru_cache(maxsize=1024)
def _non_working_days(year: int, extra: frozenset[date]) -> frozenset[date]:
    return frozenset(public_holidays(year)) | {day for day in extra if day.year == year}


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day: Monday-Friday, not a holiday, not a configured day."""
    return day.weekday() < _SATURDAY and day not in non_working_days(day.year)

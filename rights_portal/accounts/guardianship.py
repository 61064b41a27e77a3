"""The age rule of R20: on the day of filing, a student under 16 is represented by a guardian.

Plain functions of dates, no database and no request, so every other module (the permission
layer, views, tests) asks the same question the same way. Who may act for whom is decided in
:mod:`rights_portal.permissions`, using these functions.

Birthdays on 29 February: in a year without 29 February such a person has their birthday on
1 March. Dutch civil practice counts it so (the day after 28 February is the first day on which
the full number of years has passed), and it is the cautious choice here: the guardian keeps
acting until the child has undeniably turned 16, rather than a day too early leaving the child
alone. A student without a date of birth on record is treated as an adult (16 or older).
"""

from __future__ import annotations

import calendar
from datetime import date

ACTS_ALONE_FROM_AGE = 16  # AP guidance, docs/rules.md R20: under 16 the legal representative acts


def birthday_in(year: int, date_of_birth: date) -> date:
    """The day in ``year`` on which someone born on ``date_of_birth`` has their birthday."""
    if (date_of_birth.month, date_of_birth.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return date_of_birth.replace(year=year)


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years of age on ``day`` (0 before the first birthday)."""
    if day < date_of_birth:
        raise ValueError("day is before the date of birth")
    years = day.year - date_of_birth.year
    if day < birthday_in(day.year, date_of_birth):
        years -= 1
    return years


def acts_alone_from(date_of_birth: date) -> date:
    """The 16th birthday: from this day on the student files alone (R20)."""
    return birthday_in(date_of_birth.year + ACTS_ALONE_FROM_AGE, date_of_birth)


def is_minor_on(date_of_birth: date | None, day: date) -> bool:
    """Whether someone is under 16 on ``day``; no known date of birth counts as an adult."""
    if date_of_birth is None:
        return False
    return day < acts_alone_from(date_of_birth)

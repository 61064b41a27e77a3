"""The age rule of R20 as plain functions: under 16 on the day of filing, 29 February handled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rights_portal.accounts.guardianship import acts_alone_from, age_on, birthday_in, is_minor_on


def test_a_student_is_a_minor_until_the_day_before_the_16th_birthday():
    born = date(2010, 12, 14)
    assert is_minor_on(born, date(2026, 12, 13))
    assert not is_minor_on(born, date(2026, 12, 14))
    assert age_on(born, date(2026, 12, 13)) == 15
    assert age_on(born, date(2026, 12, 14)) == 16


def test_a_student_without_a_date_of_birth_is_treated_as_an_adult():
    assert not is_minor_on(None, date(2026, 1, 1))


def test_someone_born_on_29_february_has_a_birthday_on_1_march_in_a_common_year():
    born = date(2008, 2, 29)
    assert birthday_in(2009, born) == date(2009, 3, 1)
    assert birthday_in(2012, born) == date(2012, 2, 29)
    assert age_on(born, date(2009, 2, 28)) == 0
    assert age_on(born, date(2009, 3, 1)) == 1
    assert age_on(born, date(2012, 2, 28)) == 3
    assert age_on(born, date(2012, 2, 29)) == 4


def test_a_29_february_child_turns_16_on_29_february_in_a_leap_year():
    born = date(2012, 2, 29)
    assert acts_alone_from(born) == date(2028, 2, 29)
    assert is_minor_on(born, date(2028, 2, 28))
    assert not is_minor_on(born, date(2028, 2, 29))


def test_a_29_february_child_turns_16_on_1_march_when_the_16th_year_is_not_a_leap_year():
    # 16 years after a leap year is a leap year again, except across 2100 (not a leap year).
    born = date(2084, 2, 29)
    assert acts_alone_from(born) == date(2100, 3, 1)
    assert is_minor_on(born, date(2100, 2, 28))
    assert not is_minor_on(born, date(2100, 3, 1))


def test_age_before_birth_is_refused():
    with pytest.raises(ValueError, match="before the date of birth"):
        age_on(date(2010, 1, 2), date(2010, 1, 1))


@given(
    born=st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)),
    days=st.integers(min_value=0, max_value=40 * 366),
)
def test_minor_means_younger_than_16_and_age_grows_by_one_on_each_birthday(born, days):
    day = born + timedelta(days=days)
    assert is_minor_on(born, day) == (age_on(born, day) < 16)
    tomorrow = day + timedelta(days=1)
    grows = age_on(born, tomorrow) - age_on(born, day)
    assert grows == (1 if tomorrow == birthday_in(tomorrow.year, born) else 0)

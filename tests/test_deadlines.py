"""Deadline rules (docs/rules.md R1-R4, R6, R7, R9, R10): worked examples and properties.

Worked examples were computed by hand from a printed calendar; the holidays are those of the
Algemene termijnenwet art. 3(1)-(2) (R3), with Easter dates checked against published calendars.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from rights_portal.cases.calendar import public_holidays
from rights_portal.cases.deadlines import (
    AMSTERDAM,
    add_working_days,
    current_statutory_due,
    days_left,
    effective_due,
    exam_bound_due,
    extended_due,
    extension_allowed,
    is_urgent,
    is_working_day,
    local_date,
    max_extended_due,
    next_working_day,
    paused_days,
    period_end,
    question_pauses_clock,
    reminder_keys_due,
    shift_for_pause,
    statutory_due,
    working_days_between,
)
from rights_portal.config import build_config, parse_extra_days

NEW_YORK = ZoneInfo("America/New_York")
PROPERTY = settings(max_examples=200, deadline=None)

any_date = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
working_date = any_date.map(next_working_day)
steps = st.integers(min_value=-60, max_value=60)
exam_starts = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, AMSTERDAM, NEW_YORK]),
)


def brute_force_working_days_between(start: date, end: date) -> int:
    if end < start:
        return -brute_force_working_days_between(end, start)
    return sum(
        1 for i in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=i))
    )


# --- the holiday calendar ---------------------------------------------------------------------


def test_the_calendar_has_exactly_the_atw_article_3_holidays_of_2026() -> None:
    # R3: Atw art. 3(1) and Good Friday of art. 3(2).
    assert sorted(public_holidays(2026)) == [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 4, 27),  # King's Day (Monday)
        date(2026, 5, 5),  # 5 May (Tuesday), although 2026 is not a lustrum year
        date(2026, 5, 14),  # Ascension Day
        date(2026, 5, 25),  # Whit Monday
        date(2026, 12, 25),  # Christmas Day
        date(2026, 12, 26),  # Boxing Day
    ]
    for holiday in public_holidays(2026):
        assert not is_working_day(holiday)


@pytest.mark.parametrize("year", [2026, 2027, 2028, 2029, 2030, 2031])
def test_5_may_is_a_holiday_every_year_not_only_in_lustrum_years(year: int) -> None:
    assert date(year, 5, 5) in public_holidays(year)
    if date(year, 5, 5).weekday() < 5:
        assert not is_working_day(date(year, 5, 5))


@pytest.mark.parametrize(
    ("year", "good_friday", "easter_monday", "ascension", "whit_monday"),
    [
        (2024, date(2024, 3, 29), date(2024, 4, 1), date(2024, 5, 9), date(2024, 5, 20)),
        (2025, date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)),
        (2027, date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)),
        (2038, date(2038, 4, 23), date(2038, 4, 26), date(2038, 6, 3), date(2038, 6, 14)),
    ],
)
def test_the_movable_feasts_follow_easter(
    year: int, good_friday: date, easter_monday: date, ascension: date, whit_monday: date
) -> None:
    calendar = public_holidays(year)
    assert calendar[good_friday] == "Good Friday"
    assert calendar[easter_monday] == "Easter Monday"
    assert calendar[ascension] == "Ascension Day"
    assert calendar[whit_monday] == "Whit Monday"


def test_kings_day_2025_was_on_saturday_26_april_because_27_april_was_a_sunday() -> None:
    assert date(2025, 4, 26) in public_holidays(2025)
    assert date(2025, 4, 27) not in public_holidays(2025)


def test_ascension_day_on_5_may_counts_once() -> None:
    assert public_holidays(2016)[date(2016, 5, 5)] == "Ascension Day; Liberation Day"
    assert len(public_holidays(2016)) == 8


def test_days_equated_by_royal_decree_are_working_days_unless_configured() -> None:
    # R3, Atw art. 3(3): Friday 2 January and Friday 15 May 2026 were equated by royal decree;
    # by default they are working days (the earlier due date is the safe one).
    assert is_working_day(date(2026, 1, 2))
    assert is_working_day(date(2026, 5, 15))
    assert statutory_due(date(2026, 4, 14)) == date(2026, 5, 15)


def test_configured_extra_days_are_non_working_in_every_computation(tmp_path: Path) -> None:
    app = Flask(__name__)
    config = build_config(tmp_path, {"EXTRA_NON_WORKING_DAYS": "2026-01-02, 2026-05-15"})
    app.config["EXTRA_NON_WORKING_DAYS"] = config["EXTRA_NON_WORKING_DAYS"]
    with app.app_context():
        assert not is_working_day(date(2026, 1, 2))
        assert not is_working_day(date(2026, 5, 15))
        # Statutory roll: Thursday 14 May is Ascension Day, Friday 15 May now too -> Monday.
        assert statutory_due(date(2026, 4, 14)) == date(2026, 5, 18)
        # Working-day steps and counts (R6's five days, R7, R17's ten days) skip it as well.
        assert add_working_days(date(2026, 5, 13), 1) == date(2026, 5, 18)
        assert working_days_between(date(2026, 5, 11), date(2026, 5, 18)) == 3
        assert exam_bound_due(datetime(2026, 5, 19, 9, 0, tzinfo=AMSTERDAM), 2) == date(2026, 5, 13)
    assert is_working_day(date(2026, 5, 15))  # outside the app: the statutory calendar only


def test_the_extra_days_setting_is_parsed_as_iso_dates_and_a_typo_is_refused() -> None:
    assert parse_extra_days("2026-05-15,2026-01-02,,") == (date(2026, 1, 2), date(2026, 5, 15))
    assert parse_extra_days([date(2026, 1, 2), "2026-01-02"]) == (date(2026, 1, 2),)
    assert parse_extra_days("") == ()
    with pytest.raises(ValueError, match="15-05-2026"):
        parse_extra_days("15-05-2026")


def test_weekends_are_not_working_days_and_ordinary_weekdays_are() -> None:
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday
    assert is_working_day(date(2026, 3, 9))  # Monday
    assert is_working_day(date(2026, 3, 13))  # Friday


def test_a_datetime_is_rejected_where_a_calendar_date_is_expected() -> None:
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 4, 27, 12, 0, tzinfo=UTC))
    with pytest.raises(TypeError):
        statutory_due(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))


def test_next_working_day_keeps_a_working_day_and_skips_weekend_and_holidays() -> None:
    assert next_working_day(date(2026, 3, 9)) == date(2026, 3, 9)
    assert next_working_day(date(2026, 3, 7)) == date(2026, 3, 9)
    assert next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)


# --- statutory due date (R2, R3) --------------------------------------------------------------


def test_5_march_is_due_5_april_when_that_is_a_working_day() -> None:
    assert statutory_due(date(2027, 3, 5)) == date(2027, 4, 5)  # Monday


def test_5_march_2026_is_due_tuesday_7_april_because_of_easter_sunday_and_monday() -> None:
    # 5 April 2026 is Easter Sunday, 6 April Easter Monday.
    assert statutory_due(date(2026, 3, 5)) == date(2026, 4, 7)


def test_due_date_on_easter_monday_moves_to_the_tuesday() -> None:
    assert statutory_due(date(2026, 3, 6)) == date(2026, 4, 7)


def test_31_august_is_due_30_september() -> None:
    assert statutory_due(date(2026, 8, 31)) == date(2026, 9, 30)  # Wednesday


def test_31_january_2028_is_due_29_february_2028_in_a_leap_year() -> None:
    assert statutory_due(date(2028, 1, 31)) == date(2028, 2, 29)  # Tuesday


def test_31_january_2027_is_due_monday_1_march_because_28_february_is_a_sunday() -> None:
    assert statutory_due(date(2027, 1, 31)) == date(2027, 3, 1)


def test_due_date_on_kings_day_moves_to_next_working_day() -> None:
    assert statutory_due(date(2026, 3, 27)) == date(2026, 4, 28)  # Monday 27 April -> Tuesday
    assert statutory_due(date(2027, 3, 27)) == date(2027, 4, 28)  # Tuesday 27 April -> Wednesday


def test_due_date_on_kings_day_2025_saturday_moves_to_monday() -> None:
    assert statutory_due(date(2025, 3, 26)) == date(2025, 4, 28)


def test_due_date_on_ascension_day_moves_to_the_friday() -> None:
    assert statutory_due(date(2026, 4, 14)) == date(2026, 5, 15)


def test_due_date_on_whit_monday_moves_to_the_tuesday() -> None:
    assert statutory_due(date(2026, 4, 25)) == date(2026, 5, 26)


def test_received_5_april_2026_is_due_wednesday_6_may_because_5_may_is_a_holiday() -> None:
    # R3's worked example: 5 May is a holiday every year (Atw art. 3(1)), 2026 included.
    assert statutory_due(date(2026, 4, 5)) == date(2026, 5, 6)


def test_due_date_on_good_friday_moves_past_easter_to_the_tuesday() -> None:
    assert statutory_due(date(2027, 2, 26)) == date(2027, 3, 30)  # Good Friday 26 March 2027


def test_due_date_on_the_saturday_before_whit_monday_moves_to_the_tuesday() -> None:
    assert statutory_due(date(2026, 4, 23)) == date(2026, 5, 26)


def test_due_date_on_christmas_day_moves_past_boxing_day_and_the_weekend() -> None:
    assert statutory_due(date(2026, 11, 25)) == date(2026, 12, 28)  # Friday 25 Dec -> Monday
    assert statutory_due(date(2026, 11, 26)) == date(2026, 12, 28)  # Saturday 26 Dec -> Monday
    assert statutory_due(date(2025, 11, 25)) == date(2025, 12, 29)  # Thursday 25 Dec -> Monday


def test_due_date_on_new_years_day_moves_to_the_next_working_day() -> None:
    assert statutory_due(date(2026, 12, 1)) == date(2027, 1, 4)  # Friday 1 Jan -> Monday


# --- extension (R4) ---------------------------------------------------------------------------


def test_extension_by_one_month_adds_two_months_to_receipt_and_rolls() -> None:
    assert extended_due(date(2026, 8, 31), 1) == date(2026, 11, 2)  # Saturday 31 Oct -> Monday


def test_maximum_extension_is_three_months_after_receipt() -> None:
    assert max_extended_due(date(2026, 8, 31)) == date(2026, 11, 30)
    assert extended_due(date(2026, 8, 31), 2) == date(2026, 11, 30)


def test_maximum_extension_clamps_to_the_end_of_february_and_rolls() -> None:
    assert max_extended_due(date(2026, 11, 30)) == date(2027, 3, 1)  # Sunday 28 Feb -> Monday


@pytest.mark.parametrize("months", [0, 3, -1, True])
def test_extension_other_than_one_or_two_months_is_refused(months: int) -> None:
    with pytest.raises(ValueError, match="1 or 2 months"):
        extended_due(date(2026, 3, 5), months)


# --- pause (R6) -------------------------------------------------------------------------------


def test_pause_moves_due_date_by_the_paused_calendar_days() -> None:
    assert shift_for_pause(date(2026, 12, 14), 2) == date(2026, 12, 16)


def test_pause_ending_on_a_weekend_moves_to_monday() -> None:
    assert shift_for_pause(date(2026, 4, 7), 4) == date(2026, 4, 13)


def test_pause_ending_on_kings_day_moves_to_the_next_working_day() -> None:
    assert shift_for_pause(date(2026, 4, 20), 7) == date(2026, 4, 28)


def test_paused_days_go_on_the_period_end_before_the_holiday_roll() -> None:
    # R6's worked example: received Thursday 5 March 2026, paused 10 days. The period ends on
    # 5 April (Easter Sunday); + 10 days = Wednesday 15 April, a working day. Rolling first
    # (Tuesday 7 April) and then adding the pause would give Friday 17 April.
    assert period_end(date(2026, 3, 5), 1) == date(2026, 4, 5)
    assert current_statutory_due(date(2026, 3, 5), 0, 10) == date(2026, 4, 15)


def test_an_extended_period_also_takes_the_pause_before_the_roll() -> None:
    # Received 5 January 2026, extended by 2 months: the period ends Sunday 5 April (Easter).
    assert current_statutory_due(date(2026, 1, 5), 2, 0) == date(2026, 4, 7)
    # Paused 3 days: 5 April + 3 = Wednesday 8 April (not Tuesday 7 April + 3 = 10 April).
    assert current_statutory_due(date(2026, 1, 5), 2, 3) == date(2026, 4, 8)


def test_pause_of_zero_days_keeps_a_working_due_date_and_negative_pause_is_refused() -> None:
    assert shift_for_pause(date(2026, 12, 14), 0) == date(2026, 12, 14)
    with pytest.raises(ValueError, match="negative"):
        shift_for_pause(date(2026, 12, 14), -1)


# --- working-day arithmetic -------------------------------------------------------------------


def test_adding_working_days_skips_weekends_and_holidays() -> None:
    assert add_working_days(date(2026, 12, 11), 1) == date(2026, 12, 14)  # Friday -> Monday
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # over Christmas
    assert add_working_days(date(2026, 12, 14), -1) == date(2026, 12, 11)  # Monday -> Friday
    assert add_working_days(date(2026, 12, 14), 0) == date(2026, 12, 14)


def test_adding_working_days_from_a_weekend_does_not_count_the_weekend_day() -> None:
    assert add_working_days(date(2026, 12, 12), 1) == date(2026, 12, 14)  # Saturday -> Monday
    assert add_working_days(date(2026, 12, 12), -1) == date(2026, 12, 11)  # Saturday -> Friday
    assert add_working_days(date(2026, 12, 12), 0) == date(2026, 12, 12)


def test_working_days_between_counts_after_start_up_to_and_including_end() -> None:
    assert working_days_between(date(2026, 12, 7), date(2026, 12, 14)) == 5
    assert working_days_between(date(2026, 12, 14), date(2026, 12, 7)) == -5
    assert working_days_between(date(2026, 12, 14), date(2026, 12, 14)) == 0
    assert working_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 5


# --- local dates (R2: computed in Europe/Amsterdam, stored in UTC) ----------------------------


def test_request_at_23_30_on_31_january_amsterdam_time_is_received_on_31_january() -> None:
    assert local_date(datetime(2026, 1, 31, 23, 30, tzinfo=AMSTERDAM)) == date(2026, 1, 31)
    assert local_date(datetime(2026, 1, 31, 22, 30, tzinfo=UTC)) == date(2026, 1, 31)


def test_request_at_00_30_on_1_february_amsterdam_time_is_received_on_1_february() -> None:
    assert local_date(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == date(2026, 2, 1)


def test_naive_timestamps_are_treated_as_utc() -> None:
    assert local_date(datetime(2026, 1, 31, 22, 30)) == date(2026, 1, 31)
    assert local_date(datetime(2026, 1, 31, 23, 30)) == date(2026, 2, 1)


def test_timestamps_in_other_zones_are_converted_to_amsterdam() -> None:
    # 18:30 in New York on 31 January is 00:30 on 1 February in Amsterdam.
    assert local_date(datetime(2026, 1, 31, 18, 30, tzinfo=NEW_YORK)) == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("utc_moment", "expected"),
    [
        # Winter time (UTC+1) until Sunday 29 March 2026 01:00 UTC.
        (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), date(2026, 3, 28)),
        (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), date(2026, 3, 29)),
        # Summer time (UTC+2) from then on: midnight is 22:00 UTC.
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), date(2026, 3, 30)),
    ],
)
def test_local_date_is_right_around_the_march_daylight_saving_change(
    utc_moment: datetime, expected: date
) -> None:
    assert local_date(utc_moment) == expected


@pytest.mark.parametrize(
    ("utc_moment", "expected"),
    [
        # Summer time (UTC+2) until Sunday 25 October 2026 01:00 UTC.
        (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), date(2026, 10, 24)),
        (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), date(2026, 10, 25)),
        # Winter time (UTC+1) from then on: midnight is 23:00 UTC.
        (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), date(2026, 10, 26)),
    ],
)
def test_local_date_is_right_around_the_october_daylight_saving_change(
    utc_moment: datetime, expected: date
) -> None:
    assert local_date(utc_moment) == expected


def test_the_repeated_hour_in_october_is_on_the_same_local_date() -> None:
    for fold in (0, 1):
        moment = datetime(2026, 10, 25, 2, 30, tzinfo=AMSTERDAM, fold=fold)
        assert local_date(moment) == date(2026, 10, 25)


# --- exam-bound deadline (R7) -----------------------------------------------------------------


def test_exam_on_monday_14_december_2026_is_due_monday_7_december() -> None:
    exam = datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM)
    assert exam_bound_due(exam) == date(2026, 12, 7)


def test_exam_bound_date_steps_back_over_a_weekend() -> None:
    exam = datetime(2026, 12, 16, 13, 30, tzinfo=AMSTERDAM)  # Wednesday
    assert exam_bound_due(exam) == date(2026, 12, 9)


def test_exam_bound_date_steps_back_over_kings_day() -> None:
    exam = datetime(2026, 4, 28, 9, 0, tzinfo=AMSTERDAM)  # Tuesday after King's Day
    assert exam_bound_due(exam) == date(2026, 4, 20)


def test_exam_bound_date_steps_back_over_new_year_and_christmas() -> None:
    exam = datetime(2027, 1, 4, 9, 0, tzinfo=AMSTERDAM)  # Monday
    assert exam_bound_due(exam) == date(2026, 12, 24)


def test_exam_bound_date_uses_the_amsterdam_date_of_a_utc_exam_start() -> None:
    # Tuesday 8 December 00:30 in Amsterdam is Monday 7 December 23:30 UTC.
    assert exam_bound_due(datetime(2026, 12, 7, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)
    assert exam_bound_due(datetime(2026, 12, 7, 23, 30)) == date(2026, 12, 1)


def test_exam_bound_working_days_are_configurable() -> None:
    exam = datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM)
    assert exam_bound_due(exam, working_days=10) == date(2026, 11, 30)
    assert exam_bound_due(exam, working_days=0) == date(2026, 12, 14)
    with pytest.raises(ValueError, match="negative"):
        exam_bound_due(exam, working_days=-1)


def test_effective_due_date_is_the_earliest_of_statutory_and_exam_bound() -> None:
    assert effective_due(date(2026, 12, 14), None) == date(2026, 12, 14)
    assert effective_due(date(2026, 12, 14), date(2026, 12, 7)) == date(2026, 12, 7)
    assert effective_due(date(2026, 12, 7), date(2026, 12, 14)) == date(2026, 12, 7)


def test_request_without_an_exam_is_never_urgent() -> None:
    assert not is_urgent(date(2026, 12, 7), None)


def test_request_is_urgent_when_the_exam_bound_date_is_within_two_working_days() -> None:
    received = date(2026, 12, 7)  # Monday; two working days later is Wednesday 9 December
    assert is_urgent(received, date(2026, 12, 9))
    assert not is_urgent(received, date(2026, 12, 10))


def test_request_filed_after_its_exam_bound_date_is_urgent_not_rejected() -> None:
    assert is_urgent(date(2026, 12, 7), date(2026, 12, 1))


def test_urgency_counts_working_days_over_christmas() -> None:
    received = date(2026, 12, 24)  # Thursday; two working days later is Tuesday 29 December
    assert is_urgent(received, date(2026, 12, 29))
    assert not is_urgent(received, date(2026, 12, 30))


# --- days left --------------------------------------------------------------------------------


def test_days_left_gives_calendar_and_working_days() -> None:
    assert days_left(date(2026, 12, 14), date(2026, 12, 7)) == (7, 5)
    assert days_left(date(2026, 12, 14), date(2026, 12, 11)) == (3, 1)
    assert days_left(date(2027, 1, 4), date(2026, 12, 24)) == (11, 5)


def test_days_left_is_zero_on_the_due_date_and_negative_when_overdue() -> None:
    assert days_left(date(2026, 12, 14), date(2026, 12, 14)) == (0, 0)
    assert days_left(date(2026, 12, 14), date(2026, 12, 16)) == (-2, -2)
    assert days_left(date(2026, 12, 11), date(2026, 12, 14)) == (-3, -1)


# --- reminders (R9, R10) ----------------------------------------------------------------------

DUE = date(2026, 12, 14)


def test_no_reminder_is_due_more_than_seven_days_before_the_due_date() -> None:
    assert reminder_keys_due(DUE, date(2026, 12, 6)) == []


def test_reminders_become_due_seven_and_two_days_before_and_on_the_due_date() -> None:
    assert reminder_keys_due(DUE, date(2026, 12, 7)) == [("before:7", date(2026, 12, 7))]
    assert reminder_keys_due(DUE, date(2026, 12, 12)) == [
        ("before:7", date(2026, 12, 7)),
        ("before:2", date(2026, 12, 12)),
    ]
    assert reminder_keys_due(DUE, DUE) == [
        ("before:7", date(2026, 12, 7)),
        ("before:2", date(2026, 12, 12)),
        ("due", DUE),
    ]


def test_an_overdue_case_gets_one_reminder_key_per_day() -> None:
    assert reminder_keys_due(DUE, date(2026, 12, 16))[3:] == [
        ("overdue:2026-12-15", date(2026, 12, 15)),
        ("overdue:2026-12-16", date(2026, 12, 16)),
    ]


def test_a_sweep_after_downtime_catches_up_on_every_missed_milestone() -> None:
    keys = [key for key, _ in reminder_keys_due(DUE, date(2026, 12, 17))]
    assert keys == [
        "before:7",
        "before:2",
        "due",
        "overdue:2026-12-15",
        "overdue:2026-12-16",
        "overdue:2026-12-17",
    ]


def test_custom_reminder_offsets_are_honoured_once_each_and_negative_ones_refused() -> None:
    assert reminder_keys_due(DUE, DUE, offsets=(1, 14, 1)) == [
        ("before:14", date(2026, 11, 30)),
        ("before:1", date(2026, 12, 13)),
    ]
    with pytest.raises(ValueError, match="negative"):
        reminder_keys_due(DUE, DUE, offsets=(7, -1))


# --- properties -------------------------------------------------------------------------------


@PROPERTY
@given(any_date)
def test_statutory_due_date_is_always_a_working_day(received: date) -> None:
    assert is_working_day(statutory_due(received))


@PROPERTY
@given(any_date)
def test_statutory_due_date_is_28_to_35_days_after_receipt(received: date) -> None:
    # 28 for 31 January -> 28 February; 31 days plus at most a four-day holiday roll
    # (Christmas on Thursday or Good Friday to Easter Monday).
    assert received < statutory_due(received)
    assert 28 <= (statutory_due(received) - received).days <= 31 + 4


@PROPERTY
@given(any_date)
def test_maximum_extension_is_never_before_the_statutory_due_date(received: date) -> None:
    assert max_extended_due(received) >= extended_due(received, 1) >= statutory_due(received)
    assert max_extended_due(received) == extended_due(received, 2)
    assert is_working_day(max_extended_due(received))


@PROPERTY
@given(any_date, any_date)
def test_statutory_due_date_never_decreases_with_a_later_receipt(first: date, second: date) -> None:
    earlier, later = sorted((first, second))
    assert statutory_due(earlier) <= statutory_due(later)


@PROPERTY
@given(any_date, steps.filter(lambda n: n != 0))
def test_adding_nonzero_working_days_lands_on_a_working_day(day: date, n: int) -> None:
    result = add_working_days(day, n)
    assert is_working_day(result)
    assert (result > day) == (n > 0)


@PROPERTY
@given(working_date, steps)
def test_working_days_between_undoes_add_working_days(day: date, n: int) -> None:
    assert working_days_between(day, add_working_days(day, n)) == n


@PROPERTY
@given(any_date, st.integers(min_value=-400, max_value=400))
def test_working_days_between_matches_counting_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    expected = brute_force_working_days_between(start, end)
    assert working_days_between(start, end) == expected
    assert working_days_between(end, start) == -expected


@PROPERTY
@given(exam_starts, st.integers(min_value=1, max_value=20))
def test_exam_bound_date_is_a_working_day_strictly_before_the_exam(
    exam_start: datetime, working_days: int
) -> None:
    result = exam_bound_due(exam_start, working_days)
    assert is_working_day(result)
    assert result < local_date(exam_start)
    one_day = timedelta(days=1)
    # Exactly `working_days` working days in [result, exam date).
    assert working_days_between(result - one_day, local_date(exam_start) - one_day) == working_days


@PROPERTY
@given(any_date, st.none() | any_date)
def test_effective_due_date_is_never_after_either_input(
    statutory: date, exam_bound: date | None
) -> None:
    result = effective_due(statutory, exam_bound)
    assert result <= statutory
    if exam_bound is not None:
        assert result <= exam_bound
        assert result in (statutory, exam_bound)


@PROPERTY
@given(any_date, st.integers(min_value=0, max_value=60))
def test_pause_never_moves_the_due_date_earlier(due: date, paused: int) -> None:
    result = shift_for_pause(due, paused)
    assert result >= due + timedelta(days=paused)
    assert is_working_day(result)


@PROPERTY
@given(any_date, st.integers(min_value=-400, max_value=-8))
def test_no_reminder_is_returned_more_than_seven_days_before_due(due: date, offset: int) -> None:
    assert reminder_keys_due(due, due + timedelta(days=offset)) == []


@PROPERTY
@given(any_date, st.integers(min_value=0, max_value=60))
def test_each_extra_overdue_day_adds_exactly_one_new_overdue_key(due: date, late: int) -> None:
    today = due + timedelta(days=late)
    tomorrow = today + timedelta(days=1)
    assert reminder_keys_due(due, tomorrow) == [
        *reminder_keys_due(due, today),
        (f"overdue:{tomorrow.isoformat()}", tomorrow),
    ]


@PROPERTY
@given(any_date, st.integers(min_value=-30, max_value=30))
def test_reminder_keys_only_grow_day_by_day_and_are_oldest_first(due: date, offset: int) -> None:
    today = due + timedelta(days=offset)
    keys_today = reminder_keys_due(due, today)
    keys_tomorrow = reminder_keys_due(due, today + timedelta(days=1))
    assert keys_tomorrow[: len(keys_today)] == keys_today
    milestone_dates = [milestone for _, milestone in keys_tomorrow]
    assert milestone_dates == sorted(milestone_dates)
    assert all(milestone <= today + timedelta(days=1) for milestone in milestone_dates)
    assert len({key for key, _ in keys_tomorrow}) == len(keys_tomorrow)


# --- Extension (R4) and pause (R6) as properties ---


@settings(max_examples=200)
@given(any_date, st.sampled_from([0, 1, 2]), st.integers(min_value=0, max_value=120))
def test_current_due_is_a_working_day_and_grows_with_extension_and_pause(received, months, paused):
    due = current_statutory_due(received, months, paused)
    assert is_working_day(due)
    assert due >= current_statutory_due(received, 0, paused)
    assert due >= current_statutory_due(received, months, 0)
    if paused == 0:
        assert due <= max_extended_due(received)  # an extension never passes R4's limit


@settings(max_examples=200)
@given(any_date, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_a_longer_pause_never_gives_an_earlier_due_date(received, shorter, extra):
    assert current_statutory_due(received, 0, shorter) <= current_statutory_due(
        received, 0, shorter + extra
    )


@settings(max_examples=200)
@given(any_date, st.integers(min_value=0, max_value=90))
def test_a_pause_counts_calendar_days_across_month_ends(started, length):
    assert paused_days(started, started + timedelta(days=length)) == length


@settings(max_examples=200)
@given(any_date, st.integers(min_value=-5, max_value=5))
def test_extension_is_allowed_up_to_and_including_the_first_due_date(received, offset):
    first_due = statutory_due(received)
    assert extension_allowed(first_due, first_due + timedelta(days=offset)) == (offset <= 0)


def test_a_question_on_the_fifth_working_day_pauses_and_on_the_sixth_does_not():
    received = date(2026, 11, 2)  # Monday
    assert question_pauses_clock(received, date(2026, 11, 9))  # 5 working days later
    assert not question_pauses_clock(received, date(2026, 11, 10))


def test_a_pause_over_the_turn_of_the_year_counts_from_new_years_day_not_from_the_roll():
    # Received 1 Dec 2026: the period ends Fri 1 Jan 2027 (New Year's Day) -> due Mon 4 Jan;
    # with 3 paused days 1 Jan + 3 = Mon 4 Jan as well (R6), not 4 Jan + 3 = Thu 7 Jan.
    assert current_statutory_due(date(2026, 12, 1), 0, 0) == date(2027, 1, 4)
    assert current_statutory_due(date(2026, 12, 1), 0, 3) == date(2027, 1, 4)
    assert current_statutory_due(date(2026, 12, 1), 0, 4) == date(2027, 1, 5)


@settings(max_examples=200)
@given(any_date, st.sampled_from([0, 1, 2]), st.integers(min_value=0, max_value=120))
def test_pause_is_added_to_the_unrolled_period_end_and_rolled_once(received, months, paused):
    # R6: the pause goes on the end of the period, then R3 rolls once.
    end = period_end(received, 1 + months)
    due = current_statutory_due(received, months, paused)
    assert due == next_working_day(end + timedelta(days=paused))
    # Never later than the old "roll, add, roll again" reading, and never earlier than the period.
    assert due <= next_working_day(next_working_day(end) + timedelta(days=paused))
    assert due >= end + timedelta(days=paused)


years = st.integers(min_value=2014, max_value=2200)


@PROPERTY
@given(years)
def test_every_year_has_the_nine_atw_holidays_on_their_weekdays(year: int) -> None:
    by_name = {name: day for day, name in public_holidays(year).items()}
    named = {part for name in by_name for part in name.split("; ")}
    assert named == {
        "New Year's Day",
        "Good Friday",
        "Easter Monday",
        "King's Day",
        "Liberation Day",
        "Ascension Day",
        "Whit Monday",
        "Christmas Day",
        "Boxing Day",
    }
    calendar = public_holidays(year)
    assert date(year, 5, 5) in calendar
    assert all(day.year == year for day in calendar)
    for day, name in calendar.items():
        if name == "Good Friday":
            assert day.weekday() == 4
        if name in ("Easter Monday", "Whit Monday"):
            assert day.weekday() == 0
        if name.startswith("Ascension Day"):
            assert day.weekday() == 3
        if name == "King's Day":
            assert day in (date(year, 4, 27), date(year, 4, 26))
            assert day.weekday() != 6  # never on a Sunday

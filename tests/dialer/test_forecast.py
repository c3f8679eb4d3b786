"""Time to exhaust a campaign's list at the current pace, within its calling windows."""

from datetime import date, datetime, timedelta, timezone

import pytest

from outbound_campaign.dialer.forecast import (
    BEYOND_HORIZON,
    NO_PACE,
    NOT_WITHIN_DATES,
    ON_PACE,
    Forecast,
    callable_time,
    exhaust,
    pace_per_hour,
)
from outbound_campaign.dialer.schedule import CallingWindow

WEEKDAYS = frozenset(range(5))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def london_office(**kwargs) -> CallingWindow:
    """Mon–Fri 10:00–15:00, London (UTC in winter), legal hours on."""
    values = {"tz": "Europe/London", "daily_window": True, "hour_start": 10.0, "hour_end": 15.0}
    values["weekdays"] = WEEKDAYS
    return CallingWindow(**(values | kwargs))


ALWAYS = CallingWindow(tz="UTC", legal_hours=None)

# 2025-01-06 is a Monday.


def test_callable_time_counts_only_the_window():
    window = london_office()
    # Monday 09:00 → 16:00: the window is 10:00–15:00
    assert callable_time(utc(2025, 1, 6, 9), utc(2025, 1, 6, 16), window) == timedelta(hours=5)
    # Friday 14:00 → Monday 11:00: one hour on Friday, one on Monday, nothing at the weekend
    assert callable_time(utc(2025, 1, 10, 14), utc(2025, 1, 13, 11), window) == timedelta(hours=2)
    assert callable_time(utc(2025, 1, 11, 10), utc(2025, 1, 12, 23), window) == timedelta()


def test_callable_time_follows_the_clock_across_dst():
    # Paris 09:00–10:00 on the spring-forward Sunday (2025-03-30) and the day before: one hour each
    window = CallingWindow(tz="Europe/Paris", daily_window=True, hour_start=9.0, hour_end=10.0)
    assert callable_time(utc(2025, 3, 29, 0), utc(2025, 3, 31, 0), window) == timedelta(hours=2)


def test_pace_is_per_hour_of_calling_time():
    window = london_office()
    # 30 contacts closed over the last 30 minutes, all inside the window: 60 an hour
    assert pace_per_hour(30, utc(2025, 1, 6, 12), window) == pytest.approx(60.0)
    # the window opened 10 minutes ago: 10 contacts in 10 callable minutes is 60 an hour too
    assert pace_per_hour(10, utc(2025, 1, 6, 10, 10), window) == pytest.approx(60.0)


def test_no_pace_without_closed_contacts_or_calling_time():
    window = london_office()
    assert pace_per_hour(0, utc(2025, 1, 6, 12), window) == 0.0
    # Saturday: nothing could be called over the last 30 minutes
    assert pace_per_hour(5, utc(2025, 1, 11, 12), window) == 0.0
    assert exhaust(utc(2025, 1, 6, 12), 100, 0.0, window) == Forecast(NO_PACE)


def test_exhausts_within_today_s_window():
    # 120 contacts at 60 an hour from Monday 12:00: two hours, 14:00
    assert exhaust(utc(2025, 1, 6, 12), 120, 60.0, london_office()) == Forecast(ON_PACE, utc(2025, 1, 6, 14))


def test_exhausts_across_nights_and_weekends():
    # Friday 14:00, 360 contacts at 60 an hour = 6 hours: 1 h on Friday, 5 h on Monday 10:00–15:00
    assert exhaust(utc(2025, 1, 10, 14), 360, 60.0, london_office()) == Forecast(
        ON_PACE, utc(2025, 1, 13, 15)
    )
    # Saturday night, closed: 90 contacts = 1.5 h from Monday's opening
    assert exhaust(utc(2025, 1, 11, 23), 90, 60.0, london_office()) == Forecast(
        ON_PACE, utc(2025, 1, 13, 11, 30)
    )


def test_legal_hours_cut_an_always_open_campaign():
    # no daily window, legal hours 08:00–21:00: 13 callable hours a day
    window = CallingWindow(tz="UTC")
    assert exhaust(utc(2025, 1, 6, 20), 14 * 60, 60.0, window) == Forecast(ON_PACE, utc(2025, 1, 7, 21))


def test_nothing_left_is_exhausted_now():
    assert exhaust(utc(2025, 1, 6, 12), 0, 0.0, london_office()) == Forecast(ON_PACE, utc(2025, 1, 6, 12))


def test_end_date_before_the_list_runs_out():
    window = london_office(date_end=date(2025, 1, 7))
    # 10 hours needed, Monday 12:00: 3 h on Monday, 5 h on Tuesday, then the campaign ends
    assert exhaust(utc(2025, 1, 6, 12), 600, 60.0, window) == Forecast(NOT_WITHIN_DATES)
    assert exhaust(utc(2025, 1, 6, 12), 420, 60.0, window) == Forecast(ON_PACE, utc(2025, 1, 7, 14))


def test_beyond_a_year_is_not_a_date():
    assert exhaust(utc(2025, 1, 6), 1_000_000, 60.0, ALWAYS) == Forecast(BEYOND_HORIZON)
    # one contact a day in an always-open window: 300 days
    assert exhaust(utc(2025, 1, 6), 300, 1 / 24, ALWAYS) == Forecast(ON_PACE, utc(2025, 11, 2))


def test_times_must_be_aware():
    with pytest.raises(ValueError):
        exhaust(datetime(2025, 1, 6, 12), 10, 60.0, london_office())


def test_long_lists_skip_whole_weeks_exactly():
    # 25 callable hours a week; 50 weeks of them from Monday 2025-01-06 10:00 end on the 50th
    # week's Friday at 15:00 (London is back on UTC in December; British Summer Time between
    # changes the UTC instants, not the hours called)
    window = london_office()
    assert exhaust(utc(2025, 1, 6, 10), 50 * 25 * 60, 60.0, window) == Forecast(
        ON_PACE, utc(2025, 12, 19, 15)
    )
    # in summer the same wall-clock end is an hour earlier in UTC
    assert exhaust(utc(2025, 1, 6, 10), 25 * 25 * 60, 60.0, window) == Forecast(ON_PACE, utc(2025, 6, 27, 14))


@pytest.mark.parametrize(
    "start", [utc(2025, 1, 6, 10), utc(2025, 1, 8, 13, 17), utc(2025, 1, 11, 9), utc(2025, 1, 10, 16)]
)
@pytest.mark.parametrize("hours", [0.5, 24.0, 25.0, 26.5, 49.99, 50.0, 50.01, 137.25, 250.0])
def test_skipping_weeks_lands_where_walking_does(start, hours):
    # A window with an end date is walked day by day: both must agree, whatever the start and
    # whether the list needs whole weeks (25 callable hours each) or a part of one more.
    walked = london_office(date_end=date(2026, 12, 31))
    contacts = round(hours * 60)
    assert exhaust(start, contacts, 60.0, london_office()) == exhaust(start, contacts, 60.0, walked)

"""Calling windows: dates, daily hours, weekdays, legal hours, time zones and DST."""

from datetime import date, datetime, timezone

import pytest

from outbound_campaign.dialer.schedule import (
    CLOSED_DAY,
    ENDED,
    NEVER,
    NOT_STARTED,
    OPEN,
    OUTSIDE_HOURS,
    CallingWindow,
    WindowStatus,
    contact_zones,
    is_callable,
    is_zone,
    next_callable_at,
    window_status,
)

WEEKDAYS = frozenset(range(5))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def paris_office(**kwargs) -> CallingWindow:
    """Mon–Fri 09:30–17:00 (winter: UTC+1, summer: UTC+2)."""
    values = {"tz": "Europe/Paris", "daily_window": True, "hour_start": 9.5, "hour_end": 17.0}
    values["weekdays"] = WEEKDAYS
    return CallingWindow(**(values | kwargs))


# --- time zone of the called party --------------------------------------------------------------


def test_zone_from_the_number_when_its_region_has_one():
    assert contact_zones("+33123456789", None, "UTC") == ("Europe/Paris",)
    assert contact_zones("+12015550123", None, "Europe/Paris") == ("America/New_York",)
    assert contact_zones("+14155550123", None, "Europe/Paris") == ("America/Los_Angeles",)


def test_defect_d_the_contacts_own_zone_wins_over_its_number():
    assert contact_zones("+12125550100", "America/Los_Angeles", "Europe/Paris") == ("America/Los_Angeles",)
    assert contact_zones("+33123456789", "Asia/Tokyo", "UTC") == ("Asia/Tokyo",)
    # a +1 212 contact living in Los Angeles, at 05:05 its time (08:05 in New York)
    assert not is_callable(utc(2025, 1, 6, 13, 5), CallingWindow(tz="Europe/Paris"), "America/Los_Angeles")


def test_defect_d_a_number_spanning_several_zones_needs_hours_in_all():
    # a Russian mobile: 16 zones, Bucharest (UTC+2) to Anadyr (UTC+12)
    russian = contact_zones("+79161234567", None, "Europe/Paris")
    assert len(russian) == 16 and {"Europe/Moscow", "Asia/Anadyr"} <= set(russian)
    assert contact_zones("+79161234567", "Europe/Moscow", "UTC") == ("Europe/Moscow",)
    # +1 800 rings anywhere in the NANP: from Guam (UTC+10) to Newfoundland (UTC-3:30) and Adak
    toll_free = contact_zones("+18005550199", None, "Europe/Paris")
    assert {"America/New_York", "America/Los_Angeles", "America/St_Johns", "Pacific/Guam"} <= set(toll_free)
    window = CallingWindow(tz="Europe/Paris")
    monday_afternoon = utc(2025, 1, 6, 13, 5)  # 08:05 in New York, 03:05 in Guam
    assert not is_callable(monday_afternoon, window, toll_free)
    # all within 08:00–21:00 once Guam reaches 08:00 (22:00 UTC), until St John's reaches 21:00
    assert next_callable_at(monday_afternoon, window, toll_free) == utc(2025, 1, 6, 22, 0)
    assert is_callable(utc(2025, 1, 7, 0, 29), window, toll_free)
    assert next_callable_at(utc(2025, 1, 7, 0, 30), window, toll_free) == utc(2025, 1, 7, 22, 0)


def test_defect_d_zones_whose_windows_never_overlap_are_never_callable():
    office = paris_office(hour_start=9.0, hour_end=17.0, weekdays=frozenset(range(7)))
    russian = contact_zones("+79161234567", None, "Europe/Paris")
    assert next_callable_at(utc(2025, 1, 6, 13, 5), office, russian) is None
    assert next_callable_at(utc(2025, 1, 6, 13, 5), office, "Asia/Anadyr") is not None


def test_defect_d_a_zone_unknown_to_the_tz_database_is_ignored():
    assert not is_zone("Mars/Olympus_Mons") and not is_zone("") and is_zone("America/Los_Angeles")
    assert contact_zones("+12125550100", "Mars/Olympus_Mons", "Europe/Paris") == ("America/New_York",)


def test_campaign_zone_when_nothing_else_is_known():
    assert contact_zones("+15555550123", None, "Europe/Paris") == ("Europe/Paris",)  # Etc/Unknown
    assert contact_zones(None, "Not/AZone", "Europe/Paris") == ("Europe/Paris",)
    assert contact_zones("0123", None, "UTC") == ("UTC",)


# --- daily window, weekdays, legal hours --------------------------------------------------------


def test_inside_the_window_is_now():
    now = utc(2025, 1, 6, 10, 0)  # Monday 11:00 Paris
    assert next_callable_at(now, paris_office()) == now
    assert is_callable(now, paris_office())


def test_before_the_window_opens_at_its_start():
    assert next_callable_at(utc(2025, 1, 6, 7, 0), paris_office()) == utc(2025, 1, 6, 8, 30)


def test_end_is_excluded_and_the_next_day_follows():
    assert not is_callable(utc(2025, 1, 6, 16, 0), paris_office())  # 17:00 Paris
    assert next_callable_at(utc(2025, 1, 6, 16, 0), paris_office()) == utc(2025, 1, 7, 8, 30)


def test_friday_evening_goes_to_monday():
    assert next_callable_at(utc(2025, 1, 10, 17, 0), paris_office()) == utc(2025, 1, 13, 8, 30)


def test_contact_clock_not_campaign_clock():
    # 15:00 UTC: 16:00 in Paris (open), 10:00 in New York (open), 07:00 in Los Angeles (not yet)
    window = paris_office()
    now = utc(2025, 1, 6, 15, 0)
    assert is_callable(now, window, "America/New_York")
    assert next_callable_at(now, window, "America/Los_Angeles") == utc(2025, 1, 6, 17, 30)


def test_legal_hours_cap_the_daily_window():
    window = paris_office(hour_start=7.0, hour_end=23.0, weekdays=frozenset(range(7)))
    assert next_callable_at(utc(2025, 1, 6, 6, 0), window) == utc(2025, 1, 6, 7, 0)  # 08:00
    assert next_callable_at(utc(2025, 1, 6, 20, 0), window) == utc(2025, 1, 7, 7, 0)  # 21:00 → next day


def test_legal_hours_apply_without_a_daily_window():
    window = CallingWindow(tz="America/New_York")
    assert next_callable_at(utc(2025, 1, 6, 2, 0), window) == utc(2025, 1, 6, 13, 0)  # 08:00 EST
    assert is_callable(utc(2025, 1, 7, 1, 59), window)  # 20:59 EST
    assert not is_callable(utc(2025, 1, 7, 2, 0), window)  # 21:00 EST


def test_stricter_legal_hours_are_configurable():
    florida = CallingWindow(tz="America/New_York", legal_hours=(8.0, 20.0))
    assert not is_callable(utc(2025, 1, 7, 1, 0), florida)  # 20:00 EST


def test_without_any_limit_always_callable():
    window = CallingWindow(tz="UTC", legal_hours=None)
    assert is_callable(utc(2025, 1, 5, 3, 0), window)


def test_a_window_outside_legal_hours_is_never_open():
    window = paris_office(hour_start=21.5, hour_end=23.0)
    assert next_callable_at(utc(2025, 1, 6, 10, 0), window) is None
    assert window_status(utc(2025, 1, 6, 10, 0), window) == WindowStatus(False, None, NEVER)


def test_weekdays_without_daily_window():
    weekend = CallingWindow(tz="Europe/Paris", weekdays=frozenset({5, 6}))
    assert next_callable_at(utc(2025, 1, 8, 12, 0), weekend) == utc(2025, 1, 11, 7, 0)  # Sat 08:00


# --- campaign dates -----------------------------------------------------------------------------


def test_before_the_start_date():
    window = paris_office(date_start=date(2025, 2, 3))  # a Monday
    assert next_callable_at(utc(2025, 1, 6, 10, 0), window) == utc(2025, 2, 3, 8, 30)


def test_end_date_is_inclusive_then_never():
    window = paris_office(date_end=date(2025, 1, 10))  # a Friday
    assert is_callable(utc(2025, 1, 10, 15, 59), window)
    assert next_callable_at(utc(2025, 1, 10, 16, 0), window) is None
    assert next_callable_at(utc(2025, 1, 11, 0, 0), window) is None


def test_campaign_dates_in_campaign_zone_hours_in_contact_zone():
    # the campaign ends on Friday (Paris); a Los Angeles contact's Friday 09:00 is Saturday in Paris
    window = CallingWindow(tz="Europe/Paris", date_end=date(2025, 1, 10), legal_hours=(9.0, 21.0))
    assert next_callable_at(utc(2025, 1, 10, 15, 0), window, "America/Los_Angeles") == utc(2025, 1, 10, 17, 0)
    assert next_callable_at(utc(2025, 1, 10, 23, 30), window, "America/Los_Angeles") is None


def test_start_date_at_a_midnight_that_does_not_exist():
    # Santiago springs forward at 24:00: 2024-09-08 00:00 never shows; the day starts at 01:00 -03
    window = CallingWindow(tz="America/Santiago", date_start=date(2024, 9, 8), legal_hours=None)
    assert next_callable_at(utc(2024, 9, 1, 0, 0), window) == utc(2024, 9, 8, 4, 0)


# --- DST ----------------------------------------------------------------------------------------


def test_paris_spring_forward_morning():
    # 2025-03-30: 02:00 CET → 03:00 CEST. Saturday 21:00 CET → Sunday 08:00 CEST = 06:00 UTC
    window = CallingWindow(tz="Europe/Paris")
    assert next_callable_at(utc(2025, 3, 29, 20, 0), window) == utc(2025, 3, 30, 6, 0)


def test_paris_fall_back_morning():
    # 2025-10-26: 03:00 CEST → 02:00 CET. Saturday 21:00 CEST → Sunday 08:00 CET = 07:00 UTC
    window = CallingWindow(tz="Europe/Paris")
    assert next_callable_at(utc(2025, 10, 25, 19, 0), window) == utc(2025, 10, 26, 7, 0)


def test_new_york_spring_forward_day_has_23_hours():
    # 2025-03-09: Saturday 21:00 EST (02:00 UTC) → Sunday 08:00 EDT = 12:00 UTC, not 13:00
    window = CallingWindow(tz="America/New_York")
    assert next_callable_at(utc(2025, 3, 9, 2, 0), window) == utc(2025, 3, 9, 12, 0)


def test_new_york_fall_back_day_has_25_hours():
    # 2025-11-02: Saturday 21:00 EDT (01:00 UTC) → Sunday 08:00 EST = 13:00 UTC
    window = CallingWindow(tz="America/New_York")
    assert next_callable_at(utc(2025, 11, 2, 1, 0), window) == utc(2025, 11, 2, 13, 0)


def test_window_starting_in_the_spring_gap_opens_when_the_clock_jumps():
    # Paris 2024-03-31: 02:30 never shows; at 01:00 UTC the clock jumps from 02:00 to 03:00
    window = CallingWindow(
        tz="Europe/Paris", daily_window=True, hour_start=2.5, hour_end=4.0, legal_hours=None
    )
    assert next_callable_at(utc(2024, 3, 31, 0, 30), window) == utc(2024, 3, 31, 1, 0)
    assert is_callable(utc(2024, 3, 31, 1, 0), window)  # 03:00 CEST
    assert not is_callable(utc(2024, 3, 31, 2, 0), window)  # 04:00 CEST


def test_window_entirely_in_the_spring_gap_skips_that_day():
    window = CallingWindow(
        tz="Europe/Paris", daily_window=True, hour_start=2.0, hour_end=2.75, legal_hours=None
    )
    assert next_callable_at(utc(2024, 3, 30, 23, 0), window) == utc(2024, 4, 1, 0, 0)  # 02:00 CEST


def test_repeated_autumn_hour_is_in_the_window_on_both_passes():
    # Paris 2024-10-27: 02:00–03:00 runs twice, CEST (00:00–01:00 UTC) then CET (01:00–02:00 UTC)
    window = CallingWindow(
        tz="Europe/Paris", daily_window=True, hour_start=1.0, hour_end=2.5, legal_hours=None
    )
    assert is_callable(utc(2024, 10, 27, 0, 15), window)  # 02:15 CEST
    assert not is_callable(utc(2024, 10, 27, 0, 40), window)  # 02:40 CEST
    assert next_callable_at(utc(2024, 10, 27, 0, 45), window) == utc(2024, 10, 27, 1, 0)  # 02:00 CET
    assert is_callable(utc(2024, 10, 27, 1, 10), window)  # 02:10 CET
    assert next_callable_at(utc(2024, 10, 27, 1, 30), window) == utc(2024, 10, 28, 0, 0)  # 01:00 CET


def test_window_starting_in_the_repeated_hour_opens_on_its_first_pass():
    window = CallingWindow(
        tz="Europe/Paris", daily_window=True, hour_start=2.5, hour_end=6.0, legal_hours=None
    )
    assert next_callable_at(utc(2024, 10, 26, 22, 0), window) == utc(2024, 10, 27, 0, 30)  # 02:30 CEST


# --- campaign-level status ----------------------------------------------------------------------


def test_window_status_for_the_dashboard():
    window = paris_office(date_start=date(2025, 1, 6), date_end=date(2025, 1, 31))
    assert window_status(utc(2025, 1, 6, 10, 0), window) == WindowStatus(True, None, OPEN)
    assert window_status(utc(2025, 1, 6, 17, 0), window) == WindowStatus(
        False, utc(2025, 1, 7, 8, 30), OUTSIDE_HOURS
    )
    assert window_status(utc(2025, 1, 11, 10, 0), window) == WindowStatus(
        False, utc(2025, 1, 13, 8, 30), CLOSED_DAY
    )
    assert window_status(utc(2025, 1, 2, 10, 0), window) == WindowStatus(
        False, utc(2025, 1, 6, 8, 30), NOT_STARTED
    )
    assert window_status(utc(2025, 2, 1, 10, 0), window) == WindowStatus(False, None, ENDED)


# --- refusals -----------------------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_callable_at(datetime(2025, 1, 6, 10, 0), paris_office())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weekdays": frozenset()},
        {"weekdays": frozenset({7})},
        {"hour_start": 17.0, "hour_end": 9.0},
        {"hour_start": 9.0, "hour_end": 25.0},
        {"date_start": date(2025, 2, 1), "date_end": date(2025, 1, 1)},
        {"tz": "Mars/Olympus"},
        {"legal_hours": (21.0, 8.0)},
    ],
)
def test_impossible_windows_are_refused(kwargs):
    with pytest.raises(ValueError):
        paris_office(**kwargs)

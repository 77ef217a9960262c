"""Quiet hours: parsing, quiet_at, and next_allowed across midnight and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from callcenter.callbacks.numbers import CallbackError
from callcenter.callbacks.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours, parse_quiet_hours
from tests.support.wall_clock import BERLIN, HOUR, LONDON, MON, SH, TUE, at, utc


def error_of(call: object) -> CallbackError:
    assert callable(call)
    with pytest.raises(CallbackError) as caught:
        call()
    return caught.value


# -- parsing quiet hours -----------------------------------------------------------------


def test_the_default_quiet_hours_are_lunch_and_night() -> None:
    assert parse_quiet_hours("12:00-14:00,21:00-09:00") == DEFAULT_QUIET_HOURS
    assert DEFAULT_QUIET_HOURS.windows == ((time(12), time(14)), (time(21), time(9)))
    assert DEFAULT_QUIET_HOURS.spec() == "12:00-14:00,21:00-09:00"


def test_spaces_seconds_single_digit_hours_and_an_end_at_24_00_parse() -> None:
    quiet = parse_quiet_hours(" 9:00 - 9:30:15 , 22:00-24:00 ,")
    assert quiet.windows == ((time(9), time(9, 30, 15)), (time(22), time(0)))
    assert quiet.spec() == "09:00-09:30:15,22:00-00:00"
    assert parse_quiet_hours(quiet.spec()) == quiet


def test_none_means_no_quiet_hours() -> None:
    quiet = parse_quiet_hours(" None ")
    assert quiet.windows == ()
    assert quiet.spec() == "none"
    assert not quiet.quiet_at(at(MON, "03:00"), SH)
    assert quiet.next_allowed(at(MON, "03:00"), SH) == at(MON, "03:00")


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "write 'none'"),
        (" , ", "write 'none'"),
        ("12:00", "expected HH:MM-HH:MM"),
        ("12-14", "times must be HH:MM"),
        ("1200-1400", "times must be HH:MM"),
        ("noon-14:00", "times must be HH:MM"),
        ("12:00-", "times must be HH:MM"),
        ("25:00-26:00", "not a time of day"),
        ("12:60-13:00", "not a time of day"),
        ("24:00-09:00", "not a time of day"),  # 24:00 only ends a window
        ("12:00-12:00", "must differ"),
        ("12:00+08:00-14:00+08:00", "without a UTC offset"),
        ("21:00-09:00Z", "without a UTC offset"),
        ("12:00-14:00-05:00", "without a UTC offset"),
        ("T12:00-14:00", "times must be HH:MM"),
    ],
)
def test_bad_quiet_hours_are_refused_naming_the_window(spec: str, says: str) -> None:
    err = error_of(lambda: parse_quiet_hours(spec))
    assert err.error_id == "quiet-hours-invalid"
    assert says in str(err)


@pytest.mark.parametrize(
    "spec",
    [
        "00:00-12:00,12:00-24:00",
        "21:00-09:00,09:00-21:00",
        "08:00-07:00,06:00-09:00",
        "00:00-00:01,00:01-00:00",
        "10:00-14:00,20:00-11:00,13:00-21:00",
    ],
)
def test_quiet_hours_covering_the_whole_day_are_refused(spec: str) -> None:
    err = error_of(lambda: parse_quiet_hours(spec))
    assert err.error_id == "quiet-hours-cover-the-day"


def test_a_whole_day_configuration_built_directly_fails_in_next_allowed() -> None:
    quiet = QuietHours(((time(0), time(12)), (time(12), time(0))))
    assert quiet.covers_the_day()
    assert quiet.quiet_at(at(MON, "15:00"), SH)
    err = error_of(lambda: quiet.next_allowed(at(MON, "15:00"), SH))
    assert err.error_id == "quiet-hours-cover-the-day"
    # A single window whose end equals its start runs all the way round.
    assert QuietHours(((time(8), time(8)),)).covers_the_day()


def test_a_one_minute_gap_is_not_the_whole_day() -> None:
    quiet = parse_quiet_hours("00:00-12:00,12:01-00:00")
    assert not quiet.covers_the_day()
    assert quiet.next_allowed(at(MON, "08:00"), SH) == at(MON, "12:00")
    assert quiet.next_allowed(at(MON, "12:01"), SH) == at(TUE, "12:00")


# -- quiet_at / next_allowed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("hh_mm", "quiet"),
    [
        ("20:59", False),
        ("20:59:59", False),
        ("21:00", True),
        ("23:59", True),
        ("00:00", True),
        ("08:59", True),
        ("09:00", False),
        ("11:59", False),
        ("12:00", True),
        ("13:59", True),
        ("14:00", False),
    ],
)
def test_quiet_at_follows_the_local_wall_clock(hh_mm: str, quiet: bool) -> None:
    assert DEFAULT_QUIET_HOURS.quiet_at(at(MON, hh_mm), SH) is quiet


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(MON, "20:59"), at(MON, "20:59")),
        (at(MON, "21:00"), at(TUE, "09:00")),
        (at(MON, "23:30"), at(TUE, "09:00")),
        (at(TUE, "00:00"), at(TUE, "09:00")),
        (at(MON, "02:00"), at(MON, "09:00")),
        (at(MON, "08:59"), at(MON, "09:00")),
        (at(MON, "08:59:59") + 0.5, at(MON, "09:00")),
        (at(MON, "12:00"), at(MON, "14:00")),
        (at(MON, "12:30"), at(MON, "14:00")),
        (at(MON, "14:00"), at(MON, "14:00")),
        (at(MON, "10:00") + 0.25, at(MON, "10:00") + 0.25),
    ],
)
def test_next_allowed_is_the_end_of_the_window_across_midnight_and_at_lunch(
    now: float, expected: float
) -> None:
    assert DEFAULT_QUIET_HOURS.next_allowed(now, SH) == expected


def test_the_same_instant_is_quiet_in_shanghai_and_allowed_in_london() -> None:
    instant = at(MON, "23:00", SH)
    assert instant == at(MON, "15:00", LONDON)
    assert DEFAULT_QUIET_HOURS.quiet_at(instant, SH)
    assert not DEFAULT_QUIET_HOURS.quiet_at(instant, LONDON)
    assert DEFAULT_QUIET_HOURS.next_allowed(instant, LONDON) == instant
    assert DEFAULT_QUIET_HOURS.next_allowed(instant, SH) == at(TUE, "09:00", SH)
    # And the other way round: London's night is Shanghai's morning.
    morning = at(TUE, "10:00", SH)
    assert DEFAULT_QUIET_HOURS.quiet_at(morning, LONDON)
    assert DEFAULT_QUIET_HOURS.next_allowed(morning, LONDON) == at(TUE, "09:00", LONDON)


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    err = error_of(lambda: DEFAULT_QUIET_HOURS.quiet_at(at(MON, "10:00"), "Mars/Olympus"))
    assert err.error_id == "timezone-unknown"
    assert "'Mars/Olympus'" in str(err)


def test_the_spring_night_is_an_hour_shorter_in_berlin() -> None:
    # 2024-03-31 (last Sunday of March): 02:00 CET -> 03:00 CEST.
    start = at("2024-03-30", "21:00", BERLIN)
    end = DEFAULT_QUIET_HOURS.next_allowed(start, BERLIN)
    assert end == at("2024-03-31", "09:00", BERLIN)
    assert end == utc("2024-03-31", "07:00")
    assert end - start == 11 * HOUR
    assert DEFAULT_QUIET_HOURS.quiet_at(end - 1, BERLIN)


def test_the_autumn_night_is_an_hour_longer_in_berlin() -> None:
    # 2024-10-27 (last Sunday of October): 03:00 CEST -> 02:00 CET.
    start = at("2024-10-26", "21:00", BERLIN)
    end = DEFAULT_QUIET_HOURS.next_allowed(start, BERLIN)
    assert end == utc("2024-10-27", "08:00")
    assert end - start == 13 * HOUR


def test_a_window_ending_in_the_skipped_hour_ends_when_the_clocks_jump() -> None:
    quiet = parse_quiet_hours("00:00-02:30")
    # 01:30 CET; 02:30 does not exist that night, the first later wall time is 03:00 CEST.
    start = utc("2024-03-31", "00:30")
    assert quiet.quiet_at(start, BERLIN)
    end = quiet.next_allowed(start, BERLIN)
    assert end == utc("2024-03-31", "01:00")
    assert datetime.fromtimestamp(end, UTC).isoformat() == "2024-03-31T01:00:00+00:00"
    assert quiet.quiet_at(end - 1, BERLIN)
    assert not quiet.quiet_at(end, BERLIN)


def test_a_window_ending_in_the_repeated_hour_ends_at_its_next_occurrence() -> None:
    quiet = parse_quiet_hours("01:00-02:30")
    # 02:10 happens twice on 2024-10-27: first in CEST (00:10 UTC), then in CET (01:10 UTC).
    assert quiet.next_allowed(utc("2024-10-27", "00:10"), BERLIN) == utc("2024-10-27", "00:30")
    # The second 02:10 is quiet again by the wall clock, and ends at the second 02:30.
    assert quiet.quiet_at(utc("2024-10-27", "01:10"), BERLIN)
    assert quiet.next_allowed(utc("2024-10-27", "01:10"), BERLIN) == utc("2024-10-27", "01:30")


def test_a_day_whose_only_free_hour_is_skipped_moves_to_the_next_day() -> None:
    quiet = parse_quiet_hours("03:00-02:00")  # free 02:00-03:00 only
    start = at("2024-03-30", "21:00", BERLIN)
    assert quiet.next_allowed(start, BERLIN) == at("2024-04-01", "02:00", BERLIN)


@pytest.mark.parametrize(
    "spec",
    [
        "21:00-23:00,23:00-07:00,07:00-09:00",
        "07:00-09:00,23:00-07:00,21:00-23:00",
        "21:00-01:00,00:30-05:00,04:00-09:00",
    ],
)
def test_adjacent_and_overlapping_windows_chain(spec: str) -> None:
    quiet = parse_quiet_hours(spec)
    assert quiet.next_allowed(at(MON, "22:00"), SH) == at(TUE, "09:00")
    assert quiet.next_allowed(at(MON, "20:59"), SH) == at(MON, "20:59")


def test_overlapping_lunch_windows_end_at_the_later_end_in_any_order() -> None:
    for spec in ("12:00-14:00,13:00-15:00", "13:00-15:00,12:00-14:00"):
        assert parse_quiet_hours(spec).next_allowed(at(MON, "12:30"), SH) == at(MON, "15:00")

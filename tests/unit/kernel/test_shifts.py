"""Opening hours as shifts (callcenter/kernel/shifts.py): parsing, days, night shifts, zones.

Instants are built from local wall-clock times, so no test reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from callcenter.kernel.shifts import ALL_DAYS, HoursError, OpeningHours, Shift, parse_shifts

HANDBOOK = "A=09:00-17:00,B=12:00-20:00,C=20:00-22:00"

# 2024-01-15 is a Monday; the 15th..21st of January 2024 is Monday..Sunday.
DAY = {"mon": 15, "tue": 16, "wed": 17, "thu": 18, "fri": 19, "sat": 20, "sun": 21}


def at(day: str, hh_mm: str, tz: str = "UTC") -> float:
    """The epoch of a local wall-clock time in the week of 2024-01-15."""
    hour, minute = (int(x) for x in hh_mm.split(":"))
    return datetime(2024, 1, DAY[day], hour, minute, tzinfo=ZoneInfo(tz)).timestamp()


def hours(spec: str, tz: str = "UTC") -> OpeningHours:
    return OpeningHours(parse_shifts(spec), timezone=tz)


# -- parsing -----------------------------------------------------------------------------


def test_the_handbook_example_parses_into_three_shifts_on_every_day() -> None:
    assert parse_shifts(HANDBOOK) == (
        Shift("A", time(9, 0), time(17, 0), ALL_DAYS),
        Shift("B", time(12, 0), time(20, 0), ALL_DAYS),
        Shift("C", time(20, 0), time(22, 0), ALL_DAYS),
    )
    assert ALL_DAYS == frozenset(range(7))


def test_spaces_around_parts_names_and_times_are_ignored() -> None:
    shifts = parse_shifts(" A = 09:00 - 17:00 ,  B=12:00-20:00 ")
    assert [(s.name, s.start, s.end) for s in shifts] == [
        ("A", time(9), time(17)),
        ("B", time(12), time(20)),
    ]


@pytest.mark.parametrize("spec", ["", "   ", ",", " , ,"])
def test_an_empty_spec_has_no_shifts(spec: str) -> None:
    assert parse_shifts(spec) == ()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat+sun", {5, 6}),
        ("wed", {2}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sun-mon", {6, 0}),
        ("mon-fri+sun", {0, 1, 2, 3, 4, 6}),
        ("MON-Fri", {0, 1, 2, 3, 4}),
        ("mon-sun", set(range(7))),
        ("tue+tue", {1}),
    ],
)
def test_day_rules(days: str, expected: set[int]) -> None:
    (shift,) = parse_shifts(f"A=09:00-17:00@{days}")
    assert shift.days == frozenset(expected)


def test_each_shift_has_its_own_days() -> None:
    a, b = parse_shifts("A=09:00-17:00@mon-fri,B=10:00-14:00@sat+sun")
    assert a.days == frozenset(range(5))
    assert b.days == frozenset({5, 6})


def test_a_night_shift_parses_with_its_end_before_its_start() -> None:
    (night,) = parse_shifts("N=22:00-06:00")
    assert (night.start, night.end) == (time(22), time(6))


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("A09:00-17:00", "expected NAME=HH:MM-HH:MM"),
        ("=09:00-17:00", "expected NAME=HH:MM-HH:MM"),
        ("A=9:00-17:00", "times must be HH:MM"),
        ("A=09:00", "times must be HH:MM"),
        ("A=09:00-", "times must be HH:MM"),
        ("A=-17:00", "times must be HH:MM"),
        ("A=25:00-26:00", "times must be HH:MM"),
        ("A=09:60-17:00", "times must be HH:MM"),
        ("A=nine-five", "times must be HH:MM"),
        ("A=09:00-09:00", "a start and a different end"),
        ("A=09:00-17:00@monday", "days are mon..sun"),
        ("A=09:00-17:00@mon+", "days are mon..sun"),
        ("A=09:00-17:00@mon-xyz", "days are mon..sun"),
        ("A=09:00-17:00@1-5", "days are mon..sun"),
    ],
)
def test_a_malformed_spec_says_what_is_wrong_and_where(spec: str, words: str) -> None:
    with pytest.raises(HoursError) as exc:
        parse_shifts(spec)
    message = str(exc.value)
    assert words in message
    assert repr(spec) in message
    assert exc.value.error_id == "hours-invalid"
    assert isinstance(exc.value, ValueError)


def test_one_bad_shift_among_good_ones_is_named_in_the_error() -> None:
    with pytest.raises(HoursError, match=r"'B=12:00-20:00@someday'"):
        parse_shifts("A=09:00-17:00,B=12:00-20:00@someday,C=20:00-22:00")


@pytest.mark.parametrize("spec", ["A=09:00-17:00-18:00", "A=09:00Z-17:00", "A=09:00+08:00-17:00"])
def test_a_time_with_a_utc_offset_is_refused(spec: str) -> None:
    with pytest.raises(HoursError):
        OpeningHours(parse_shifts(spec)).open_at(at("mon", "10:00"))


# -- open or closed -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hh_mm", "shift"),
    [
        ("00:00", None),
        ("08:59", None),
        ("09:00", "A"),
        ("11:59", "A"),
        ("12:00", "A"),  # A and B overlap: the first listed is named
        ("16:59", "A"),
        ("17:00", "B"),  # A's end is not part of A
        ("19:59", "B"),
        ("20:00", "C"),  # B hands over to C (on call from home)
        ("21:59", "C"),
        ("22:00", None),
        ("23:59", None),
    ],
)
def test_the_handbook_hours_through_a_day(hh_mm: str, shift: str | None) -> None:
    opening = hours(HANDBOOK)
    for day in DAY:
        epoch = at(day, hh_mm)
        assert opening.shift_at(epoch) == shift, (day, hh_mm)
        assert opening.open_at(epoch) is (shift is not None), (day, hh_mm)


def test_shift_at_names_the_first_listed_of_overlapping_shifts() -> None:
    assert hours("B=12:00-20:00,A=09:00-17:00").shift_at(at("mon", "13:00")) == "B"
    assert hours("A=09:00-17:00,B=12:00-20:00").shift_at(at("mon", "13:00")) == "A"


def test_weekday_shifts_are_closed_at_the_weekend() -> None:
    opening = hours("A=09:00-17:00@mon-fri")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        assert opening.open_at(at(day, "10:00")), day
    for day in ("sat", "sun"):
        assert not opening.open_at(at(day, "10:00")), day
        assert opening.shift_at(at(day, "10:00")) is None


def test_weekend_shifts_with_plus() -> None:
    opening = hours("W=10:00-16:00@sat+sun")
    assert [d for d in DAY if opening.open_at(at(d, "12:00"))] == ["sat", "sun"]


def test_a_day_range_that_wraps_round_the_week() -> None:
    opening = hours("A=09:00-17:00@fri-mon")
    assert [d for d in DAY if opening.open_at(at(d, "12:00"))] == ["mon", "fri", "sat", "sun"]


def test_shifts_with_different_days_combine() -> None:
    opening = hours("A=09:00-17:00@mon-fri,S=10:00-14:00@sat")
    assert opening.shift_at(at("fri", "16:00")) == "A"
    assert opening.shift_at(at("sat", "11:00")) == "S"
    assert opening.shift_at(at("sat", "16:00")) is None
    assert opening.shift_at(at("sun", "11:00")) is None


# -- night shifts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hh_mm", "is_open"),
    [
        ("mon", "21:59", False),
        ("mon", "22:00", True),
        ("mon", "23:59", True),
        ("tue", "00:00", True),
        ("tue", "05:59", True),
        ("tue", "06:00", False),
        ("tue", "12:00", False),
    ],
)
def test_a_night_shift_runs_past_midnight(day: str, hh_mm: str, is_open: bool) -> None:
    opening = hours("N=22:00-06:00")
    assert opening.open_at(at(day, hh_mm)) is is_open
    assert opening.shift_at(at(day, hh_mm)) == ("N" if is_open else None)


@pytest.mark.parametrize(
    ("day", "hh_mm", "is_open"),
    [
        ("thu", "23:00", False),  # Thursday's night is not a Friday shift
        ("fri", "03:00", False),  # the small hours of Friday belong to Thursday's night
        ("fri", "21:59", False),
        ("fri", "22:00", True),
        ("fri", "23:30", True),
        ("sat", "00:00", True),  # after midnight: still Friday's shift
        ("sat", "05:59", True),
        ("sat", "06:00", False),
        ("sat", "23:00", False),  # Saturday itself has no night shift
        ("sun", "03:00", False),
    ],
)
def test_the_part_after_midnight_follows_the_day_the_shift_started(
    day: str, hh_mm: str, is_open: bool
) -> None:
    assert hours("N=22:00-06:00@fri").open_at(at(day, hh_mm)) is is_open


def test_a_night_shift_on_sunday_ends_on_monday_morning() -> None:
    opening = hours("N=22:00-06:00@sun")
    assert opening.open_at(at("mon", "02:00"))  # Sunday's night: the week wraps
    assert not opening.open_at(at("sun", "02:00"))  # Saturday's night: not listed
    assert opening.open_at(at("sun", "22:30"))


def test_a_shift_ending_at_midnight() -> None:
    opening = hours("E=20:00-00:00")
    assert opening.open_at(at("mon", "20:00"))
    assert opening.open_at(at("mon", "23:59"))
    assert not opening.open_at(at("tue", "00:00"))
    assert not opening.open_at(at("tue", "19:59"))


def test_day_and_night_shifts_together() -> None:
    opening = hours("D=06:00-22:00@mon-fri,N=22:00-06:00@mon-fri")
    assert opening.shift_at(at("mon", "05:00")) is None  # Sunday night: not covered
    assert opening.shift_at(at("mon", "06:00")) == "D"
    assert opening.shift_at(at("mon", "22:00")) == "N"
    assert opening.shift_at(at("sat", "05:00")) == "N"  # Friday's night
    assert opening.shift_at(at("sat", "07:00")) is None


# -- time zones ---------------------------------------------------------------------------


def test_the_same_instant_is_open_in_shanghai_and_closed_in_new_york() -> None:
    instant = datetime(2024, 1, 15, 3, 0, tzinfo=UTC).timestamp()  # 11:00 CST, 22:00 EST Sun
    assert hours(HANDBOOK, "Asia/Shanghai").open_at(instant)
    assert hours(HANDBOOK, "Asia/Shanghai").shift_at(instant) == "A"
    assert not hours(HANDBOOK, "America/New_York").open_at(instant)
    assert hours(HANDBOOK, "America/New_York").shift_at(instant) is None
    assert not hours(HANDBOOK).open_at(instant)  # 03:00 UTC


def test_shift_times_are_local_times_of_the_center() -> None:
    shanghai = hours("A=09:00-17:00", "Asia/Shanghai")
    assert shanghai.open_at(at("mon", "09:00", "Asia/Shanghai"))
    assert not shanghai.open_at(at("mon", "08:59", "Asia/Shanghai"))
    assert shanghai.open_at(datetime(2024, 1, 15, 1, 0, tzinfo=UTC).timestamp())  # 09:00 CST
    assert not shanghai.open_at(datetime(2024, 1, 15, 9, 0, tzinfo=UTC).timestamp())  # 17:00


def test_days_are_local_days_of_the_center() -> None:
    spec = "A=06:00-23:30@mon-fri"
    shanghai, utc = hours(spec, "Asia/Shanghai"), hours(spec)
    sunday_night_utc = datetime(2024, 1, 21, 23, 0, tzinfo=UTC).timestamp()  # Mon 07:00 CST
    friday_night_utc = datetime(2024, 1, 19, 23, 0, tzinfo=UTC).timestamp()  # Sat 07:00 CST
    assert shanghai.open_at(sunday_night_utc)
    assert not utc.open_at(sunday_night_utc)
    assert not shanghai.open_at(friday_night_utc)
    assert utc.open_at(friday_night_utc)


def test_daylight_saving_time_moves_the_utc_opening() -> None:
    new_york = hours("A=09:00-17:00", "America/New_York")
    winter = datetime(2024, 1, 15, 13, 30, tzinfo=UTC).timestamp()  # 08:30 EST
    summer = datetime(2024, 7, 15, 13, 30, tzinfo=UTC).timestamp()  # 09:30 EDT
    assert not new_york.open_at(winter)
    assert new_york.open_at(summer)


# -- always open, in_shift ----------------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_no_shifts_means_always_open(tz: str) -> None:
    opening = hours("", tz)
    for day in DAY:
        for hh_mm in ("00:00", "03:17", "12:00", "23:59"):
            assert opening.open_at(at(day, hh_mm)), (day, hh_mm)
            assert opening.shift_at(at(day, hh_mm)) is None


def test_the_default_time_zone_is_utc() -> None:
    assert OpeningHours(()).timezone == "UTC"
    opening = OpeningHours(parse_shifts("A=09:00-17:00"))
    assert opening.open_at(datetime(2024, 1, 15, 9, 0, tzinfo=UTC).timestamp())
    assert not opening.open_at(datetime(2024, 1, 15, 8, 59, tzinfo=UTC).timestamp())


def test_in_shift_checks_only_the_named_shift() -> None:
    opening = hours(HANDBOOK, "Asia/Shanghai")
    ten = at("mon", "10:00", "Asia/Shanghai")
    eighteen = at("mon", "18:00", "Asia/Shanghai")
    assert opening.in_shift("A", ten)
    assert not opening.in_shift("B", ten)
    assert not opening.in_shift("A", eighteen)
    assert opening.in_shift("B", eighteen)
    # An agent with no shift, or one the hours do not know, is never held back.
    assert opening.in_shift(None, at("mon", "03:00", "Asia/Shanghai"))
    assert opening.in_shift("Z", at("mon", "03:00", "Asia/Shanghai"))


def test_shift_covers_a_local_datetime_directly() -> None:
    shift = Shift("N", time(22), time(6), frozenset({4}))
    tz = ZoneInfo("Asia/Shanghai")
    assert shift.covers(datetime(2024, 1, 19, 23, 0, tzinfo=tz))
    assert shift.covers(datetime(2024, 1, 20, 1, 0, tzinfo=tz))
    assert not shift.covers(datetime(2024, 1, 19, 1, 0, tzinfo=tz))

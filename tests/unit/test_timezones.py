from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tzlocal.windows_tz import win_tz

from shared.timezones import (
    LocalTimeOutOfRange,
    NoGraphTimeZone,
    NonexistentLocalTime,
    TimeZoneError,
    UnknownTimeZone,
    graph_time_zone,
    is_known_zone,
    to_utc,
    windows_to_iana,
)


@pytest.mark.parametrize(
    ("iana", "graph"),
    [
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("Europe/Amsterdam", "W. Europe Standard Time"),  # outside Graph's IANA list
        ("America/New_York", "Eastern Standard Time"),
        ("Asia/Kolkata", "India Standard Time"),
        ("Asia/Calcutta", "India Standard Time"),
        ("Asia/Kathmandu", "Nepal Standard Time"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT", "UTC"),
        ("GMT", "UTC"),  # not in CLDR's table: found through the zone data it shares with Etc/GMT
        ("Europe/Kyiv", "FLE Standard Time"),
    ],
)
def test_graph_time_zone(iana: str, graph: str) -> None:
    assert graph_time_zone(iana) == graph


def test_every_graph_name_is_a_windows_name() -> None:
    for iana in ("Europe/Berlin", "Europe/Amsterdam", "Asia/Kolkata", "America/Indiana/Indianapolis", "Etc/GMT+5"):
        assert graph_time_zone(iana) in win_tz


def test_unknown_zone_is_refused_in_plain_words() -> None:
    with pytest.raises(UnknownTimeZone, match=r"^'Mars/Olympus' is not an IANA time zone name; use a name such as"):
        graph_time_zone("Mars/Olympus")


def test_wrong_letter_case_names_the_right_spelling() -> None:
    with pytest.raises(UnknownTimeZone, match=r"names are case-sensitive: Europe/Berlin$"):
        graph_time_zone("europe/berlin")


def test_zone_without_windows_equivalent_is_refused() -> None:
    with pytest.raises(NoGraphTimeZone, match=r"^'Antarctica/Troll' has no Windows time zone equivalent"):
        graph_time_zone("Antarctica/Troll")


@pytest.mark.parametrize("name", ["Europe/Berlin", "Asia/Calcutta", "US/Eastern", "UTC", "Etc/GMT+5"])
def test_known_zones(name: str) -> None:
    assert is_known_zone(name)


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "localtime", "Factory", "europe/berlin", "../etc/passwd",
                                  "W. Europe Standard Time", "Europe/Berlin "])
def test_unknown_zones(name: str) -> None:
    assert not is_known_zone(name)


def test_windows_to_iana() -> None:
    assert windows_to_iana("W. Europe Standard Time") == "Europe/Berlin"
    assert windows_to_iana("India Standard Time") == "Asia/Calcutta"
    assert windows_to_iana("UTC") == "Etc/UTC"
    assert windows_to_iana("Europe/Amsterdam") == "Europe/Amsterdam"  # an IANA name passes through
    with pytest.raises(UnknownTimeZone):
        windows_to_iana("Mars Standard Time")


def test_to_utc_plain() -> None:
    assert to_utc(datetime(2027, 2, 15, 14, 0), "America/New_York") == datetime(2027, 2, 15, 19, 0, tzinfo=UTC)
    assert to_utc(datetime(2027, 5, 10, 10, 0), "Asia/Kolkata") == datetime(2027, 5, 10, 4, 30, tzinfo=UTC)


def test_ambiguous_time_takes_the_first_occurrence() -> None:
    # On 2027-10-31 Berlin's clocks go from 03:00 summer time back to 02:00: 02:30 happens twice.
    assert to_utc(datetime(2027, 10, 31, 2, 30), "Europe/Berlin") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert to_utc(datetime(2027, 10, 31, 2, 30, fold=1), "Europe/Berlin") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_time_in_the_gap_is_refused() -> None:
    with pytest.raises(NonexistentLocalTime, match=r"^2027-03-28T02:30 does not exist in Europe/Berlin: the clocks"):
        to_utc(datetime(2027, 3, 28, 2, 30), "Europe/Berlin")
    with pytest.raises(NonexistentLocalTime, match=r"^2027-03-14T02:00:30 does not exist in America/New_York"):
        to_utc(datetime(2027, 3, 14, 2, 0, 30), "America/New_York")


def test_edges_of_the_gap_exist() -> None:
    assert to_utc(datetime(2027, 3, 28, 1, 59), "Europe/Berlin") == datetime(2027, 3, 28, 0, 59, tzinfo=UTC)
    assert to_utc(datetime(2027, 3, 28, 3, 0), "Europe/Berlin") == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


def test_times_beyond_the_calendar_are_refused() -> None:
    with pytest.raises(LocalTimeOutOfRange):
        to_utc(datetime(9999, 12, 31, 23, 0), "America/New_York")
    with pytest.raises(LocalTimeOutOfRange):
        to_utc(datetime(1, 1, 1, 0, 0), "Asia/Tokyo")


def test_to_utc_refuses_unknown_zone() -> None:
    with pytest.raises(UnknownTimeZone):
        to_utc(datetime(2027, 1, 1), "Mars/Olympus")


def test_errors_are_value_errors() -> None:
    for error in (UnknownTimeZone, NoGraphTimeZone, NonexistentLocalTime, LocalTimeOutOfRange):
        assert issubclass(error, TimeZoneError)
        assert issubclass(error, ValueError)


def test_long_garbage_name_is_cut_short_in_the_message() -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        graph_time_zone("x" * 10_000)
    assert len(str(caught.value)) < 200

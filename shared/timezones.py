"""IANA time zones as the feed names them, and the names Microsoft Graph accepts for them.

Graph accepts every Windows time zone name but only one IANA name per Windows zone (the CLDR
"primary" name, territory 001). The mapping comes from the CLDR windowsZones table that tzlocal
ships, so it follows CLDR releases instead of a list kept by hand.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from tzlocal.windows_tz import tz_win, win_tz

# Graph's IANA list names the UTC zone "Etc/GMT", CLDR "Etc/UTC"; the Windows name suits both.
_UTC_WINDOWS = "UTC"
# Files in the zone database that are not places: a host's own setting and tzdata's placeholder.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


class TimeZoneError(ValueError):
    """A time zone name or a local time the product cannot use; the message is plain words."""


class UnknownTimeZone(TimeZoneError):
    """The name is not in the IANA time zone database."""


class NoGraphTimeZone(TimeZoneError):
    """An IANA zone without a Windows equivalent, so Microsoft Graph cannot be told about it."""


class NonexistentLocalTime(TimeZoneError):
    """A wall-clock time skipped by a daylight saving change (it never shows on a local clock)."""


class LocalTimeOutOfRange(TimeZoneError):
    """A wall-clock time whose UTC instant falls outside the years 1 to 9999."""


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def is_known_zone(name: str) -> bool:
    """True for a name in the IANA database (links such as Asia/Calcutta included).

    Checked against the database's list rather than by loading the name, because loading
    accepts names that only exist by accident of the host (case-insensitive file systems,
    "localtime").
    """
    return name in _known_zones()


def _require_known(iana: str) -> None:
    if is_known_zone(iana):
        return
    same_but_case = sorted(z for z in _known_zones() if z.lower() == iana.lower())
    if same_but_case:
        raise UnknownTimeZone(
            f"{_quoted(iana)} is not an IANA time zone name; names are case-sensitive: {same_but_case[0]}"
        )
    raise UnknownTimeZone(f"{_quoted(iana)} is not an IANA time zone name; use a name such as Europe/Berlin")


def _windows_name(iana: str) -> str | None:
    if iana and iana in tz_win:
        return tz_win[iana]
    return _windows_name_of_same_zone(iana)


def _windows_name_of_same_zone(iana: str) -> str | None:
    """CLDR lags behind IANA renames (Europe/Uzhgorod, GMT): a link has the same data as its target."""
    digest = _zone_digest(iana)
    if digest is None:
        return None
    candidates = _windows_names_by_digest().get(digest)
    return min(candidates) if candidates else None


def _zone_digest(iana: str) -> str | None:
    node = resources.files("tzdata.zoneinfo")
    try:
        for part in iana.split("/"):
            node = node.joinpath(part)
        return hashlib.sha256(node.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None


@cache
def _windows_names_by_digest() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for iana, windows in tz_win.items():
        digest = _zone_digest(iana) if iana else None
        if digest is not None:
            table.setdefault(digest, set()).add(windows)
    return table


def graph_time_zone(iana: str) -> str:
    """The time zone name to send to Microsoft Graph for an IANA name from the feed.

    Always the Windows name (Europe/Berlin and Europe/Amsterdam -> "W. Europe Standard Time");
    every zone that is UTC becomes "UTC". Graph accepts every Windows name but only some IANA
    names, and CLDR's primary IANA names include dozens outside Graph's list, so the Windows
    name is the one answer that is always accepted. Raises UnknownTimeZone or NoGraphTimeZone.
    """
    _require_known(iana)
    windows = _windows_name(iana)
    if windows is None:
        raise NoGraphTimeZone(
            f"{_quoted(iana)} has no Windows time zone equivalent, so Outlook cannot show it; "
            "use the zone of a nearby city instead (America/Chicago rather than CST6CDT)"
        )
    return windows


def windows_to_iana(name: str) -> str:
    """The IANA name for a time zone name read back from Graph (Windows or IANA)."""
    if name in win_tz:
        return win_tz[name]
    if is_known_zone(name):
        return name
    raise UnknownTimeZone(f"{_quoted(name)} is neither a Windows nor an IANA time zone name")


def to_utc(local: datetime, iana: str) -> datetime:
    """The UTC instant of a wall-clock time in an IANA zone.

    A time that occurs twice (clocks going back) means its first occurrence, the reading a
    person is most likely to intend; a time that never occurs (clocks going forward) is an
    error rather than a guess, because either neighbouring hour could be meant.
    """
    _require_known(iana)
    zone = zoneinfo.ZoneInfo(iana)
    wall = local.replace(tzinfo=None, fold=0)
    try:
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        round_trip = instant.astimezone(zone).replace(tzinfo=None)
    except OverflowError as exc:
        raise LocalTimeOutOfRange(
            f"{_show(wall)} in {iana} is outside the range of dates this product handles"
        ) from exc
    if round_trip != wall:
        raise NonexistentLocalTime(
            f"{_show(wall)} does not exist in {iana}: the clocks skip that time for daylight saving; "
            "use a time that shows on a local clock"
        )
    return instant


def _quoted(name: str) -> str:
    """A name from the feed, quoted and cut short so a garbage value cannot flood a report."""
    return repr(name if len(name) <= 80 else name[:79] + "…")


def _show(wall: datetime) -> str:
    return wall.isoformat(timespec="minutes" if wall.second == 0 else "seconds")

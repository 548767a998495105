"""Which time zone names Graph accepts in `dateTimeTimeZone`, and wall-clock <-> UTC conversion.

Graph takes Windows zone names and IANA names. How many IANA names it takes is a realism
switch: `lenient` accepts every IANA name the CLDR windowsZones table maps to a Windows zone;
`strict` accepts only the one primary IANA name per Windows zone, which is what the product
must cope with against the real service (e.g. `Europe/Amsterdam` must be sent as
`W. Europe Standard Time`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

ZoneMode = Literal["lenient", "strict"]

_WINDOWS = {name.lower(): name for name in win_tz}
_PRIMARY_IANA = {iana.lower(): iana for iana in win_tz.values()}
_ALL_IANA = {iana.lower(): iana for iana in tz_win}


class UnsupportedTimeZone(ValueError):
    """A zone name Graph would answer with TimeZoneNotSupportedException."""


@lru_cache(maxsize=512)
def _zone(iana: str) -> ZoneInfo:
    return ZoneInfo(iana)


def resolve(name: str, mode: ZoneMode = "lenient") -> ZoneInfo:
    """The zone behind a name Graph accepts, or UnsupportedTimeZone."""
    key = (name or "").strip().lower()
    iana: str | None
    if key in _WINDOWS:
        iana = win_tz[_WINDOWS[key]]
    elif mode == "strict":
        iana = _PRIMARY_IANA.get(key)
    else:
        iana = _ALL_IANA.get(key) or _PRIMARY_IANA.get(key)
    if iana is None:
        raise UnsupportedTimeZone(name)
    try:
        return _zone(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnsupportedTimeZone(name) from None


def parse_local(value: str) -> datetime:
    """A Graph `dateTime` string (up to seven fractional digits) as a naive wall-clock time."""
    text = (value or "").strip()
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:
        head, _, fraction = text.partition(".")
        text = head + "." + fraction[:6]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        raise ValueError("dateTime carries an offset; the zone belongs in timeZone")
    return moment


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def from_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def graph_datetime(local: datetime) -> str:
    """Graph's response form of a wall-clock time: seven fractional digits, no offset."""
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"

"""Dates for tests, counted from today, so no test depends on the calendar year it runs in.

Feeds carry local wall-clock times with a time zone; `local(days, "09:00")` is that text for
a day `days` from today. Expected UTC instants are worked out with zoneinfo (`utc_of`), not
with the product's own conversion, so the oracle stays independent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def today() -> date:
    return datetime.now(UTC).date()


def day(days: int) -> date:
    return today() + timedelta(days=days)


def local(days: int, clock: str = "09:00") -> str:
    """Local wall-clock text `YYYY-MM-DDTHH:MM:SS` for the day `days` from today."""
    return f"{day(days).isoformat()}T{clock}:00"


def moved(text: str, *, days: int = 0, clock: str | None = None) -> str:
    """The same local text `days` later, or at another time of day."""
    when = datetime.fromisoformat(text) + timedelta(days=days)
    return f"{when.date().isoformat()}T{clock + ':00' if clock else when.time().isoformat()}"


def utc_of(text: str, zone: str) -> datetime:
    """The UTC instant of a local wall-clock text in an IANA zone."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def zulu(text: str, zone: str) -> str:
    """`utc_of` as Graph-style text, `YYYY-MM-DDTHH:MM:SSZ`."""
    return utc_of(text, zone).strftime("%Y-%m-%dT%H:%M:%SZ")


def _transition(zone: str, *, forward: bool) -> tuple[datetime, timedelta]:
    """The next daylight-saving change of `zone` after today (its UTC instant, the clock jump)."""
    tz = ZoneInfo(zone)
    at = datetime.combine(day(1), datetime.min.time(), UTC)
    offset = at.astimezone(tz).utcoffset()
    for _ in range(24 * 400):
        later = at + timedelta(hours=1)
        new = later.astimezone(tz).utcoffset()
        assert offset is not None and new is not None
        if new != offset and (new > offset) == forward:
            return later, new - offset
        offset, at = new, later
    raise LookupError(f"{zone} has no daylight-saving change within 400 days")


def dst_gap(zone: str, minutes: int = 30) -> str:
    """Local text `minutes` into the next hour that does not exist in `zone` (clocks jump forward)."""
    instant, jump = _transition(zone, forward=True)
    first_after = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)  # e.g. 03:00, just after the jump
    return (first_after - jump + timedelta(minutes=minutes)).isoformat(timespec="minutes")


def dst_repeat(zone: str, minutes: int = 30) -> str:
    """Local text `minutes` into the next hour that happens twice in `zone` (clocks go back)."""
    instant, _jump = _transition(zone, forward=False)
    repeated = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)  # e.g. 02:00, the second time
    return (repeated + timedelta(minutes=minutes)).isoformat(timespec="minutes")

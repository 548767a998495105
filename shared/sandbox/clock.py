"""The sandbox's sense of time.

Every timestamp the sandbox writes (created, modified, received) and every rolling window it
enforces (requests per 10 minutes, messages per minute) reads this clock, so a time scale can
compress hours of Exchange behaviour into seconds of test time without touching callers.
Token lifetimes deliberately use the wall clock: the real clients cache tokens by wall time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, running `scale` times faster from the moment the scale was set."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        # One tuple, replaced whole, so readers on other threads never see half a change.
        self._anchor = (time.time(), time.monotonic(), scale)

    def set_scale(self, scale: float) -> None:
        """Change speed from now on; time already passed stays as it was."""
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._anchor = (self.timestamp(), time.monotonic(), scale)

    @property
    def scale(self) -> float:
        return self._anchor[2]

    def timestamp(self) -> float:
        wall, mono, scale = self._anchor
        return wall + (time.monotonic() - mono) * scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def ago(self, seconds: float) -> datetime:
        return self.now() - timedelta(seconds=seconds)


def graph_timestamp(moment: datetime) -> str:
    """Graph writes instants with seven fractional digits and a Z (e.g. createdDateTime)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def utc_iso(moment: datetime) -> str:
    """Seconds-precision ISO 8601 with Z, the form the inspection endpoints promise."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

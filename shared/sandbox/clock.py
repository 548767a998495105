"""The sandbox's sense of time.

Every timestamp the sandbox writes (created, modified, received) and every rolling window it
enforces (requests per 10 minutes, messages per minute) reads this clock, so a time scale can
later compress hours of Exchange behaviour into seconds of test time without touching callers.
Token lifetimes deliberately use the wall clock: the real clients cache tokens by wall time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, optionally running `scale` times faster from the moment it was made."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._scale = scale
        self._anchor_wall = time.time()
        self._anchor_mono = time.monotonic()

    @property
    def scale(self) -> float:
        return self._scale

    def timestamp(self) -> float:
        return self._anchor_wall + (time.monotonic() - self._anchor_mono) * self._scale

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

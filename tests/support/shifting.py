"""Session dates relative to today, and moving them, so no test depends on the year it runs in."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = "%Y-%m-%dT%H:%M:%S"


def today() -> date:
    return datetime.now(UTC).date()


def local_text(moment: datetime) -> str:
    return moment.strftime(LOCAL)


def utc_text(local: str, zone: str) -> str:
    """The UTC instant of a wall-clock time in `zone`, as the sandbox shows it (`...Z`)."""
    aware = datetime.strptime(local, LOCAL).replace(tzinfo=ZoneInfo(zone))
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rebased(feed: dict[str, Any], *, days_ahead: int = 30) -> dict[str, Any]:
    """A copy of `feed` with every session moved by whole days so the earliest is `days_ahead` from today.

    Times of day and the spacing between sessions are kept, so a feed written with example
    dates keeps its shape whatever the date it runs.
    """
    moved = copy.deepcopy(feed)
    activities = [a for o in moved["offerings"] for a in o["activities"]]
    earliest = min(datetime.strptime(a["start"], LOCAL).date() for a in activities)
    shift = timedelta(days=(today() + timedelta(days=days_ahead) - earliest).days)
    for act in activities:
        for field in ("start", "end"):
            act[field] = local_text(datetime.strptime(act[field], LOCAL) + shift)
    return moved


def shifted(local: str, **delta: float) -> str:
    """A wall-clock time moved by a timedelta's keywords (hours=1, days=-2)."""
    return local_text(datetime.strptime(local, LOCAL) + timedelta(**delta))

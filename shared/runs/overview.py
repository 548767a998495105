"""Per organizer: what waits to be sent, what went out in the last minute and day, and when the wait ends.

Shown by `learncal runs`, GET /api/runs and the run worker's log. What was sent comes from
the send log (the same per-minute buckets the pacing reads, so it counts every process's
sends). What waits is what the latest run left deferred; parked work is not known here.
The estimate assumes the budget is the only limit: the minute budget until the day's budget
is used up, then the day's budget frees up a day after those sends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store.sendlog import DAY_SECONDS, SendLog


@dataclass(frozen=True)
class OrganizerLoad:
    organizer: str
    queued: int
    sent_last_minute: int
    sent_last_day: int
    per_minute: int
    per_day: int
    parked: int | None
    empty_by: datetime | None  # None: nothing waits

    def to_json(self) -> dict[str, Any]:
        return {
            "organizer": self.organizer, "queued": self.queued,
            "sentLastMinute": self.sent_last_minute, "sentLastDay": self.sent_last_day,
            "budget": {"perMinute": self.per_minute, "perDay": self.per_day},
            "parked": self.parked, "emptyBy": self.empty_by.isoformat() if self.empty_by else None,
        }

    def line(self) -> str:
        wait = f"{self.queued} waiting, empty by {self.empty_by:%Y-%m-%d %H:%M} UTC" if self.empty_by \
            else "nothing waiting"
        parked = f", {self.parked} parked" if self.parked else ""
        return (f"{self.organizer}: {wait}{parked}; sent {self.sent_last_minute}/{self.per_minute} in the last "
                f"minute, {self.sent_last_day}/{self.per_day} in the last day")


def empty_by(queued: int, sent_last_day: int, per_minute: int, per_day: int, now: datetime) -> datetime | None:
    """When `queued` messages are sent at the budget's pace, starting now."""
    if queued <= 0:
        return None
    today = max(0, per_day - sent_last_day)
    if queued <= today:
        return now + timedelta(minutes=math.ceil(queued / per_minute))
    days = math.ceil((queued - today) / per_day)
    rest = queued - today - (days - 1) * per_day
    return now + timedelta(days=days, minutes=math.ceil(rest / per_minute))


def organizer_loads(organizers: Sequence[str], send_log: SendLog, recent_runs: Iterable[dict[str, Any]], *,
                    per_minute: int, per_day: int, now: datetime | None = None) -> list[OrganizerLoad]:
    now = now or datetime.now(UTC)
    stamp = now.timestamp()
    latest: dict[str, int] = {}
    for run in recent_runs:  # newest first: the latest finished real run of each organizer
        organizer = str(run.get("organizer") or "").lower()
        if organizer and organizer not in latest and not run.get("dryRun") and run.get("status") == "completed":
            latest[organizer] = int(run.get("left", run.get("deferred")) or 0)
    loads = []
    for organizer in organizers:
        buckets = send_log.load(organizer, stamp - DAY_SECONDS)
        minute = sum(b.count for b in buckets if b.minute >= int((stamp - 60) // 60))
        day = sum(b.count for b in buckets)
        queued = latest.get(organizer.lower(), 0)
        loads.append(OrganizerLoad(organizer, queued, minute, day, per_minute, per_day, None,
                                   empty_by(queued, day, per_minute, per_day, now)))
    return loads


def app_loads(app: Any, now: datetime | None = None) -> list[OrganizerLoad]:
    """The loads of the organizers in force for an installation (shared.bootstrap.App)."""
    from shared.store.sendlog import TableSendLog

    try:
        organizer = app.sync.organizer()
    except Exception:  # a provider configuration that cannot run still shows the environment's organizer
        organizer = app.settings.organizer
    organizers = [organizer] if organizer else []
    if not organizers:
        return []
    return organizer_loads(organizers, TableSendLog(app.tables), app.runs.recent(20),
                           per_minute=app.settings.send_per_minute, per_day=app.settings.send_per_day, now=now)

"""Per organizer: what waits to be sent, what went out in the last minute and day, and when the wait ends.

Shown by `learncal runs`, GET /api/runs and the run worker's log after each run. What waits
and what is parked comes from the work table (`WorkStore.summary`, the same figures as
`learncal queue show`); what was sent from the send log (the per-minute buckets the pacing
reads, so every process's sends count). An organizer in force with no rows in the work table
is shown too, with nothing waiting. The estimate assumes the budget is the only limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store.sendlog import DAY_SECONDS, SendLog


def minutes_to_empty(queued: int, sent_last_day: int, per_minute: int, per_day: int) -> float:
    """Minutes until `queued` messages are sent at the budget's pace, starting now."""
    if queued <= 0:
        return 0.0
    today = max(0, per_day - sent_last_day)
    if queued <= today:
        return queued / per_minute
    later = queued - today  # waits for the day's budget to come round again
    return math.ceil(later / per_day) * 1440.0 + min(later, per_day) / per_minute


def _load(organizer: str, queued: int, parked: int, send_log: SendLog, *, per_minute: int, per_day: int,
          now: datetime) -> dict[str, Any]:
    stamp = now.timestamp()
    buckets = send_log.load(organizer, stamp - DAY_SECONDS)
    minute = sum(b.count for b in buckets if (b.minute + 1) * 60 > stamp - 60)
    day = sum(b.count for b in buckets)
    minutes = minutes_to_empty(queued, day, per_minute, per_day)
    return {
        "organizer": organizer, "queued": queued, "parked": parked, "sentLastMinute": minute, "sentLastDay": day,
        "perMinute": per_minute, "perDay": per_day, "emptyInMinutes": minutes,
        "expectedEmptyAt": (now + timedelta(minutes=minutes)).isoformat() if minutes else None,
    }


def organizer_loads(organizers: Sequence[str], send_log: SendLog, *, per_minute: int, per_day: int,
                    work: list[dict[str, Any]] | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """`work`: WorkStore.summary() (organizers with rows in the work table); the organizers in force
    without rows are added with what the send log says they sent."""
    now = now or datetime.now(UTC)
    loads = {str(entry["organizer"]).lower(): entry for entry in work or []}
    for organizer in organizers:
        if organizer.lower() not in loads:
            loads[organizer.lower()] = _load(organizer, 0, 0, send_log, per_minute=per_minute, per_day=per_day,
                                             now=now)
    return sorted(loads.values(), key=lambda entry: str(entry["organizer"]).lower())


def line(load: dict[str, Any]) -> str:
    """One organizer's sending as one line of `learncal runs`."""
    queued, parked = int(load.get("queued") or 0), int(load.get("parked") or 0)
    wait = f"{queued} waiting, sent by {str(load['expectedEmptyAt'])[:16].replace('T', ' ')} UTC" \
        if queued and load.get("expectedEmptyAt") else "nothing waiting"
    parked_text = f", {parked} parked" if parked else ""
    return (f"{load['organizer']}: {wait}{parked_text}; sent {load.get('sentLastMinute', 0)}/"
            f"{load.get('perMinute')} in the last minute, {load.get('sentLastDay', 0)}/{load.get('perDay')} "
            "in the last day")


def app_loads(app: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The loads of an installation (shared.bootstrap.App): every organizer in force or with work."""
    from shared.queue.work import WorkStore
    from shared.store.sendlog import TableSendLog

    try:
        organizer = app.sync.organizer()
    except Exception:  # a provider configuration that cannot run still shows the environment's organizer
        organizer = app.settings.organizer
    organizers = list(getattr(app.settings, "organizers", ()) or ([organizer] if organizer else []))
    if organizer and organizer not in organizers:
        organizers.insert(0, organizer)
    send_log = TableSendLog(app.tables)
    per_minute, per_day = app.settings.send_per_minute, app.settings.send_per_day
    work = WorkStore(app.tables).summary(per_minute=per_minute, per_day=per_day, send_log=send_log,
                                         now=(now or datetime.now(UTC)).timestamp())
    return organizer_loads(organizers, send_log, per_minute=per_minute, per_day=per_day, work=work, now=now)

"""Is a run going for this organizer? A read-only look at the lease row the sync takes.

The admin API answers 409 instead of starting a second run. Taking the lease here just to
ask would make a timer run that starts at the same moment fail for nothing, so this only
reads the row that shared.store.lease writes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.store.lease import PARTITION, PLANNER
from shared.store.tables import Tables, key_part


def run_in_progress(tables: Tables, organizer: str | None, now: datetime | None = None) -> str | None:
    """A sentence saying which run holds the lease, or None when no run is going."""
    from azure.core.exceptions import ResourceNotFoundError

    if not organizer:
        return None
    try:
        row = tables["leases"].get_entity(PARTITION, key_part(organizer))
    except ResourceNotFoundError:
        return None
    expires = row.get("ExpiresAt")
    if not row.get("Holder") or not isinstance(expires, datetime) or expires <= (now or datetime.now(UTC)):
        return None
    started = row.get("StartedAt")
    since = f" since {started:%Y-%m-%d %H:%M:%S} UTC" if isinstance(started, datetime) else ""
    who = "" if organizer == PLANNER else f" for {organizer}"
    return (f"A sync run{who} is already in progress{since}; no second run was started. "
            "Try again when it has finished (GET /api/runs shows it).")

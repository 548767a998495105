"""Which organizers the open invitations came from, read from the mapping table's Organizer column.

Each invitation remembers the organizer that sent it, and its updates and cancellations go
through that organizer. So before the organizer changes (and when validating) the question is:
which other mailboxes still have invitations that may need an update or a cancellation?
Cancelled invitations and those of ended activities need neither, so they are not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.store.tables import Tables


@dataclass(frozen=True)
class OpenInvitations:
    by_organizer: dict[str, int]
    truncated: bool = False  # the scan stopped at its limit; counts are lower bounds

    @property
    def total(self) -> int:
        return sum(self.by_organizer.values())

    def other_than(self, *organizers: str | None) -> dict[str, int]:
        """Open invitations of mailboxes outside `organizers` (the pool in force)."""
        pool = {(o or "").lower() for o in organizers}
        return {o: n for o, n in self.by_organizer.items() if o not in pool}

    def describe(self, organizers: dict[str, int] | None = None) -> str:
        """`12 from a@x, 3 from b@y` (with "at least" when the scan was cut short)."""
        items = sorted((organizers if organizers is not None else self.by_organizer).items(), key=lambda i: -i[1])
        text = ", ".join(f"{n} from {o}" for o, n in items)
        return ("at least " + text) if self.truncated else text


def open_invitations(tables: Tables, *, now: datetime | None = None, limit: int = 50_000) -> OpenInvitations:
    """Count invitations that may still be updated or cancelled, per organizer (reads three columns only)."""
    now = now or datetime.now(UTC)
    counts: Counter[str] = Counter()
    seen = 0
    rows = tables["invitations"].list_entities(select=["Organizer", "State", "EndUtc"], results_per_page=1000)
    for entity in rows:
        seen += 1
        if seen > limit:
            return OpenInvitations(dict(counts), truncated=True)
        if entity.get("State") == "cancelled":
            continue
        end = entity.get("EndUtc")
        if isinstance(end, datetime) and end.astimezone(UTC) <= now:
            continue
        organizer = str(entity.get("Organizer") or "").lower()
        if organizer:
            counts[organizer] += 1
    return OpenInvitations(dict(counts))

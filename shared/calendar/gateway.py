"""The port through which the sync writes meetings; the planner and executor know nothing else of Graph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

# The single-value extended property that tags every event with its (offering, activity, person).
TAG_PROPERTY_ID = "String {8a3c2f4e-6b1d-4e7a-9c55-1f0b7d2e4a61} Name LearningCalendarSyncKey"


@dataclass(frozen=True)
class NewEvent:
    """Everything needed to create one invitation."""

    properties: dict[str, Any]  # subject, body, start, end, location (Graph JSON)
    attendee_email: str
    attendee_name: str | None
    tag: str
    transaction_id: str


@dataclass(frozen=True)
class TaggedEvent:
    event_id: str
    tag: str
    start_utc: str | None = None
    end_utc: str | None = None


class CalendarGateway(Protocol):
    async def create(self, organizer: str, event: NewEvent) -> str:
        """Create the meeting (which invites the attendee); returns the event id."""
        ...

    async def update(self, organizer: str, event_id: str, changes: dict[str, Any]) -> None:
        """PATCH only the given properties (the attendee receives an update)."""
        ...

    async def cancel(self, organizer: str, event_id: str, comment: str) -> None:
        """Cancel the meeting (the attendee receives a cancellation); an event already gone is fine."""
        ...

    async def find_by_tag(self, organizer: str, tag: str) -> list[str]:
        """Ids of the organizer's events carrying this tag (to resolve unknown create outcomes)."""
        ...

    def tagged_events(self, organizer: str) -> AsyncIterator[TaggedEvent]:
        """Every tagged event in the organizer's calendar (to rebuild a lost mapping)."""
        ...

    async def aclose(self) -> None: ...

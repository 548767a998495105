"""The port through which the sync writes meetings; the planner and executor know nothing else of Graph."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shared.errors import GraphError

# The single-value extended property that tags every event with its (offering, activity, person).
TAG_PROPERTY_ID = "String {8a3c2f4e-6b1d-4e7a-9c55-1f0b7d2e4a61} Name LearningCalendarSyncKey"
# What was last sent, as fingerprints (see `shared/sync/rebuild.py`): lets a lost mapping be rebuilt exactly.
STATE_PROPERTY_ID = "String {8a3c2f4e-6b1d-4e7a-9c55-1f0b7d2e4a61} Name LearningCalendarSyncState"

MAX_WRITES = 20  # Graph's JSON batch holds at most 20 requests


@dataclass(frozen=True)
class NewEvent:
    """Everything needed to create one invitation."""

    properties: dict[str, Any]  # subject, body, start, end, location (Graph JSON)
    attendee_email: str
    attendee_name: str | None
    tag: str
    transaction_id: str
    state: str | None = None  # the fingerprints stored on the event


@dataclass(frozen=True)
class CreateWrite:
    """Create the meeting (which invites the attendee). `look_first`: an earlier attempt's outcome
    is unknown, so the event is looked up by its tag before anything is created."""

    event: NewEvent
    look_first: bool = False


@dataclass(frozen=True)
class UpdateWrite:
    """PATCH only the given properties (the attendee receives an update)."""

    event_id: str
    changes: dict[str, Any]
    state: str | None = None


@dataclass(frozen=True)
class CancelWrite:
    """Cancel the meeting (the attendee receives a cancellation); an event already gone is fine.
    Without an event id, every live event carrying the tag is cancelled. `check_first`: an
    earlier attempt's outcome is unknown, so the event is read by id first and cancelled only
    if it is still there and not cancelled (a repeated cancel may send a second message)."""

    tag: str
    comment: str
    event_id: str | None = None
    check_first: bool = False


Write = CreateWrite | UpdateWrite | CancelWrite
WriteStatus = Literal["done", "failed", "unknown", "gone"]


@dataclass(frozen=True)
class WriteResult:
    """How one write ended.

    `unknown`: retries ran out (or the run's time did) while the outcome was unknown or the
    write was still throttled; the intent recorded before it lets the next run finish it.
    `gone`: an update found no event (deleted by hand in the organizer's mailbox): the
    person no longer has the meeting, so the executor sends a new invitation instead.
    `messages`: meeting messages this write may have caused in this run, so the sending
    budget is charged for what may have been sent and refunded for what surely was not.
    """

    status: WriteStatus
    event_id: str | None = None
    messages: int = 0
    error: GraphError | None = None
    adopted: bool = False  # create: an earlier attempt's event was found by its tag
    superseded: bool = False  # create: the transactionId belongs to an older, cancelled meeting


# Asked before a write sends a message beyond the one it was admitted for (a repeated PATCH
# whose first outcome is unknown, a duplicate to cancel); False means "not now".
ExtraMessage = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class TaggedEvent:
    event_id: str
    tag: str
    start_utc: str | None = None
    end_utc: str | None = None
    state: str | None = None


class CalendarGateway(Protocol):
    async def write(
        self, organizer: str, writes: Sequence[Write], *, extra_message: ExtraMessage | None = None,
        patience: float | None = None,
    ) -> list[WriteResult]:
        """Apply up to MAX_WRITES writes for one organizer (one JSON batch per round, retried per write).

        `patience`: seconds after which no retry is started; what is left ends `unknown`.
        """
        ...

    async def find_by_tag(self, organizer: str, tag: str) -> list[str]:
        """Ids of the organizer's live events whose tag is exactly this one (compared case-sensitively)."""
        ...

    def tagged_events(self, organizer: str) -> AsyncIterator[TaggedEvent]:
        """Every tagged event in the organizer's calendar (to rebuild a lost mapping)."""
        ...

    async def has_tagged_events(self, organizer: str) -> bool:
        """Whether the organizer's calendar holds any live tagged event; reads only until the first.

        Asked before the first create into an empty mapping: a calendar that already holds the
        sync's meetings means the mapping was lost, not that nothing was ever sent.
        """
        ...

    async def aclose(self) -> None: ...

"""Reading responses: an organizer's calendar view delta -> invitations -> the responses table.

Exchange records each attendee's answer on the organizer's event (`attendees[].status`:
response and time). One delta round per organizer reads the calendar view once in full (the
first read of a window) and afterwards only the events that changed since the stored
`@odata.deltaLink` (https://learn.microsoft.com/graph/delta-query-events), so after the first
full read the cost follows the changed events, not the invitations that exist. Reading sends no
message and never touches the mapping rows the sync writes under ETags: the responses have a
table of their own (shared/store/responses.py).

A change notification only says that something changed in the organizer's calendar; the queue
worker then reads the delta, which covers every change since the last read in one page. A
look-up of each notified event would cost a second request per response; the delta costs one
page per burst of changes. Notifications that arrive while a read is under way start another
read, those older than the last read's start are covered by it and cost nothing more.

The event id is matched to its invitation through the mapping rows of that organizer (one
query per read, only the columns needed, cached for a minute across the reads of a burst).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.errors import GraphError
from shared.responses.model import Window, attendee_answers, window_for
from shared.responses.state import CollectionState, DeltaRow
from shared.store.tables import Tables

if TYPE_CHECKING:
    from shared.responses.graph import CollectionGraph
    from shared.settings import Settings
    from shared.store.responses import ResponseRecord

log = logging.getLogger("learncal.responses")
INDEX_SECONDS = 60.0
# Within a burst of notifications only the last one's task reads; a steady stream is still read this often.
MAX_WAIT = timedelta(seconds=30)
# A delta link Graph no longer accepts: 410 Gone (syncStateNotFound / resyncRequired) or a token it cannot read.
_RESTART_STATUS = frozenset({400, 404, 410})


@dataclass(frozen=True)
class Invitation:
    offering_id: str
    activity_id: str
    email: str
    role: str
    end_utc: datetime | None
    live: bool


@dataclass
class EventIndex:
    """event id -> invitation, for one organizer, from the mapping rows."""

    by_event: dict[str, Invitation]
    last_end: datetime | None
    built: float = field(default_factory=time.monotonic)


class _IndexCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], EventIndex] = {}

    def get(self, tables: Tables, organizer: str, *, fresh: bool = False) -> EventIndex:
        key = (tables.prefix, organizer)
        with self._lock:
            found = self._entries.get(key)
        if found is not None and not fresh and time.monotonic() - found.built < INDEX_SECONDS:
            return found
        built = build_index(tables, organizer)
        with self._lock:
            self._entries[key] = built
        return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


INDEXES = _IndexCache()


def build_index(tables: Tables, organizer: str, *, now: datetime | None = None) -> EventIndex:
    """One query over the mapping for this organizer's rows (the columns needed only)."""
    now = now or datetime.now(UTC)
    rows = tables["invitations"].query_entities(
        "Organizer eq @o", parameters={"o": organizer.lower()}, results_per_page=1000,
        select=["OfferingId", "ActivityId", "Email", "Role", "State", "EventId", "EndUtc"],
    )
    found: dict[str, Invitation] = {}
    last_end: datetime | None = None
    for entity in rows:
        event_id = entity.get("EventId")
        if not event_id:
            continue
        end = _utc(entity.get("EndUtc"))
        live = entity.get("State") in ("pending", "live") and (end is None or end > now)
        if live and end is not None and (last_end is None or end > last_end):
            last_end = end
        found[str(event_id)] = Invitation(str(entity["OfferingId"]), str(entity["ActivityId"]),
                                          str(entity["Email"]).lower(), str(entity.get("Role") or "learner"), end, live)
    return EventIndex(found, last_end)


@dataclass
class ReadResult:
    organizer: str
    pages: int = 0
    events: int = 0
    recorded: int = 0
    changed: list[ResponseRecord] = field(default_factory=list)
    full_read: bool = False
    skipped: bool = False


class ResponseReader:
    """Reads one organizer's changes and records the responses they carry."""

    def __init__(
        self, settings: Settings, tables: Tables, graph: CollectionGraph, *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_changes: Callable[[Settings, list[ResponseRecord]], None] | None = None,
    ) -> None:
        self._settings = settings
        self._tables = tables
        self._graph = graph
        self._state = CollectionState(tables)
        self._clock = clock
        self._on_changes = on_changes

    async def read(self, organizer: str, *, unless_read_since: datetime | None = None) -> ReadResult:
        """The organizer's changes since the last read (a full read for a new window).

        `unless_read_since`: a notification's arrival time. Nothing is sent when a read that
        started after it already covered that change, or when a later notification arrived (its
        own task reads once the burst is over), unless the last read is older than MAX_WAIT.
        """
        organizer = organizer.lower()
        result = ReadResult(organizer)
        row = self._state.delta(organizer)
        if unless_read_since is not None and row is not None and row.link and self._covered(
                organizer, unless_read_since, _utc(row.read_at)):
            result.skipped = True
            return result
        now = self._clock()
        index = INDEXES.get(self._tables, organizer)
        link = row.link if row is not None else None
        window = Window(row.window_start, row.window_end) if row is not None else None
        if window is None or link is None or not window.covers(now, index.last_end):
            window, link = window_for(now, index.last_end), None
        events = await self._pages(organizer, window, link, now, result)
        self._record(organizer, events, index, now, result)
        log.info("read %s's calendar changes: %d page(s), %d changed event(s), %d response(s) changed%s", organizer,
                 result.pages, result.events, len(result.changed), " (a full read)" if result.full_read else "")
        return result

    def _covered(self, organizer: str, notified: datetime, last_read: datetime | None) -> bool:
        if last_read is not None and last_read >= notified:
            return True  # that read started after this notification: it saw the change
        later = _utc(self._state.last_notified(organizer))
        waited = self._clock() - last_read if last_read is not None else MAX_WAIT
        return later is not None and later > notified and waited < MAX_WAIT

    async def _pages(self, organizer: str, window: Window, link: str | None, now: datetime,
                     result: ReadResult) -> list[dict[str, Any]]:
        started = now  # stored when the read ends: a notification that arrived after this starts another read
        events: list[dict[str, Any]] = []
        delta_link: str | None = None
        try:
            async for page in self._graph.delta_pages(organizer, link=link, start=window.start, end=window.end):
                result.pages += 1
                events.extend(page.events)
                delta_link = page.delta_link or delta_link
        except GraphError as error:
            if link is None or error.status not in _RESTART_STATUS:
                raise
            log.info("the stored delta link for %s was not accepted (HTTP %s); a new round reads the calendar view "
                     "in full", organizer, error.status)
            return await self._pages(organizer, window, None, now, result)
        result.full_read = link is None
        previous = self._state.delta(organizer)
        full_read_at = self._clock() if link is None else (previous.full_read_at if previous else None)
        self._state.put_delta(DeltaRow(organizer, window.start, window.end, delta_link, started, full_read_at))
        result.events = len(events)
        return events

    def _record(self, organizer: str, events: list[dict[str, Any]], index: EventIndex, now: datetime,
                result: ReadResult) -> None:
        from shared.store.responses import ResponseRecord, ResponseStore

        records: list[ResponseRecord] = []
        unknown = [e for e in events if _answerable(e) and str(e["id"]) not in index.by_event]
        if unknown:  # invitations sent since the index was built
            index = INDEXES.get(self._tables, organizer, fresh=True)
        for event in events:
            if not _answerable(event):
                continue
            invitation = index.by_event.get(str(event["id"]))
            if invitation is None:
                continue  # not one of the product's invitations
            for answer in attendee_answers(event):
                if answer.email != invitation.email:
                    continue
                records.append(ResponseRecord(
                    offering_id=invitation.offering_id, activity_id=invitation.activity_id, email=invitation.email,
                    role=invitation.role, response=answer.response, responded_at=answer.responded_at,
                    organizer=organizer, event_id=str(event["id"]), recorded_at=now,
                ))
        if not records:
            return
        changed = ResponseStore(self._tables).record(records)
        result.recorded = len(records)
        result.changed = list(changed)
        if changed:
            log.info("%d response(s) changed in %s's calendar", len(changed), organizer)
            self._hooks(changed)

    def _hooks(self, changed: list[ResponseRecord]) -> None:
        try:
            if self._on_changes is not None:
                self._on_changes(self._settings, changed)
            else:
                from shared.responses.hooks import on_changes

                on_changes(self._settings, changed)
        except Exception:  # the hooks never fail the reading (they promise not to raise; this makes sure)
            log.warning("the response hooks failed; the responses are recorded", exc_info=True)


def _answerable(event: dict[str, Any]) -> bool:
    return bool(event.get("id")) and "@removed" not in event and not event.get("isCancelled")


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

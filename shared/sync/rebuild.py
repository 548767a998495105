"""Restores the mapping from the organizer's calendar after the table was lost or corrupted.

Every event the sync creates carries two extended properties: its tag (offering, activity,
person) and its state, the fingerprints of what was last sent (role, generation, key
fingerprint, one hash per owned property). The state is written with every create and
every update, so the calendar itself always says what the mapping should say, and a rebuilt
mapping lets the next run send nothing that was already sent.

Events that cannot be matched are reported, not guessed: an unreadable tag, or several
events for one tag (duplicates: the first listed is restored, all are named so an
administrator can remove the extra ones).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.calendar.gateway import CalendarGateway, TaggedEvent
from shared.domain import InvitationKey, Role
from shared.errors import RebuildBlocked, RunInProgress
from shared.planning.content import PROPERTIES
from shared.planning.sent import SentRecord
from shared.store.lease import LeaseStore
from shared.store.mapping import MappingStore
from shared.store.offerings import OfferingStore

STATE_VERSION = "s1"
_ROLES: tuple[Role, ...] = ("learner", "instructor")


def event_state(record: SentRecord) -> str:
    """The fingerprints stored on the event (about 160 characters; no personal data, no content)."""
    hashes = [record.hashes.get(name, "") for name in PROPERTIES]
    return ";".join([STATE_VERSION, record.role, str(record.generation), record.key_fp, *hashes])


@dataclass(frozen=True)
class EventState:
    role: Role
    generation: int
    key_fp: str
    hashes: dict[str, str]


def parse_state(text: str | None) -> EventState | None:
    parts = (text or "").split(";")
    if len(parts) != 4 + len(PROPERTIES) or parts[0] != STATE_VERSION or parts[1] not in _ROLES:
        return None
    try:
        generation = int(parts[2])
    except ValueError:
        return None
    role: Role = "instructor" if parts[1] == "instructor" else "learner"
    return EventState(role, generation, parts[3], dict(zip(PROPERTIES, parts[4:], strict=True)))


@dataclass
class RebuildReport:
    organizer: str
    restored: int = 0  # mapping rows written from events
    already: int = 0  # rows that already said exactly what the event says
    without_state: int = 0  # restored from the tag alone: the next run sends them an update
    unreadable: list[dict[str, str]] = field(default_factory=list)  # {eventId, reason}
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # {tag, eventIds, kept}
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "organizer": self.organizer, "restored": self.restored, "already": self.already,
            "withoutState": self.without_state, "unreadable": self.unreadable, "duplicates": self.duplicates,
            "dryRun": self.dry_run,
        }

    @property
    def exit_code(self) -> int:
        """0: everything matched; 2: rebuilt, but some events need an administrator's look."""
        return 2 if self.unreadable or self.duplicates else 0


class MappingRebuild:
    """Reads the organizer's calendar under the organizer's run lease, dry run or not.

    The lease keeps a sync run from writing the mapping while it is rebuilt, and keeps the
    rebuild's listing requests from joining a running sync's requests to the same mailbox
    (Graph allows four at a time per app and mailbox): while a run holds it, nothing is read.
    """

    def __init__(self, gateway_factory: Callable[[], CalendarGateway], mapping: MappingStore,
                 offerings: OfferingStore, leases: LeaseStore | None = None) -> None:
        self._gateway_factory = gateway_factory
        self._mapping = mapping
        self._offerings = offerings
        self._leases = leases

    def run(self, organizer: str, *, dry_run: bool = False) -> RebuildReport:
        if self._leases is None:
            return self._rebuild(organizer, dry_run)
        from shared.sync.lease_keeper import LEASE_SECONDS, LeaseKeeper  # the sync's own lease keeper

        try:
            lease = self._leases.acquire(organizer, seconds=LEASE_SECONDS)
        except RunInProgress:
            raise RebuildBlocked(
                f"A sync run for {organizer} is in progress, so the mapping was not rebuilt and its calendar was "
                "not read. Run `learncal mapping rebuild` again after the run has finished."
            ) from None
        keeper = LeaseKeeper(self._leases, lease)
        try:
            return self._rebuild(organizer, dry_run)
        finally:
            keeper.release()

    def _rebuild(self, organizer: str, dry_run: bool) -> RebuildReport:
        events = asyncio.run(self._collect(organizer))
        report = RebuildReport(organizer=organizer, dry_run=dry_run)
        by_key = self._group(events, report)
        existing = self._mapping.load(sorted({k.offering_id for k in by_key}))
        touched: set[str] = set()
        for key, found in by_key.items():
            record = _record(key, organizer, found[0])
            if record.key_fp == "":
                report.without_state += 1
            current = existing.get(key)
            if current is not None and _same(current, record):
                report.already += 1
                continue
            report.restored += 1
            touched.add(key.offering_id)
            if not dry_run:
                self._mapping.upsert(record)
        if not dry_run:
            self._unsettle(touched)
        return report

    async def _collect(self, organizer: str) -> list[TaggedEvent]:
        gateway = self._gateway_factory()
        try:
            return [event async for event in gateway.tagged_events(organizer)]
        finally:
            await gateway.aclose()

    @staticmethod
    def _group(events: list[TaggedEvent], report: RebuildReport) -> dict[InvitationKey, list[TaggedEvent]]:
        by_key: dict[InvitationKey, list[TaggedEvent]] = {}
        for event in events:
            key = InvitationKey.from_tag(event.tag)
            if key is None:
                report.unreadable.append({"eventId": event.event_id, "reason": f"unreadable tag {event.tag[:80]!r}"})
                continue
            by_key.setdefault(key, []).append(event)
        for key, found in by_key.items():
            if len(found) > 1:
                report.duplicates.append({"tag": key.tag(), "eventIds": [e.event_id for e in found],
                                          "kept": found[0].event_id})
        return by_key

    def _unsettle(self, offering_ids: set[str]) -> None:
        """Offerings whose rows changed are looked at again by the next run, whatever their digest."""
        for offering_id in sorted(offering_ids):
            state = self._offerings.get(offering_id)
            if state is not None and state.settled:
                self._offerings.save(state.but(settled=False))


def _record(key: InvitationKey, organizer: str, event: TaggedEvent) -> SentRecord:
    state = parse_state(event.state)
    return SentRecord(
        key=key, organizer=organizer.lower(), role=state.role if state else "learner", state="live",
        key_fp=state.key_fp if state else "", hashes=dict(state.hashes) if state else {},
        start_utc=_utc(event.start_utc), end_utc=_utc(event.end_utc), event_id=event.event_id,
        generation=state.generation if state else 0,
    )


def _same(current: SentRecord, rebuilt: SentRecord) -> bool:
    return (current.state == "live" and current.event_id == rebuilt.event_id and current.key_fp == rebuilt.key_fp
            and current.hashes == rebuilt.hashes and current.generation == rebuilt.generation)


def _utc(text: str | None) -> datetime | None:
    """Graph's UTC `dateTime` (seven fractional digits, no offset) as an aware datetime."""
    if not text:
        return None
    head, _, fraction = text.rstrip("Z").partition(".")
    try:
        moment = datetime.fromisoformat(head)
    except ValueError:
        return None
    micro = int((fraction + "000000")[:6]) if fraction.isdigit() else 0
    return moment.replace(microsecond=micro, tzinfo=UTC)

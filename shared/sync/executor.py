"""Applies a plan through the calendar gateway, recording each step in the mapping.

The order of writes per action is what makes crashes harmless:
- create: record `pending` (with the content about to be sent) -> create (deterministic
  transactionId) -> record `live`. A `pending` row found later means "outcome unknown": the
  event is looked up by its tag before anything is created again.
- cancel: record `cancelling` -> cancel -> record `cancelled`. A `cancelling` row is finished
  by the next run.
- update: PATCH -> record the new fingerprints. Repeating a PATCH is harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.calendar.gateway import CalendarGateway, NewEvent
from shared.domain import InvitationKey
from shared.errors import GraphError, SignInFailed
from shared.planning.plan import SENDING, Action, Cancel, Create, Remember, Update
from shared.planning.sent import SentRecord
from shared.store.mapping import ConcurrentChange, MappingStore
from shared.sync.pacing import Pacer

_TRANSACTION_NAMESPACE = uuid.UUID("0f6c7f0e-5a43-4b8e-8d3a-6c1b2f9e7a10")


def transaction_id(key: InvitationKey, generation: int) -> str:
    """The same invitation (and generation) always gets the same id, so Graph can drop a repeat."""
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, f"{key.tag()}#{generation}"))


@dataclass
class Failure:
    key: InvitationKey
    message: str


@dataclass
class Outcome:
    applied: list[Action] = field(default_factory=list)
    deferred: list[Action] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    records: dict[InvitationKey, SentRecord] = field(default_factory=dict)  # rows as they are now

    def count(self, kind: type) -> int:
        return sum(1 for a in self.applied if isinstance(a, kind))


class Executor:
    def __init__(
        self,
        gateway: CalendarGateway,
        mapping: MappingStore,
        pacer: Pacer,
        *,
        workers: int = 4,
        progress: Callable[[Action], None] | None = None,
    ) -> None:
        self._gateway = gateway
        self._mapping = mapping
        self._pacer = pacer
        self._workers = workers
        self._progress = progress

    async def run(self, actions: Sequence[Action]) -> Outcome:
        """Apply actions most urgent first; what the pacer cannot admit is deferred, not lost."""
        outcome = Outcome()
        queue: asyncio.Queue[Action] = asyncio.Queue()
        for action in actions:
            queue.put_nowait(action)
        stop: list[BaseException] = []

        async def worker() -> None:
            while not queue.empty() and not stop:
                action = queue.get_nowait()
                if isinstance(action, SENDING) and (outcome.deferred or not await self._pacer.admit()):
                    outcome.deferred.append(action)  # keep urgency order: once deferring, defer the rest
                    continue
                try:
                    record = await self._apply(action)
                except SignInFailed as error:
                    stop.append(error)
                    return
                except (GraphError, ConcurrentChange) as error:
                    if isinstance(action, SENDING) and getattr(error, "status", 0) != 429:
                        self._pacer.refund()
                    outcome.failed.append(Failure(action.key, str(error)))
                    continue
                outcome.applied.append(action)
                outcome.records[action.key] = record
                if self._progress:
                    self._progress(action)

        await asyncio.gather(*(worker() for _ in range(self._workers)))
        if stop:
            raise stop[0]
        return outcome

    async def _apply(self, action: Action) -> SentRecord:
        if isinstance(action, Create):
            return await self._create(action)
        if isinstance(action, Update):
            return await self._update(action)
        if isinstance(action, Cancel):
            return await self._cancel(action)
        return await self._remember(action)

    async def _put(self, record: SentRecord) -> SentRecord:
        return await asyncio.to_thread(self._mapping.put, record)

    async def _create(self, action: Create) -> SentRecord:
        inv = action.invitation
        key = action.key
        record = action.record
        new = SentRecord(
            key=key, organizer=action.organizer, role=inv.role, state="pending", key_fp=inv.key_fp,
            hashes=inv.content.hashes(), start_utc=inv.start_utc, end_utc=inv.end_utc,
            generation=action.generation, etag=record.etag if record else None,
        )
        if action.resume and record is not None:
            found = await self._gateway.find_by_tag(action.organizer, key.tag())
            if found:
                # the earlier create went through: adopt it with the content that was being sent
                return await self._put(record.but(state="live", event_id=found[0]))
        pending = await self._put(new)
        event = NewEvent(
            properties=inv.content.properties(),
            attendee_email=key.email,
            attendee_name=inv.name,
            tag=key.tag(),
            transaction_id=transaction_id(key, action.generation),
        )
        event_id = await self._gateway.create(action.organizer, event)
        return await self._put(pending.but(state="live", event_id=event_id))

    async def _update(self, action: Update) -> SentRecord:
        record = action.record
        inv = action.invitation
        if record.event_id is None:
            raise GraphError(f"The mapping for {action.key.tag()} has no event id; run `learncal mapping rebuild`.")
        props = inv.content.properties()
        await self._gateway.update(record.organizer, record.event_id, {p: props[p] for p in action.changed})
        return await self._put(
            record.but(
                state="live", role=inv.role, key_fp=inv.key_fp, hashes=inv.content.hashes(),
                start_utc=inv.start_utc, end_utc=inv.end_utc,
            )
        )

    async def _cancel(self, action: Cancel) -> SentRecord:
        record = action.record
        if record.state != "cancelling":
            record = await self._put(record.but(state="cancelling", comment=action.comment))
        if record.event_id is not None:
            await self._gateway.cancel(record.organizer, record.event_id, action.comment)
        else:
            # a create whose outcome was never confirmed: cancel whatever went out under its tag
            for event_id in await self._gateway.find_by_tag(record.organizer, action.key.tag()):
                await self._gateway.cancel(record.organizer, event_id, action.comment)
        return await self._put(record.but(state="cancelled"))

    async def _remember(self, action: Remember) -> SentRecord:
        inv = action.invitation
        return await self._put(
            action.record.but(key_fp=inv.key_fp, start_utc=inv.start_utc, end_utc=inv.end_utc)
        )


def describe(action: Action) -> dict[str, Any]:
    """One line of a dry-run plan or a progress log."""
    kind = type(action).__name__.lower()
    detail: dict[str, Any] = {"action": kind, "offering": action.key.offering_id,
                              "activity": action.key.activity_id, "person": action.key.email}
    if isinstance(action, Update):
        detail["changed"] = list(action.changed)
        detail["reason"] = action.reason
    if isinstance(action, Cancel):
        detail["comment"] = action.comment
    return detail

"""Applies a plan through the calendar gateway, recording each step in the mapping.

Throughput: the sending actions of each organizer are taken in urgency order, admitted by
the pacer in groups of up to 20 (one JSON batch) and up to `in_flight` groups run at once,
so batches fill up while the most urgent work always goes first. Once the pacer refuses
(budget or time), everything after it is deferred: nothing less urgent overtakes it.
While the pacer waits for its window, the intents of what it promises to admit are
recorded, so a batch leaves the moment the window has room; groups go to the gateway in
the order they were admitted.

Per action, the order of writes is what makes a crash at any moment harmless:
- create: record `pending` (with the content about to be sent) -> create (deterministic
  transactionId, the fingerprints stored on the event) -> record `live`. A `pending` row
  found later means "outcome unknown": the event is looked up by its tag and adopted if it
  is there, created if not.
- cancel: record `cancelling` -> cancel -> record `cancelled`. A `cancelling` row is finished
  by the next run (a second cancel of a cancelled meeting is answered "not found": done).
  When the person is wanted again by then, the new invitation follows the finished
  cancellation in the same run (`Cancel.reinvite`), never a run later.
- update: record the changed properties as "in doubt" -> PATCH -> record the new
  fingerprints. After a crash in between, the next run sends those properties again with
  whatever the feed says then (also when it moved the session back): the person may get
  the same update twice, never a stale meeting. An update that finds no event (the meeting
  was deleted by hand in the organizer's mailbox) is followed by a create under the next
  generation, recorded `pending` first.
A group's intents are all recorded before its batch is sent, and its outcomes are recorded
before the group ends, so a stop at the time budget leaves nothing half-done.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from azure.core.exceptions import AzureError

from shared.calendar.gateway import MAX_WRITES, CalendarGateway, CancelWrite, CreateWrite, NewEvent, UpdateWrite, Write
from shared.calendar.gateway import WriteResult as Result
from shared.domain import InvitationKey
from shared.errors import GraphError, SignInFailed
from shared.planning.content import PROPERTIES
from shared.planning.plan import SENDING, Action, Cancel, Create, Remember, Update
from shared.planning.sent import SentRecord
from shared.store.mapping import ConcurrentChange, MappingStore
from shared.sync.pacing import Pacer, Ticket
from shared.sync.rebuild import event_state

_TRANSACTION_NAMESPACE = uuid.UUID("0f6c7f0e-5a43-4b8e-8d3a-6c1b2f9e7a10")
_FOLLOW_UPS = 3  # rounds for writes that lead to another (a superseded create, an adopted one to update)
log = logging.getLogger("learncal.sync")


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
    messages: int = 0  # messages that may have been sent
    recreated: list[InvitationKey] = field(default_factory=list)  # deleted by hand, invited anew

    def count(self, kind: type) -> int:
        return sum(1 for a in self.applied if isinstance(a, kind))


@dataclass
class _Step:
    """One action inside a group: the row recorded before its write, and the write."""

    action: Action
    record: SentRecord
    write: Write
    recreates: bool = False  # a new invitation for a meeting deleted by hand in the organizer's mailbox
    extra: bool = False  # a follow-up that sends one more message than its group was admitted for


class Executor:
    def __init__(
        self,
        gateway: CalendarGateway,
        mapping: MappingStore,
        pacers: Callable[[str], Awaitable[Pacer]],
        *,
        in_flight: int = 4,
        batch_size: int = MAX_WRITES,
        progress: Callable[[Action], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._gateway = gateway
        self._mapping = mapping
        self._pacers = pacers
        self._in_flight = in_flight
        self._batch_size = max(1, min(batch_size, MAX_WRITES))
        self._progress = progress
        self._should_stop = should_stop
        self._fatal: BaseException | None = None

    async def run(self, actions: Sequence[Action]) -> Outcome:
        """Apply actions most urgent first; what the pacer cannot admit is deferred, not lost."""
        outcome = Outcome()
        lanes: dict[str, deque[Action]] = {}
        remembers: list[Remember] = []
        for action in actions:
            if isinstance(action, Remember):
                remembers.append(action)
            elif isinstance(action, SENDING):
                lanes.setdefault(_sender(action).lower(), deque()).append(action)
        await asyncio.gather(*(self._remember(a, outcome) for a in remembers))
        await asyncio.gather(*(self._lane(organizer, queue, outcome) for organizer, queue in lanes.items()))
        if self._fatal is not None:
            raise self._fatal
        return outcome

    # -- one organizer's work, in urgency order -------------------------------------------

    async def _lane(self, organizer: str, queue: deque[Action], outcome: Outcome) -> None:
        pacer = await self._pacers(organizer)
        free = asyncio.Semaphore(self._in_flight)
        running: set[asyncio.Task[None]] = set()
        ready: dict[int, asyncio.Task[_Step | None]] = {}  # intents recorded ahead, by id() of the action
        turn = asyncio.Event()  # set once the last admitted group has handed its first batch to the gateway
        turn.set()
        while queue and self._fatal is None and not self._should_stop():
            await free.acquire()
            ticket = None
            if self._fatal is None and not self._should_stop():
                ticket = await pacer.admit(
                    min(self._batch_size, len(queue)),
                    meanwhile=lambda n: self._prepare(list(itertools.islice(queue, min(n, 2 * self._batch_size))),
                                                      ready, outcome),
                )
            if ticket is None:
                free.release()
                break
            group = [queue.popleft() for _ in range(ticket.count)]
            turn, previous = asyncio.Event(), turn
            task = asyncio.create_task(self._group(organizer, group, pacer, ticket, outcome, ready, (previous, turn)))
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(lambda _done: free.release())
        if running:
            await asyncio.gather(*running)
        if ready:  # prepared for an admission that did not come (a stop): deferred, their intents kept
            steps = dict(zip(ready, await asyncio.gather(*ready.values()), strict=True))
            queue = deque(a for a in queue if steps.get(id(a), True) is not None)  # None: failed, reported
        outcome.deferred.extend(queue)  # urgency order kept: once one waits, everything after it waits
        queue.clear()

    def _prepare(self, actions: list[Action], ready: dict[int, asyncio.Task[_Step | None]], outcome: Outcome) -> None:
        """Record the intents of the writes the pacer has promised to admit (up to two groups ahead),
        while it waits, so their batch goes out the moment it admits them.

        A window's slots free a minute after the answer of the batch that held them, and the send
        rate loses every moment from then until the next message is out; recording a group's
        intents (a mapping write per action) was most of that moment. Only what the pacer is sure
        to admit before the deadline is prepared, so a run that ends at its time budget leaves no
        intent behind; a stop in between leaves them as a crash would, and the next run finishes
        them (a `pending` row is looked up by its tag, a `cancelling` one checked, before sending).
        """
        for action in actions:
            if id(action) not in ready:
                ready[id(action)] = asyncio.create_task(self._intent(action, outcome))

    async def _group(
        self, organizer: str, group: list[Action], pacer: Pacer, ticket: Ticket, outcome: Outcome,
        ready: dict[int, asyncio.Task[_Step | None]], turn: tuple[asyncio.Event, asyncio.Event],
    ) -> None:
        """`turn`: (the group admitted before this one has gone to the gateway, this one has).

        Groups go to the gateway in the order the pacer admitted them, the most urgent first:
        only one batch at a time is at the mailbox (a batch of 20 takes all four of its places),
        and the gateway's limiter serves batches in the order they ask, so a later group whose
        intents were ready sooner would otherwise take the mailbox first.
        """
        messages = 0
        answered: float | None = None  # when Graph's last answer came: the messages count from then
        try:
            intents = [ready.pop(id(a)) if id(a) in ready else self._intent(a, outcome) for a in group]
            steps = [s for s in await asyncio.gather(*intents) if s is not None]
            await turn[0].wait()
            turn[1].set()
            for _ in range(_FOLLOW_UPS + 1):
                if not steps:
                    break
                patience = max(0.0, pacer.timebase.real(pacer.deadline - pacer.timebase.now()))
                results = await self._gateway.write(
                    organizer, [s.write for s in steps], extra_message=lambda: pacer.extra(ticket), patience=patience,
                )
                answered = pacer.timebase.now()
                messages += sum(r.messages for r in results)
                pairs = zip(steps, results, strict=True)
                again = await asyncio.gather(*(self._record(step, result, outcome) for step, result in pairs))
                steps = [s for s in again if s is not None and await self._admitted(s, pacer, ticket, outcome)]
            for step in steps:
                outcome.failed.append(Failure(step.action.key, "Graph kept answering this invitation with an older "
                                                                "meeting; it is tried again next run."))
        except SignInFailed as error:
            self._fatal = self._fatal or error
            messages = ticket.count  # unknown: charge everything admitted
        finally:
            turn[1].set()  # also when nothing was sent: the next group need not wait for this one
            outcome.messages += min(messages, ticket.count)
            await pacer.settle(ticket, messages, at=answered)

    async def _intent(self, action: Action, outcome: Outcome) -> _Step | None:
        """Record what is about to be sent, before it is sent (creates and cancels)."""
        try:
            if isinstance(action, Create):
                return await self._create_intent(action)
            if isinstance(action, Update):
                return await self._update_intent(action)
            if isinstance(action, Cancel):
                record = action.record
                if record.state != "cancelling":
                    record = await self._put(record.but(state="cancelling", comment=action.comment))
                return _Step(action, record, CancelWrite(action.key.tag(), action.comment, record.event_id,
                                                         check_first=action.record.state == "cancelling"))
        except (GraphError, ConcurrentChange) as error:
            outcome.failed.append(Failure(action.key, str(error)))
        except AzureError as error:
            outcome.failed.append(Failure(action.key, _storage_failed(error, "before sending")))
        return None

    async def _create_intent(self, action: Create, superseded: SentRecord | None = None) -> _Step:
        """`superseded`: the pending row whose transactionId Graph matched to an old, cancelled
        meeting; the invitation is recorded again under the next generation and sent anew."""
        inv = action.invitation
        current = superseded or action.record
        resume = action.resume and action.record is not None and superseded is None
        if resume and action.record is not None:
            record = action.record  # what the earlier attempt sent: if it landed, that is what the event says
        else:
            record = await self._put(SentRecord(
                key=action.key, organizer=action.organizer, role=inv.role, state="pending", key_fp=inv.key_fp,
                hashes=inv.content.hashes(), start_utc=inv.start_utc, end_utc=inv.end_utc,
                generation=action.generation if superseded is None else superseded.generation + 1,
                etag=current.etag if current else None,
            ))
        event = NewEvent(
            properties=inv.content.properties(), attendee_email=action.key.email, attendee_name=inv.name,
            tag=action.key.tag(), transaction_id=transaction_id(action.key, record.generation),
            state=event_state(record.but(hashes=inv.content.hashes(), key_fp=inv.key_fp, role=inv.role)),
        )
        return _Step(action, record, CreateWrite(event, look_first=resume))

    async def _update_intent(self, action: Update) -> _Step:
        """Mark the changed properties "in doubt" before the PATCH, so a crash can never leave a stale meeting.

        Without the mark, a PATCH that landed before a crash, followed by a feed that moved the
        session back, would look "unchanged" to the next run while the meeting shows the
        moved time. In doubt, the next run sends the current content of those properties.
        """
        step = self._update_step(action)
        doubtful = {**action.record.hashes, **{p: "" for p in action.changed}}
        return replace(step, record=await self._put(action.record.but(key_fp="", hashes=doubtful)))

    def _update_step(self, action: Update) -> _Step:
        record = action.record
        if record.event_id is None:
            raise GraphError(f"The mapping for {action.key.tag()} has no event id; run `learncal mapping rebuild`.")
        inv = action.invitation
        props = inv.content.properties()
        after = record.but(state="live", role=inv.role, key_fp=inv.key_fp, hashes=inv.content.hashes(),
                           start_utc=inv.start_utc, end_utc=inv.end_utc)
        return _Step(action, record, UpdateWrite(record.event_id, {p: props[p] for p in action.changed},
                                                 event_state(after)))

    # -- outcomes -------------------------------------------------------------------------

    async def _record(self, step: _Step, result: Result, outcome: Outcome) -> _Step | None:
        """Record one write's outcome; returns the write that must follow it, if any."""
        action = step.action
        try:
            if result.status == "failed" or (result.status == "unknown" and result.error is not None):
                message = str(result.error) if result.error else "The outcome is unknown; it is retried next run."
                outcome.failed.append(Failure(action.key, message))
                return None
            if result.status == "unknown":
                outcome.deferred.append(action)  # the run's time ran out; the recorded intent finishes it next run
                return None
            if result.status == "gone":
                return await self._recreate(step, outcome)
            if isinstance(step.write, CreateWrite) and result.superseded:
                assert isinstance(action, Create)
                return replace(await self._create_intent(action, superseded=step.record), recreates=step.recreates)
            record = await self._done(step, result)
            if isinstance(action, Cancel) and action.reinvite is not None:
                return await self._reinvite(action, record, outcome)
            if isinstance(step.write, CreateWrite) and result.adopted and isinstance(action, Create):
                follow_up = self._bring_up_to_date(action, record)
                if follow_up is not None:
                    return follow_up
        except (GraphError, ConcurrentChange) as error:
            outcome.failed.append(Failure(action.key, str(error)))
            return None
        except AzureError as error:
            outcome.failed.append(Failure(action.key, _storage_failed(error, "after sending")))
            return None
        if step.recreates:
            outcome.recreated.append(action.key)  # counted apart: the person got a new invitation
        else:
            outcome.applied.append(action)
        outcome.records[action.key] = record
        if self._progress:
            self._progress(action)
        return None

    async def _recreate(self, step: _Step, outcome: Outcome) -> _Step | None:
        """The meeting was deleted by hand in the organizer's mailbox, so the person no longer has it.

        An update (or an adopted create's update) is planned only for a wanted invitation, so
        a new one goes out: recorded `pending` under the next generation first, like any create
        (a fresh transactionId, so Graph cannot answer with the deleted meeting). A completed
        enrollment is never invited anew: its row is closed as cancelled, as the person has
        been told the meeting is gone.
        """
        action = step.action
        if not isinstance(action, (Create, Update)):
            raise GraphError(f"Graph found no meeting for {action.key.tag()}.")
        if not action.invitation.may_create:
            outcome.records[action.key] = await self._put(step.record.but(state="cancelled"))
            log.info("a meeting deleted by hand is not sent again (completed enrollment): %s", action.key.tag())
            return None
        again = Create(action.key, action.invitation, step.record.organizer, step.record.generation + 1,
                       record=step.record)
        log.info("a meeting deleted by hand in the organizer's mailbox is sent again: %s", action.key.tag())
        return replace(await self._create_intent(again, superseded=step.record), recreates=True)

    async def _done(self, step: _Step, result: Result) -> SentRecord:
        if isinstance(step.write, CancelWrite):
            return await self._put(step.record.but(state="cancelled"))
        if isinstance(step.write, UpdateWrite):
            inv = step.action.invitation  # type: ignore[union-attr]
            return await self._put(step.record.but(
                state="live", role=inv.role, key_fp=inv.key_fp, hashes=inv.content.hashes(),
                start_utc=inv.start_utc, end_utc=inv.end_utc,
            ))
        return await self._put(step.record.but(state="live", event_id=result.event_id))

    async def _reinvite(self, action: Cancel, cancelled: SentRecord, outcome: Outcome) -> _Step:
        """The unconfirmed cancellation is done and the person is wanted again: invite them anew now.

        Waiting for a later run would leave them without the meeting, and nothing would look at
        the offering again until its feed content changed. The new invitation is the next
        generation, so its transactionId is not the cancelled meeting's.
        """
        assert action.reinvite is not None
        outcome.applied.append(action)
        outcome.records[action.key] = cancelled
        if self._progress:
            self._progress(action)
        create = replace(action.reinvite, record=cancelled, generation=cancelled.generation + 1)
        return replace(await self._create_intent(create), extra=True)

    async def _admitted(self, step: _Step, pacer: Pacer, ticket: Ticket, outcome: Outcome) -> bool:
        """A follow-up that sends another message needs its own slot; without one it waits for the next run."""
        if not step.extra or await pacer.extra(ticket):
            return True
        outcome.deferred.append(step.action)
        return False

    def _bring_up_to_date(self, action: Create, record: SentRecord) -> _Step | None:
        """An adopted event says what an earlier run sent; a key field changed since then: update it now.

        Only key changes go out, as the planner would decide for a live invitation; a non-key
        difference stays recorded and waits for a reconcile, like any other.
        """
        inv = action.invitation
        if record.key_fp == inv.key_fp or record.event_id is None:
            return None
        hashes = inv.content.hashes()
        props = inv.content.properties()
        changed = {p: props[p] for p in PROPERTIES if hashes[p] != record.hashes.get(p)}
        if not changed:
            return None  # reads the same: the next run only remembers the new key fingerprint
        after = record.but(role=inv.role, key_fp=inv.key_fp, hashes=hashes)
        return _Step(action, record, UpdateWrite(record.event_id, changed, event_state(after)))

    async def _remember(self, action: Remember, outcome: Outcome) -> None:
        inv = action.invitation
        try:
            record = await self._put(action.record.but(key_fp=inv.key_fp, start_utc=inv.start_utc,
                                                       end_utc=inv.end_utc))
        except ConcurrentChange as error:
            outcome.failed.append(Failure(action.key, str(error)))
            return
        outcome.applied.append(action)
        outcome.records[action.key] = record

    async def _put(self, record: SentRecord) -> SentRecord:
        return await asyncio.to_thread(self._mapping.put, record)


def _storage_failed(error: BaseException, when: str) -> str:
    """A Table Storage failure for one invitation: what it means and that nothing is lost."""
    return (f"Table Storage could not record this invitation {when} ({type(error).__name__}); "
            "the next run finds out what happened and finishes it.")


def _sender(action: Action) -> str:
    """Updates and cancellations go through the organizer that sent the invitation."""
    if isinstance(action, Create):
        return action.organizer
    return action.record.organizer


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
        if action.reinvite is not None:
            detail["reinvite"] = True  # a new invitation follows once the cancellation is done
    return detail


__all__ = ["Executor", "Failure", "Outcome", "describe", "log", "transaction_id"]

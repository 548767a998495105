"""Sends one organizer's queued work at the budget's pace: the body of the `send_worker` function.

A drain takes the organizer's lease (one sender per mailbox, whichever instance it runs on),
reads the organizer's work rows page by page in send order, checks each against the state
as it is now, and sends the rest through the same executor a run used to send with (pacing,
intents, mapping, limiter). A queued row is a promise an earlier plan made, so just before
sending the drain drops it when:
- the provider is no longer active;
- the recipient allow-list in force no longer admits the person;
- the session has ended;
- a newer plan of the offering replaced it (the row's plan is not the offering's current one);
- a new invitation's organizer has left the pool (updates and cancellations keep their organizer).
Dropped work leaves the offering unsettled, so the next plan decides it again.

Each row is also matched with the person's mapping row as it is now, which makes a drain
safe to repeat after a crash at any point: an intent already recorded is resumed (a
`pending` create looks for its event first, a `cancelling` cancellation checks first), work
already recorded as done is removed without sending.

The drain keeps sending while rows remain until its time slice ends (LEARNCAL_SEND_SLICE_SECONDS
for a send-worker invocation, the run's LEARNCAL_RUN_SECONDS when a run sends its own plan) or
the budget has no room before then; it then says when it should be woken again. The next drain
is woken a little before the budget has room (`WARM_UP`), so its start-up (lease, send log,
first page, intents) is done by the time the window opens and the sending goes on without a gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from shared.calendar.gateway import CalendarGateway
from shared.errors import RunInProgress
from shared.planning.desired import Allowlist
from shared.planning.plan import Cancel, Create, Update
from shared.planning.sent import SentRecord
from shared.queue.codec import SendAction
from shared.queue.work import WorkItem, WorkStore
from shared.settings import Settings
from shared.store.lease import LeaseStore
from shared.store.mapping import MappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import SendLog
from shared.sync.executor import Executor, Outcome
from shared.sync.lease_keeper import LEASE_TIMING, LeaseKeeper, LeaseTiming
from shared.sync.pacing import Pacer, Timebase

log = logging.getLogger("learncal.queue")

# Rows read (and handed to the executor) at a time, at most: about a minute's work, so the checks
# made when a page is read are at most a minute old when its last row goes out. At a high budget the
# executor empties and refills once a page; 500 rows (200 before) make that rarer.
PAGE = 500
MIN_PAGE = 20  # one JSON batch
REPLACED = "a newer plan replaced this work"
BUSY_RETRY_MAX = 60.0  # seconds: another drain holds the lease; look again within a minute at most
# Real seconds by which the next drain is woken ahead of the budget's room: a drain's start-up (the
# lease, the send log, the first page, the intents of its first group; on a cold instance, the
# worker itself) takes real seconds, every one of which is lost rate when it starts only once the
# window has room. The drain then waits in the pacer, which prepares the first group meanwhile.
WARM_UP = 10.0


@dataclass
class DrainResult:
    organizer: str
    outcome: Outcome = field(default_factory=Outcome)
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"invitation", "reason"}
    parked: int = 0
    done: int = 0  # rows finished (sent, or found already done)
    left: int = 0  # queued rows of this organizer after the drain
    busy: bool = False  # another drain held the organizer's lease
    wake_in: float | None = None  # real seconds until the drain should run again; None: nothing left
    stopped: str | None = None  # why the drain stopped early (its lease)
    sent_by_run: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "organizer": self.organizer, "created": self.outcome.count(Create), "updated": self.outcome.count(Update),
            "cancelled": self.outcome.count(Cancel), "failed": len(self.outcome.failed), "dropped": len(self.dropped),
            "parked": self.parked, "left": self.left, "busy": self.busy, "wakeIn": self.wake_in,
        }


class Drainer:
    def __init__(
        self, settings: Settings, *, work: WorkStore, offerings: OfferingStore, mapping: MappingStore,
        leases: LeaseStore, runs: RunStore | None, gateway_factory: Callable[[], CalendarGateway],
        provider: Callable[[], Any], send_log: SendLog | None = None, timebase: Timebase | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), lease_timing: LeaseTiming | None = None,
        lease_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[Any], None] | None = None,
    ) -> None:
        self._settings = settings
        self._work = work
        self._offerings = offerings
        self._mapping = mapping
        self._leases = leases
        self._runs = runs
        self._gateway_factory = gateway_factory
        self._provider = provider
        self._send_log = send_log
        self.timebase = timebase or Timebase()
        self._clock = clock
        self._lease_timing = lease_timing or LEASE_TIMING
        self._lease_clock = lease_clock
        self._progress = progress

    def drain(self, organizer: str, *, deadline: float | None = None, provider: Any = None) -> DrainResult:
        """Send this organizer's queued work until the time slice ends (`deadline`, timebase seconds).

        `provider`: the provider view to check the work against, when the caller has just read it
        (a run sending its own plan); otherwise it is read now.
        """
        result = DrainResult(organizer)
        if deadline is None:
            deadline = self.timebase.now() + self._settings.send_slice_seconds
        try:
            lease = self._leases.acquire(organizer, seconds=self._lease_timing.seconds, now=self._lease_clock())
        except RunInProgress:
            result.busy = True
            left = self._leases.time_left(organizer, now=self._lease_clock())
            result.wake_in = max(1.0, min(BUSY_RETRY_MAX, left if left is not None else BUSY_RETRY_MAX))
            log.info("the send lease of %s is held by another drain; looking again in %.0f s", organizer,
                     result.wake_in)
            return result
        keeper = LeaseKeeper(self._leases, lease, timing=self._lease_timing, clock=self._lease_clock)
        try:
            asyncio.run(self._drain(organizer, deadline, keeper, result, provider))
        finally:
            keeper.release()
        if keeper.stop_reason:
            result.stopped = keeper.stop_reason
        self._report(result)
        return result

    # -- the drain ------------------------------------------------------------------------------

    async def _drain(self, organizer: str, deadline: float, keeper: LeaseKeeper, result: DrainResult,
                     provider: Any = None) -> None:
        if provider is None:
            provider = await asyncio.to_thread(self._provider)
        pacer: Pacer | None = None
        gateway: CalendarGateway | None = None
        states: dict[str, OfferingState | None] = {}
        touched: dict[str, str] = {}  # offering -> plan id of rows finished in this drain
        unsettled: set[str] = set()  # offerings whose work was dropped or failed
        after: str | None = None
        refused = False
        finishing: list[asyncio.Task[None]] = []  # removing the rows of pages sent, beside the next page
        try:
            while self.timebase.now() < deadline and not keeper.should_stop():
                page = min(PAGE, max(MIN_PAGE, self._settings.send_per_minute))  # about a minute's work at a time
                items = await asyncio.to_thread(self._work.page, organizer, after=after, limit=page)
                if not items:
                    break
                after = items[-1].row
                now = self._clock()
                for offering in {i.offering_id for i in items}:  # read anew per page: a plan may have replaced it
                    states[offering] = await asyncio.to_thread(self._offerings.get, offering)
                records = await asyncio.to_thread(self._mapping.load, sorted({i.offering_id for i in items}))
                sendable: list[tuple[WorkItem, SendAction]] = []
                for item in items:
                    if item.not_before is not None and item.not_before > now:
                        continue  # failed lately: tried again after its back-off
                    reason = self._stale(item, provider, states.get(item.offering_id), now)
                    if reason is None:
                        action, reason = _as_now(item.action, records.get(item.action.key))
                        if action is None and reason is None:  # recorded as done already
                            await self._finish(item, result, touched, unsettled)
                            continue
                    if reason is not None:
                        await self._drop(item, reason, result, unsettled)
                        continue
                    assert action is not None
                    sendable.append((item, action))
                if not sendable:
                    continue
                if pacer is None:
                    pacer = Pacer(organizer=organizer, per_minute=self._settings.send_per_minute,
                                  per_day=self._settings.send_per_day, deadline=deadline, timebase=self.timebase,
                                  log=self._send_log)
                    await pacer.load()
                    gateway = self._gateway_factory()
                assert gateway is not None
                refused = await self._send(sendable, gateway, pacer, keeper, result, touched, unsettled, finishing)
                if refused:
                    break
        finally:
            finished = await asyncio.gather(*finishing, return_exceptions=True)
            if gateway is not None:
                await gateway.aclose()
        for failure in finished:
            if isinstance(failure, BaseException):
                raise failure  # the rows stay; the next drain finds them recorded as sent and removes them
        await asyncio.to_thread(self._settle, touched, unsettled)
        result.left = await asyncio.to_thread(self._work.queued, organizer)
        if result.left:
            result.wake_in = await asyncio.to_thread(self._wake_in, organizer, pacer, refused, deadline)

    async def _send(
        self, sendable: list[tuple[WorkItem, SendAction]], gateway: CalendarGateway, pacer: Pacer,
        keeper: LeaseKeeper, result: DrainResult, touched: dict[str, str], unsettled: set[str],
        finishing: list[asyncio.Task[None]],
    ) -> bool:
        """One page through the executor; True when the budget or the time slice stopped it.

        The rows it sent are removed in the background (`finishing`) while the next page is read
        and sent: they are recorded in the mapping already, so a crash before their removal only
        leaves rows the next drain finds done and removes without sending.
        """

        async def pacer_for(_organizer: str) -> Pacer:
            return pacer  # every row of this partition is sent by its organizer

        executor = Executor(gateway, self._mapping, pacer_for, progress=self._progress,
                            should_stop=keeper.should_stop)
        outcome = await executor.run([action for _, action in sendable])
        merge(result.outcome, outcome)
        failed = {f.key: f.message for f in outcome.failed}
        deferred = {a.key for a in outcome.deferred}
        sent: list[WorkItem] = []
        for item, action in sendable:
            key = action.key
            if key in failed:
                unsettled.add(item.offering_id)
                updated = await asyncio.to_thread(self._work.failed, item, failed[key])
                if updated is not None and updated.state == "parked":
                    result.parked += 1
                    log.warning("learncal.queue.parked organizer=%s invitation=%s attempts=%d: %s", item.organizer,
                                key.tag(), updated.attempts, failed[key])
            elif key in deferred:
                continue
            elif key in outcome.records:
                result.sent_by_run[item.run_id or ""] += 1
                sent.append(item)
        async def finish() -> None:
            removed = await asyncio.to_thread(self._work.done_many, sent)
            for item in sent:
                await self._finished(item, item.row in removed, result, touched, unsettled)

        if sent:
            finishing.append(asyncio.create_task(finish()))
        return bool(outcome.deferred)

    # -- checks -----------------------------------------------------------------------------------

    def _stale(self, item: WorkItem, provider: Any, state: OfferingState | None, now: datetime) -> str | None:
        """Why a queued row must not be sent any more, or None when it still stands."""
        action = item.action
        if provider.status != "active":
            return "the provider is inactive"
        if not Allowlist(tuple(provider.allowlist)).allows(action.key.email):
            return "the recipient allow-list no longer admits this person"
        end = action.record.end_utc if isinstance(action, Cancel) else action.invitation.end_utc
        if end is not None and end <= now:
            return "the session has ended"
        if state is None or state.plan_id != item.plan_id:
            return REPLACED
        pool = {o.lower() for o in (getattr(provider, "organizers", None) or (provider.organizer,)) if o}
        if isinstance(action, Create) and not action.resume and action.organizer.lower() not in pool:
            return "its organizer has left the organizer pool"
        return None

    async def _drop(self, item: WorkItem, reason: str, result: DrainResult, unsettled: set[str]) -> None:
        if await asyncio.to_thread(self._work.done, item):
            result.dropped.append({"invitation": item.action.key.tag(), "reason": reason})
            log.info("queued %s for %s not sent: %s", type(item.action).__name__.lower(), item.action.key.tag(),
                     reason)
        if reason != REPLACED:
            await self._redecide(item.offering_id, unsettled)

    async def _finish(self, item: WorkItem, result: DrainResult, touched: dict[str, str],
                      unsettled: set[str]) -> None:
        await self._finished(item, await asyncio.to_thread(self._work.done, item), result, touched, unsettled)

    async def _finished(self, item: WorkItem, removed: bool, result: DrainResult, touched: dict[str, str],
                        unsettled: set[str]) -> None:
        if removed:
            result.done += 1
            touched[item.offering_id] = item.plan_id
        else:  # a newer plan rewrote or removed the row while it was being sent: it did not know of this send
            await self._redecide(item.offering_id, unsettled)

    async def _redecide(self, offering: str, unsettled: set[str]) -> None:
        if offering not in unsettled:
            unsettled.add(offering)
            await asyncio.to_thread(self._offerings.redecide, offering)

    def _settle(self, touched: dict[str, str], unsettled: set[str]) -> None:
        """An offering whose last work row is done is settled, as a run that sent it all at once left it."""
        for offering, plan_id in touched.items():
            if offering in unsettled or self._work.pending(offering):
                continue
            live = sum(1 for r in self._mapping.load([offering]).values() if r.live)
            try:
                self._offerings.settle_plan(offering, plan_id, live=live)
            except Exception:  # the next plan looks at an unsettled offering again: nothing is lost
                log.warning("could not record offering %s as settled", offering, exc_info=True)

    def _wake_in(self, organizer: str, pacer: Pacer | None, refused: bool, deadline: float) -> float:
        """Real seconds until the drain should look again: when the budget has room, or at once when
        only the time slice ended; rows waiting out a back-off wake it when theirs ends."""
        now = self.timebase.now()
        wake = 0.0
        if pacer is not None and refused and pacer.refusal != "time":
            wake = self._ahead(max(0.0, pacer.next_room() - now))
        elif pacer is not None and refused:
            wake = self._ahead(max(0.0, min(pacer.next_room(), deadline) - now))
        due = self._work.next_due(organizer)
        if due is not None and wake == 0.0 and not refused and self.timebase.now() < deadline:
            wake = max(0.0, (due - self._clock()).total_seconds())
        return wake

    def _ahead(self, gap: float) -> float:
        """Real seconds until the next drain should start, for a budget that has room in `gap` (timebase
        seconds): `WARM_UP` early, but never so early that the room lies beyond half its slice (a short
        slice would otherwise end before the room came, and wake the next one at once: polling)."""
        lead = min(WARM_UP, self.timebase.real(self._settings.send_slice_seconds) / 2)
        return max(0.0, self.timebase.real(gap) - lead)

    def _report(self, result: DrainResult) -> None:
        if self._runs is None:
            return
        for run_id, sent in result.sent_by_run.items():
            if not run_id:
                continue
            try:
                self._runs.progress(run_id, sent=sent, left=self._work.left_for_run(run_id))
            except Exception:
                log.warning("could not record the progress of run %s", run_id, exc_info=True)


def _as_now(action: SendAction, current: SentRecord | None) -> tuple[SendAction | None, str | None]:
    """The queued action as it stands against the person's mapping row now.

    Returns (action to send, None), (None, None) when the row says it is done already, or
    (None, reason) when the row moved on in a way the plan did not foresee (the next plan decides).
    """
    moved = "the invitation's record changed since it was planned"
    if isinstance(action, Create):
        planned = action.record
        if current is None:
            return (action, None) if planned is None else (None, moved)
        if current.state == "pending":
            return replace(action, organizer=current.organizer, generation=current.generation, resume=True,
                           record=current), None
        if current.state == "live":
            return (None, None) if current.key_fp == action.invitation.key_fp else (None, moved)
        if current.state == "cancelled" and planned is not None and planned.generation == current.generation:
            return replace(action, record=current), None
        return None, moved
    if isinstance(action, Update):
        planned = action.record
        if current is None or current.state != "live" or current.event_id != planned.event_id:
            return None, moved
        hashes = action.invitation.content.hashes()
        changed = tuple(p for p in hashes if hashes[p] != current.hashes.get(p))
        if not changed:
            return None, None
        return replace(action, record=current, changed=changed), None
    planned = action.record
    if current is None:
        return None, moved
    reinvite = action.reinvite
    if current.generation == planned.generation:
        if current.state == "cancelled":
            if reinvite is None:
                return None, None
            return replace(reinvite, generation=current.generation + 1, record=current, resume=False), None
        return replace(action, record=current), None
    if reinvite is not None and current.generation == planned.generation + 1:
        if current.state == "pending":  # the re-invitation's intent was recorded: find or create its event
            return replace(reinvite, generation=current.generation, resume=True, record=current), None
        if current.state == "live" and current.key_fp == reinvite.invitation.key_fp:
            return None, None
    return None, moved


def merge(total: Outcome, part: Outcome) -> None:
    total.applied.extend(part.applied)
    total.deferred.extend(part.deferred)
    total.failed.extend(part.failed)
    total.records.update(part.records)
    total.messages += part.messages
    total.recreated.extend(part.recreated)


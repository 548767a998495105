"""Honest pacing inside Exchange's sending limits and the run's time budget.

Every invitation, update and cancellation is one message to one recipient. Exchange counts
them per sending mailbox over a rolling minute and (recipients) over a rolling day, at the
moment it delivers them, which lies somewhere between our request and its answer. So a
message counts in our windows from the moment it is admitted (while in flight it never
expires) until a minute (a day) after its answer came back. A new message is admitted only
when fewer than the limit are counted; then no rolling minute or day as Exchange sees it can
hold more than the limit, whatever the network's delays.

Messages a write surely did not send (throttled with 429, refused, found already done) are
refunded when its outcome is known. The counts are kept in the send log (Table Storage)
before anything is sent, so a later run, in this process or another, starts from them.

When the next free slot lies beyond the run's deadline, the message is deferred to the next
run instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from shared.store.sendlog import DAY_SECONDS, Bucket, SendLog

MINUTE_SECONDS = 60.0

# The send log's writes have threads of their own: an admission waits for its write, and in the
# shared default pool it queued behind the mapping writes of the batches just answered, which
# held the next batch back from a window that already had room.
_SEND_LOG_WRITER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="learncal-sendlog")


class Timebase:
    """Wall-clock seconds that run `scale` times faster than real time (1.0 in production).

    A benchmark time-scales the sandbox's clock; giving the sync the same scale keeps every
    ratio (messages per minute, Graph latency, run budget) true while minutes pass in seconds.
    Read from a monotonic clock, so a wall-clock step never opens or closes a window.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._wall = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._mono) * self.scale

    def real(self, seconds: float) -> float:
        """Real seconds a span of this clock takes."""
        return seconds / self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.real(seconds)))


@dataclass(eq=False)
class _Slot:
    minute: int
    at: float | None = None  # None while in flight; then when its answer came back


@dataclass(eq=False)
class Ticket:
    """The slots one batch was admitted with (plus any extra it asked for)."""

    slots: list[_Slot] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.slots)


@dataclass
class _History:
    """What earlier runs sent, per minute bucket, as read from the send log."""

    count: int
    latest: float


class Pacer:
    def __init__(
        self, *, organizer: str, per_minute: int, per_day: int, deadline: float,
        timebase: Timebase | None = None, log: SendLog | None = None,
    ) -> None:
        self.organizer = organizer
        self.per_minute = per_minute
        self.per_day = per_day
        self.deadline = deadline  # in the timebase's seconds
        self.timebase = timebase or Timebase()
        self.refusal: str | None = None  # why the last admission was refused: "minute", "day" or "time"
        self._log = log
        self._history: dict[int, _History] = {}
        self._slots: list[_Slot] = []
        self._changed = asyncio.Condition()

    async def load(self) -> None:
        """Start from what earlier runs sent in the last day (a run that stopped mid-send included)."""
        if self._log is None:
            return
        now = self.timebase.now()
        buckets = await asyncio.to_thread(self._log.load, self.organizer, now - DAY_SECONDS - MINUTE_SECONDS)
        for bucket in buckets:
            latest = max(bucket.latest, now) if bucket.pending else bucket.latest
            self._history[bucket.minute] = _History(bucket.count, latest)

    @property
    def sent(self) -> int:
        """Messages this run may have sent (settled slots)."""
        return sum(1 for s in self._slots if s.at is not None)

    async def admit(self, wanted: int, *, meanwhile: Callable[[int], None] | None = None) -> Ticket | None:
        """Slots for up to `wanted` messages, waiting for them if they free before the deadline; None: defer.

        `meanwhile(n)`, before each wait: n messages are sure to be admitted, by this admission and
        the ones after it, before the deadline (if nothing else is admitted meanwhile: the room once
        every settled message that leaves a window before the deadline has left it, messages in
        flight counted as staying, so a refund only adds to it). The executor records their
        intents while the pacer waits, so they go out the moment the window has room: a window's
        slots free a minute after the answer of the batch that held them, and every moment from
        then until the next message is out is lost rate.
        """
        async with self._changed:
            while True:
                now = self.timebase.now()
                if now >= self.deadline:
                    self.refusal = "time"
                    return None
                free = self._free(now)
                if free > 0:
                    ticket = Ticket([_Slot(int(now // MINUTE_SECONDS)) for _ in range(min(wanted, free))])
                    self._slots.extend(ticket.slots)
                    await self._persist({s.minute for s in ticket.slots})
                    return ticket
                wake = self._next_free(now)
                if wake >= self.deadline:
                    return None
                if meanwhile is not None:
                    meanwhile(self._promised(wake))
                await self._wait(wake - now)

    async def extra(self, ticket: Ticket) -> bool:
        """One more message for a batch already admitted, only if a slot is free right now."""
        async with self._changed:
            now = self.timebase.now()
            if now >= self.deadline or self._free(now) <= 0:
                return False
            slot = _Slot(int(now // MINUTE_SECONDS))
            ticket.slots.append(slot)
            self._slots.append(slot)
            await self._persist({slot.minute})
            return True

    async def settle(self, ticket: Ticket, messages: int, *, at: float | None = None) -> None:
        """The batch's answers are in: `messages` may have been sent, the rest is refunded.

        `at`: when the last answer came back (default: now); nothing was delivered after it.
        """
        async with self._changed:
            now = self.timebase.now() if at is None else min(at, self.timebase.now())
            kept = max(0, min(messages, ticket.count))
            for slot in ticket.slots[:kept]:
                slot.at = now
            refunded = set(map(id, ticket.slots[kept:]))
            self._slots = [s for s in self._slots if id(s) not in refunded]
            await self._persist({s.minute for s in ticket.slots})
            self._changed.notify_all()

    def next_room(self) -> float:
        """When (in the timebase's seconds) a slot may next be free in both windows: when a drain that
        stopped for the budget should be woken again."""
        return self._next_free(self.timebase.now())

    # -- windows --------------------------------------------------------------------------

    def _entries(self) -> list[tuple[float | None, int]]:
        entries: list[tuple[float | None, int]] = [(h.latest, h.count) for h in self._history.values()]
        entries.extend((s.at, 1) for s in self._slots)
        return entries

    def _free(self, now: float) -> int:
        free = self._room(self._entries(), now)
        if free <= 0:
            self.refusal = "day" if self.per_day - _used(self._entries(), now, DAY_SECONDS) <= 0 else "minute"
        return free

    def _promised(self, wake: float) -> int:
        """Room once every settled message that leaves a window between `wake` and the deadline has left it."""
        entries = self._entries()
        leaving = [at + span for at, _ in entries if at is not None for span in (MINUTE_SECONDS, DAY_SECONDS)
                   if wake <= at + span < self.deadline]
        return max(0, self._room(entries, max(leaving, default=wake)))

    def _room(self, entries: list[tuple[float | None, int]], at: float) -> int:
        """Free slots at moment `at` in both windows, messages in flight counted as staying."""
        return min(self.per_minute - _used(entries, at, MINUTE_SECONDS), self.per_day - _used(entries, at, DAY_SECONDS))

    def _next_free(self, now: float) -> float:
        """The earliest moment a slot may free in both windows (in-flight slots free only after an answer)."""
        entries = self._entries()
        return max(
            _free_at(entries, now, MINUTE_SECONDS, self.per_minute),
            _free_at(entries, now, DAY_SECONDS, self.per_day),
        )

    async def _wait(self, seconds: float) -> None:
        """Sleep until a slot may have freed, or until a batch settles (whichever first)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.001, self.timebase.real(seconds)))

    async def _persist(self, minutes: set[int]) -> None:
        if self._log is None:
            return
        by_minute: dict[int, list[_Slot]] = defaultdict(list)
        for slot in self._slots:
            if slot.minute in minutes:
                by_minute[slot.minute].append(slot)
        buckets = []
        for minute in sorted(minutes):
            slots = by_minute.get(minute, [])
            history = self._history.get(minute, _History(0, 0.0))
            settled = [s.at for s in slots if s.at is not None]
            buckets.append(Bucket(
                minute=minute, count=history.count + len(slots), pending=len(slots) - len(settled),
                latest=max([history.latest, *settled]),
            ))
        await asyncio.get_running_loop().run_in_executor(_SEND_LOG_WRITER, self._save, self._log, buckets)

    def _save(self, log: SendLog, buckets: list[Bucket]) -> None:
        for bucket in buckets:
            log.save(self.organizer, bucket)


def _used(entries: list[tuple[float | None, int]], now: float, span: float) -> int:
    return sum(count for at, count in entries if at is None or at > now - span)


def _free_at(entries: list[tuple[float | None, int]], now: float, span: float, limit: int) -> float:
    """When the window `span` next has room for one more message (now + span at the earliest when
    only in-flight messages fill it: they expire a window after an answer not yet come)."""
    excess = _used(entries, now, span) - (limit - 1)
    if excess <= 0:
        return now
    for at, count in sorted((e for e in entries if e[0] is not None and e[0] > now - span), key=lambda e: e[0] or 0):
        excess -= count
        if excess <= 0:
            return (at or now) + span
    return now + span

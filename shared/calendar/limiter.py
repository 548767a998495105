"""At most four requests at a mailbox at once, counted per request, for the whole process.

Outlook allows an app four concurrent requests per mailbox, and Graph forwards up to four
sub-requests of one `$batch` to the mailbox at a time, whatever the batch holds
("Outlook service limits" and "JSON batching" in
https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits). A fifth request
is answered `429 ApplicationThrottled` (MailboxConcurrency). So a batch of n sub-requests for
one mailbox occupies min(n, 4) of the mailbox's four places, a single request one.

One limiter serves every event loop and thread of the process (sync writes, tag look-ups,
listings for a mapping rebuild, anything else that talks to a mailbox through it): places are
counted under a thread lock, and a waiter on another loop is woken on its own loop. Waiters
are served first come, first served, so a batch waiting for four places is not overtaken
forever by single requests.

Places are given back when the answer is in, or when the client stops waiting for it (a
timeout or a dropped connection); in that rare case the mailbox may still be running the
request for a moment, and a 429 it then causes is waited out like any other.

Across processes, the per-organizer run lease (`shared/store/lease.py`) keeps one sync per
organizer mailbox at a time, so one process at a time writes to a given mailbox.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

MAILBOX_CONCURRENCY = 4


@dataclass(eq=False)
class _Waiter:
    units: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = False


@dataclass
class _Mailbox:
    used: int = 0
    waiting: deque[_Waiter] = field(default_factory=deque)


class MailboxLimiter:
    """Counts the requests in flight per mailbox; `hold(mailbox, n)` waits until n places are free."""

    def __init__(self, capacity: int = MAILBOX_CONCURRENCY) -> None:
        if capacity < 1:
            raise ValueError("a mailbox needs at least one place for requests")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._mailboxes: dict[str, _Mailbox] = {}

    def units_for(self, requests: int) -> int:
        """Places a batch of `requests` sub-requests takes: Graph runs at most `capacity` of them at once."""
        return max(1, min(requests, self.capacity))

    @asynccontextmanager
    async def hold(self, mailbox: str, units: int = 1) -> AsyncIterator[None]:
        units = max(1, min(units, self.capacity))
        key = mailbox.strip().lower()
        await self._acquire(key, units)
        try:
            yield
        finally:
            self._release(key, units)

    def in_use(self, mailbox: str) -> int:
        with self._lock:
            box = self._mailboxes.get(mailbox.strip().lower())
            return box.used if box else 0

    async def _acquire(self, key: str, units: int) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            box = self._mailboxes.setdefault(key, _Mailbox())
            if not box.waiting and box.used + units <= self.capacity:
                box.used += units
                return
            waiter = _Waiter(units, loop, loop.create_future())
            box.waiting.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    box.waiting.remove(waiter)
            if granted:
                self._release(key, units)  # woken and cancelled at once: hand the places on
            else:
                self._grant(key)  # a waiter at the head that gave up may have been blocking others
            raise

    def _release(self, key: str, units: int) -> None:
        with self._lock:
            self._mailboxes[key].used -= units
        self._grant(key)

    def _grant(self, key: str) -> None:
        woken: list[_Waiter] = []
        with self._lock:
            box = self._mailboxes[key]
            while box.waiting and box.used + box.waiting[0].units <= self.capacity:
                waiter = box.waiting.popleft()
                waiter.granted = True
                box.used += waiter.units
                woken.append(waiter)
            if not box.used and not box.waiting:
                del self._mailboxes[key]
        for waiter in woken:
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # its loop is closed: nobody will use the places
                self._release(key, waiter.units)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


PROCESS_LIMITER = MailboxLimiter()

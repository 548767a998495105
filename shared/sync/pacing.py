"""Honest pacing inside Exchange's sending limits and the run's time budget.

Every invitation, update and cancellation is one message to one recipient. The pacer admits a
message only when fewer than `per_minute` were sent in the last 60 seconds (a sliding window,
so no minute ever exceeds the limit, unlike a token bucket's burst) and the rolling day's
recipient count allows it. When the next slot would come after the run's deadline, the
message is deferred to the next run instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Pacer:
    per_minute: int
    per_day_remaining: int
    deadline: float  # monotonic seconds
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], object] = asyncio.sleep
    window: float = 60.0
    _sent: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def admit(self) -> bool:
        """Wait for a sending slot; False means the message must be deferred to the next run."""
        async with self._lock:
            if self.per_day_remaining <= 0:
                return False
            while True:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.per_minute:
                    if now >= self.deadline:
                        return False
                    self._sent.append(now)
                    self.per_day_remaining -= 1
                    return True
                slot = self._sent[0] + self.window
                if slot >= self.deadline:
                    return False
                await self.sleep(slot - now)  # type: ignore[misc]

    def refund(self) -> None:
        """A message that was admitted but not sent (its write failed before Graph took it)."""
        if self._sent:
            self._sent.pop()
        self.per_day_remaining += 1

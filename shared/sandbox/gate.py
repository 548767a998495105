"""The one door every Graph request passes through: Graph's per-mailbox limits and the fault plan.

Graph throttles per app and mailbox (10,000 requests per 10 minutes, 4 at a time) and answers
429 with Retry-After. Keeping both limits and injected faults here means a later realism
switch changes one class, and batch sub-requests are throttled exactly like top-level ones.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shared.sandbox.clock import Clock
from shared.sandbox.graph_http import GraphError
from shared.sandbox.realism import DEFAULT_FAULT_CODE, FaultRule, Realism
from shared.sandbox.stats import Stats

WINDOW_SECONDS = 600.0


def retry_after(seconds: float) -> str:
    """Graph sends whole or fractional seconds (e.g. `2.128`)."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0")


class Gate:
    def __init__(self, clock: Clock, stats: Stats, realism: Callable[[], Realism]) -> None:
        self._clock = clock
        self._stats = stats
        self._realism = realism
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._rng = random.Random(0)
        self._order_rng = random.Random(0)
        self._seed: int | None = None
        self._matches: dict[int, int] = {}
        self._fired: dict[int, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self._in_flight.clear()
            self._seed = None

    @contextmanager
    def admit(self, client_id: str, mailbox: str) -> Iterator[None]:
        """Hold one of the mailbox's concurrency slots for the duration of a request, or refuse with 429."""
        realism = self._realism()
        key = (client_id.lower(), mailbox.lower())
        now = self._clock.timestamp()
        with self._lock:
            in_flight = self._in_flight.get(key, 0)
            if in_flight >= realism.concurrent_requests_per_mailbox:
                raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                 {"Retry-After": "1"})
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= realism.requests_per_10_minutes:
                wait = (recent[0] + WINDOW_SECONDS - now) / self._clock.scale
                raise GraphError(429, "ApplicationThrottled", "Application is over its request limit.",
                                 {"Retry-After": retry_after(round(max(wait, 0.001), 3))})
            recent.append(now)
            self._in_flight[key] = in_flight + 1
        self._stats.concurrency(in_flight + 1)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1

    def _reseed(self, realism: Realism) -> None:
        """Called under the lock: a changed seed (or plan) starts the generators and counters afresh."""
        if self._seed != realism.fault_seed:
            self._seed = realism.fault_seed
            self._rng = random.Random(realism.fault_seed)
            self._order_rng = random.Random(realism.fault_seed)
            self._matches.clear()
            self._fired.clear()

    def batch_order(self, ids: list[str]) -> list[str]:
        """The order a concurrent batch's sub-requests start in: shuffled, repeatably for a given seed.

        learn.microsoft.com/graph/json-batching: without dependsOn, requests run in any order.
        """
        with self._lock:
            self._reseed(self._realism())
            order = list(ids)
            self._order_rng.shuffle(order)
            return order

    def fault_for(self, method: str, path: str, *, envelope: bool = False) -> FaultRule | None:
        """The fault plan's decision for one request; draws are repeatable for a given seed.

        Rules whose path names `$batch` apply to batch envelopes only (the whole batch fails, or
        is served and its answer lost); all other rules apply to requests and sub-requests.
        """
        realism = self._realism()
        if not realism.faults:
            return None
        with self._lock:
            self._reseed(realism)
            for index, rule in enumerate(realism.faults):
                if ("$batch" in rule.path.lower()) != envelope:
                    continue
                if rule.method not in ("*", method.upper()) or not fnmatch.fnmatchcase(path.lower(), rule.path.lower()):
                    continue
                seen = self._matches.get(index, 0)
                self._matches[index] = seen + 1
                if seen < rule.after or (rule.times is not None and self._fired.get(index, 0) >= rule.times):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                self._fired[index] = self._fired.get(index, 0) + 1
                self._stats.add("faultsInjected")
                return rule
        return None

    def forget_faults(self) -> None:
        """Start the plan's counters and generator afresh (after the plan changed)."""
        with self._lock:
            self._seed = None


def fault_error(rule: FaultRule) -> GraphError | None:
    """The error a fired rule answers with; None for a latency-only rule."""
    if rule.status is None:
        return None
    headers = {} if rule.retry_after is None else {"Retry-After": retry_after(rule.retry_after)}
    if rule.status == 424 and rule.code == DEFAULT_FAULT_CODE:
        # learn.microsoft.com/graph/json-batching: a request whose dependency failed answers 424.
        return GraphError(424, "FailedDependency", "The request depends on a failed request.", headers)
    return GraphError(rule.status, rule.code, rule.message, headers)

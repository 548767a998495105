"""Counters of what the sandbox served since it started (or was reset), for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from shared.sandbox.clock import Clock, utc_iso

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class Stats:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._since = utc_iso(self._clock.now())
            self._counts: Counter[str] = Counter()
            self._by_method: Counter[str] = Counter()
            self._by_status: Counter[str] = Counter()
            self._by_message_type: Counter[str] = Counter()
            self._max_concurrent = 0

    def graph_request(self, method: str, status: int) -> None:
        """One Graph API request served (a batch's sub-requests each count; its envelope does not)."""
        with self._lock:
            self._counts["requests"] += 1
            self._by_method[method] += 1
            self._by_status[str(status)] += 1
            if method in WRITE_METHODS:
                self._counts["writes"] += 1
            if status == 429:
                self._counts["throttled"] += 1

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def message(self, kind: str) -> None:
        with self._lock:
            self._counts["messagesSent"] += 1
            self._by_message_type[kind] += 1

    def concurrency(self, in_flight: int) -> None:
        with self._lock:
            self._max_concurrent = max(self._max_concurrent, in_flight)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            names = ("requests", "throttled", "messagesSent", "writes", "batches", "tokensIssued",
                     "tokenErrors", "faultsInjected", "messagesRejected", "sendLimitExceeded",
                     # change notifications: sent to subscribers, not Graph requests
                     "notificationsDelivered", "notificationsFailed", "notificationsDropped", "lifecycleDelivered",
                     "validations", "validationsFailed", "subscriptionsCreated", "subscriptionsRenewed",
                     "subscriptionsExpired")
            return {name: self._counts[name] for name in names} | {
                "byMethod": dict(self._by_method),
                "byStatus": dict(self._by_status),
                "messagesByType": dict(self._by_message_type),
                "maxConcurrentPerMailbox": self._max_concurrent,
                "since": self._since,
                "now": utc_iso(self._clock.now()),  # the sandbox clock (scaled by timeScale)
            }

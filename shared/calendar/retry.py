"""The one retry policy for Graph writes, owned here rather than left to the SDK.

The SDK's handler retries POST blindly and fails on fractional Retry-After values; this policy
honours Retry-After in every form Graph sends (integer, fractional, HTTP-date), falls back to
exponential backoff with jitter, and caps both.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tenacity import RetryCallState, wait_exponential_jitter

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait, from a Retry-After header; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial: float = 0.5
    cap: float = 60.0
    jitter: float = 0.5

    def wait(self) -> Callable[[RetryCallState], float]:
        """A tenacity wait: the server's Retry-After when it gave one, else backoff with jitter."""
        backoff = wait_exponential_jitter(initial=self.initial, max=self.cap, jitter=self.jitter)

        def _wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            retry_after = getattr(error, "retry_after", None)
            if isinstance(retry_after, (int, float)):
                return float(min(retry_after, self.cap))
            return float(backoff(state))

        return _wait

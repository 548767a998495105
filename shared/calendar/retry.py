"""The one retry policy for Graph, owned here rather than left to the SDK.

The SDK's handler retries POST blindly and fails on fractional Retry-After values. This
policy honours Retry-After in every form Graph sends (integer, fractional such as `2.128`,
HTTP-date), falls back to exponential backoff with jitter, and caps both. The same policy
drives top-level requests (through tenacity) and the sub-requests of a JSON batch (through
`delay`, because a batch retries each sub-request on its own schedule).

Whether a write may simply be sent again is not decided here: `not_attempted` says when
Graph surely did not run it, `outcome_unknown` when it may or may not have been applied; the
gateway resolves the latter by reading before writing again (a create looks its event up by
tag, a cancel reads its event by id).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tenacity import RetryCallState, wait_exponential_jitter

TRANSIENT_STATUS = frozenset({424, 429, 500, 502, 503, 504})
# Refused before anything happened, so the write may simply go again (nothing was sent):
# 429, throttled; 424 Failed Dependency, what a batch answers for a sub-request it never ran
# (https://learn.microsoft.com/graph/json-batching#sequencing-requests-with-the-dependson-property).
NOT_ATTEMPTED_STATUS = frozenset({424, 429})


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
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite: unreadable
        return None
    return max(0.0, seconds)


def transient(status: int | None) -> bool:
    """Worth another attempt: throttled, not attempted, a server or gateway error, or no answer (None)."""
    return status is None or status in TRANSIENT_STATUS


def not_attempted(status: int | None) -> bool:
    """Graph did not run the request (throttled, or a batch dependency failed): send it again as it is."""
    return status in NOT_ATTEMPTED_STATUS


def outcome_unknown(status: int | None) -> bool:
    """A write that got this answer may or may not have been applied.

    429 and 424 are refused before anything happens; other 4xx are refusals. A server error, a gateway
    timeout or a lost connection (None) say nothing about whether the mailbox committed it.
    """
    return status is None or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial: float = 0.5
    cap: float = 60.0
    jitter: float = 0.5

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`, after `attempt` attempts failed."""
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.cap))
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = max(attempt, 1)
        return float(self._backoff()(state))

    def wait(self) -> Callable[[RetryCallState], float]:
        """A tenacity wait: the server's Retry-After when it gave one, else backoff with jitter."""

        def _wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            retry_after = getattr(error, "retry_after", None)
            return self.delay(state.attempt_number, retry_after if isinstance(retry_after, (int, float)) else None)

        return _wait

    def _backoff(self) -> wait_exponential_jitter:
        return wait_exponential_jitter(multiplier=self.initial, max=self.cap, jitter=self.jitter)

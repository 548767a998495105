"""The one retry policy: Retry-After in every form Graph sends, backoff with jitter, a cap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from shared.calendar.retry import RetryPolicy, not_attempted, outcome_unknown, parse_retry_after, transient
from shared.errors import GraphError

NOW = datetime(2025, 1, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("2", 2.0), ("2.128", 2.128), (" 0.5 ", 0.5), ("0", 0.0), ("-3", 0.0),
    (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
    (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
])
def test_retry_after_in_every_form_graph_sends(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "nan", "inf", "Thu, 99 Foo 2027"])
def test_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False).map(lambda f: round(f, 3)))
def test_any_fractional_value_reads_back_exactly(value: float) -> None:
    assert parse_retry_after(f"{value}") == value


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(cap=30.0)
    assert policy.delay(1, 2.128) == 2.128
    assert policy.delay(5, 0.25) == 0.25  # the server's word wins over the attempt count
    assert policy.delay(1, 600.0) == 30.0


@given(st.integers(min_value=1, max_value=40))
def test_backoff_grows_with_jitter_and_never_passes_the_cap(attempt: int) -> None:
    policy = RetryPolicy(initial=0.5, cap=20.0, jitter=0.5)
    delay = policy.delay(attempt)
    base = min(0.5 * 2 ** (attempt - 1), 20.0)
    assert base <= delay <= min(base + 0.5, 20.0)


def test_backoff_is_jittered() -> None:
    policy = RetryPolicy(initial=1.0, jitter=1.0)
    assert len({round(policy.delay(3), 6) for _ in range(20)}) > 1


@pytest.mark.parametrize(("status", "retry", "unknown", "skipped"), [
    (429, True, False, True), (424, True, False, True), (500, True, True, False), (503, True, True, False),
    (504, True, True, False), (None, True, True, False),
    (400, False, False, False), (404, False, False, False), (409, False, False, False),
])
def test_what_is_retried_and_what_may_have_been_applied(status: int | None, retry: bool, unknown: bool,
                                                        skipped: bool) -> None:
    assert transient(status) is retry
    assert outcome_unknown(status) is unknown
    assert not_attempted(status) is skipped  # sent again as it is: nothing happened, no message charged


def test_tenacity_waits_what_graph_asked_for() -> None:
    waits: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> str:
        nonlocal calls
        policy = RetryPolicy()
        async for attempt in AsyncRetrying(retry=retry_if_exception_type(GraphError), wait=policy.wait(),
                                           stop=stop_after_attempt(3), sleep=sleep, reraise=True):
            with attempt:
                calls += 1
                if calls < 3:
                    raise GraphError("throttled", status=429, retry_after=[2.128, 0.75][calls - 1])
                return "ok"
        raise AssertionError("unreachable")

    assert asyncio.run(main()) == "ok"
    assert waits == [2.128, 0.75]


def test_a_request_graph_did_not_run_is_described_as_retried() -> None:
    from types import SimpleNamespace

    from shared.calendar.errors import graph_error

    shaped = SimpleNamespace(response_status_code=424, response_headers={},
                             error=SimpleNamespace(code="FailedDependency", message="depends on a failed request"))
    error = graph_error(shaped, action="invite the attendee")
    assert (error.status, error.code) == (424, "FailedDependency")
    assert str(error) == ("Graph did not run the request to invite the attendee (a request it depended on failed); "
                          "it is retried.")

"""Graph's `responseRequested` follows the invitation's content, through the real SDK client and the sandbox.

Graph's event defaults `responseRequested` to true (learn.microsoft.com/graph/api/resources/event):
a create says false unless the content asks, and a body update carries the content's value.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest_sandbox import Harness, gateway_harness_for, run_gateway

from shared.calendar.gateway import CreateWrite, NewEvent, UpdateWrite
from shared.calendar.retry import RetryPolicy
from shared.planning.content import EventContent

FAST = RetryPolicy(initial=0.05, cap=2.0, jitter=0.05)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from gateway_harness_for(tmp_path_factory)


def content(asks: bool) -> EventContent:
    start = (datetime.now(UTC) + timedelta(days=12)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    return EventContent("Session", "<p>Session</p>" + ("<p>Please answer</p>" if asks else ""),
                        start.isoformat(), (start + timedelta(hours=1)).isoformat(), "UTC", "Online",
                        response_requested=asks)


def create(tag: str, attendee: str, props: dict[str, Any]) -> CreateWrite:
    return CreateWrite(NewEvent(properties=props, attendee_email=attendee, attendee_name=None, tag=tag,
                                transaction_id=f"txn-{tag}", state=None))


def test_the_response_request_is_written_as_the_content_says(sandbox: Harness) -> None:
    sandbox.admin.reset()
    writes = [create("lcs1/O/A/kim@learners.example", "kim@learners.example", content(True).properties()),
              create("lcs1/O/A/lou@learners.example", "lou@learners.example", content(False).properties())]
    made = run_gateway(sandbox, lambda g: g.write(sandbox.organizer, writes), FAST)
    assert [r.status for r in made] == ["done", "done"]
    events = {e["id"]: e for e in sandbox.admin.calendar(sandbox.organizer)}
    assert [events[r.event_id or ""]["responseRequested"] for r in made] == [True, False]

    kim, lou = (r.event_id or "" for r in made)
    off, on = content(False).properties(), content(True).properties()
    updates = [UpdateWrite(kim, {"body": off["body"]}), UpdateWrite(lou, {"body": on["body"]})]
    changed = run_gateway(sandbox, lambda g: g.write(sandbox.organizer, updates), FAST)
    assert [r.status for r in changed] == ["done", "done"]
    events = {e["id"]: e for e in sandbox.admin.calendar(sandbox.organizer)}
    assert (events[kim]["responseRequested"], events[lou]["responseRequested"]) == (False, True)
    assert events[lou]["body"]["content"].endswith("<p>Please answer</p>")

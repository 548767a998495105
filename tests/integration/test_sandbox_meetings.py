"""Undocumented meeting behaviours, each behind a switch whose default is the worst plausible case.

Sources: learn.microsoft.com/graph/api/event-cancel (cancel sends a cancellation to every
attendee; what a second cancel answers is not documented: switch repeatCancel),
learn.microsoft.com/graph/api/user-post-events (transactionId "avoids redundant retries"; how long
it is remembered, and whether a cancelled event still answers for it, is not documented: switch
transactionIdAfterCancel) and learn.microsoft.com/graph/api/resources/event (subject; Exchange
keeps subjects to 255 characters, whether a longer one is refused or cut is not documented:
switches subjectOverLimit and subjectMaxLength).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest_sandbox import Harness

ADA = "ada@learners.example"


def invitation(subject: str = "Session", transaction_id: str | None = None) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=4)).replace(microsecond=0, tzinfo=None)
    body: dict[str, Any] = {
        "subject": subject, "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": ADA}}]}
    if transaction_id:
        body["transactionId"] = transaction_id
    return body


def post(sandbox: Harness, token: str, body: dict[str, Any]) -> httpx.Response:
    return sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=token, json=body)


def cancel(sandbox: Harness, token: str, event_id: str) -> httpx.Response:
    return sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events/{event_id}/cancel", token=token,
                       json={"Comment": "withdrawn"})


def kinds(sandbox: Harness) -> list[str]:
    return [m["type"] for m in sandbox.admin.messages(ADA)]


@pytest.mark.parametrize(("setting", "status", "code", "cancellations"), [
    (None, 202, None, 2),  # default "accepted": a second cancellation message
    ("accepted", 202, None, 2),
    ("notFound", 404, "ErrorItemNotFound", 1),
    ("badRequest", 400, "ErrorInvalidRequest", 1),
])
def test_a_second_cancel_answers_as_configured(sandbox: Harness, setting: str | None, status: int,
                                               code: str | None, cancellations: int) -> None:
    """event-cancel: repeatCancel accepted (default) | notFound | badRequest."""
    if setting is not None:
        sandbox.admin.configure(repeatCancel=setting)
    token = sandbox.token()
    event_id = post(sandbox, token, invitation()).json()["id"]

    first = cancel(sandbox, token, event_id)
    second = cancel(sandbox, token, event_id)

    assert first.status_code == 202
    assert second.status_code == status
    if code is not None:
        assert second.json()["error"]["code"] == code
    assert kinds(sandbox) == ["meetingRequest"] + ["meetingCancellation"] * cancellations


def test_a_repeated_transaction_id_after_a_cancel_returns_the_cancelled_event_by_default(sandbox: Harness) -> None:
    """user-post-events, transactionIdAfterCancel="returnsCancelled": 201 with the cancelled event, nothing sent."""
    token = sandbox.token()
    first = post(sandbox, token, invitation(transaction_id="txn-1")).json()
    cancel(sandbox, token, first["id"])

    again = post(sandbox, token, invitation(transaction_id="txn-1"))

    assert again.status_code == 201
    assert (again.json()["id"], again.json()["isCancelled"]) == (first["id"], True)
    assert kinds(sandbox) == ["meetingRequest", "meetingCancellation"]
    assert sandbox.admin.calendar(ADA) == []


def test_a_repeated_transaction_id_after_a_cancel_creates_a_new_event_when_switched(sandbox: Harness) -> None:
    sandbox.admin.configure(transactionIdAfterCancel="createsNew")
    token = sandbox.token()
    first = post(sandbox, token, invitation(transaction_id="txn-2")).json()
    cancel(sandbox, token, first["id"])

    again = post(sandbox, token, invitation(transaction_id="txn-2"))
    repeat = post(sandbox, token, invitation(transaction_id="txn-2"))

    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert again.json()["isCancelled"] is False
    assert repeat.json()["id"] == again.json()["id"]  # a live event still answers for its transactionId
    assert kinds(sandbox) == ["meetingRequest", "meetingCancellation", "meetingRequest"]


def test_a_subject_over_the_limit_is_refused_by_default(sandbox: Harness) -> None:
    """resources/event subject; subjectOverLimit="refuse", subjectMaxLength=255."""
    token = sandbox.token()

    refused = post(sandbox, token, invitation("x" * 300))
    accepted = post(sandbox, token, invitation("y" * 255))
    patched = sandbox.raw("PATCH", f"/v1.0/users/{sandbox.organizer}/events/{accepted.json()['id']}",
                          token=token, json={"subject": "z" * 256})

    assert refused.status_code == 400 and "subject" in refused.json()["error"]["message"]
    assert accepted.status_code == 201
    assert patched.status_code == 400
    assert kinds(sandbox) == ["meetingRequest"]


def test_a_subject_over_the_limit_is_cut_when_switched(sandbox: Harness) -> None:
    sandbox.admin.configure(subjectOverLimit="truncate", subjectMaxLength=100)

    created = post(sandbox, sandbox.token(), invitation("x" * 300))

    assert created.status_code == 201 and created.json()["subject"] == "x" * 100
    assert sandbox.admin.messages(ADA)[0]["meetingSubject"] == "x" * 100


def test_unknown_switch_values_are_refused_naming_the_key(sandbox: Harness) -> None:
    status, body = sandbox.admin.request("PATCH", "/config", {"repeatCancel": "twice"})

    assert status == 400 and "repeatCancel" in body["error"] and "notFound" in body["error"]

"""Batch sub-requests run concurrently and count against the mailbox's four concurrent requests.

Sources: learn.microsoft.com/graph/throttling-limits ("Outlook service limits for JSON batching":
Graph forwards up to four sub-requests of a batch to the mailbox at a time; 4 concurrent
requests per app and mailbox) and learn.microsoft.com/graph/json-batching (no order without
`dependsOn`; 424 for a request whose dependency failed).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest_sandbox import Harness

ATTENDEE = "pat@learners.example"
LATENCY = {"method": "GET", "path": "/users/*/events", "status": None, "latency": 0.3}


def window(hours_ahead: int) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=7, hours=hours_ahead)).replace(microsecond=0, tzinfo=None)
    return {"start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"}}


def create(step_id: str, organizer: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "method": "POST", "url": f"/users/{organizer}/events",
            "headers": {"Content-Type": "application/json"},
            "body": {"subject": f"Step {step_id}", **window(int(step_id) if step_id.isdigit() else 0),
                     "attendees": [{"emailAddress": {"address": ATTENDEE}}]}, **extra}


def gets(organizer: str, count: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "method": "GET", "url": f"/users/{organizer}/events?$top=1"} for i in range(count)]


def batch(sandbox: Harness, steps: list[dict[str, Any]], token: str) -> httpx.Response:
    return sandbox.raw("POST", "/v1.0/$batch", token=token, json={"requests": steps})


def test_two_concurrent_batches_to_one_mailbox_are_throttled_per_sub_request(sandbox: Harness) -> None:
    """throttling-limits: 4 concurrent requests per app and mailbox, batch sub-requests included."""
    sandbox.admin.configure(faults=[LATENCY])
    token = sandbox.token()
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(batch(sandbox, gets(sandbox.organizer, 8), token))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    subs = [r for answer in answers for r in answer.json()["responses"]]
    throttled = [r for r in subs if r["status"] == 429]
    assert len(subs) == 16 and throttled
    for response in throttled:
        assert response["body"]["error"]["code"] == "ApplicationThrottled"
        assert "MailboxConcurrency" in response["body"]["error"]["message"]
        assert float(response["headers"]["Retry-After"]) > 0
    stats = sandbox.admin.stats()
    assert stats["throttled"] == len(throttled)
    assert stats["maxConcurrentPerMailbox"] == 4


def test_one_batch_of_twenty_alone_runs_four_at_a_time_and_is_never_throttled(sandbox: Harness) -> None:
    """throttling-limits, "Outlook service limits for JSON batching": four sub-requests at a time."""
    sandbox.admin.configure(faults=[{**LATENCY, "latency": 0.05}])

    answer = batch(sandbox, gets(sandbox.organizer, 20), sandbox.token())

    assert sorted(r["status"] for r in answer.json()["responses"]) == [200] * 20
    stats = sandbox.admin.stats()
    assert (stats["requests"], stats["throttled"], stats["maxConcurrentPerMailbox"]) == (20, 0, 4)


def test_sequential_execution_switch_runs_one_at_a_time(sandbox: Harness) -> None:
    """Switch batchExecution="sequential": the lenient reading, one sub-request after another."""
    sandbox.admin.configure(batchExecution="sequential", faults=[{**LATENCY, "latency": 0.02}])

    answer = batch(sandbox, gets(sandbox.organizer, 6), sandbox.token())

    assert [r["id"] for r in answer.json()["responses"]] == [str(i) for i in range(6)]
    assert sandbox.admin.stats()["maxConcurrentPerMailbox"] == 1


def test_a_top_level_request_and_a_batch_share_the_mailbox_slots(sandbox: Harness) -> None:
    """throttling-limits: every request in flight to the mailbox counts, single or inside a batch."""
    sandbox.admin.configure(faults=[LATENCY])
    token = sandbox.token()
    answers: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: answers.append(batch(sandbox, gets(sandbox.organizer, 8), token)))
    runner.start()
    try:
        threading.Event().wait(0.1)
        single = sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/events", token=token)
    finally:
        runner.join()

    # Whichever came second found the four slots taken: the single request or a sub-request.
    bodies = [r["body"] for r in answers[0].json()["responses"] if r["status"] == 429]
    if single.status_code == 429:
        bodies.append(single.json())
        assert single.headers["Retry-After"]
    assert bodies and sandbox.admin.stats()["throttled"] == len(bodies)
    for body in bodies:
        assert body["error"]["code"] == "ApplicationThrottled"
        assert "MailboxConcurrency" in body["error"]["message"]


def test_independent_sub_requests_run_in_no_fixed_order(sandbox: Harness) -> None:
    """json-batching: without dependsOn, Graph runs a batch's requests in any order."""
    steps = [create(str(i), sandbox.organizer) for i in range(1, 9)]

    answer = batch(sandbox, steps, sandbox.token())

    assert sorted(r["status"] for r in answer.json()["responses"]) == [201] * 8
    received = [m["meetingSubject"] for m in sandbox.admin.messages(ATTENDEE)]
    assert sorted(received) == sorted(s["body"]["subject"] for s in steps)
    assert received != [s["body"]["subject"] for s in steps]


def test_depends_on_chains_keep_their_order(sandbox: Harness) -> None:
    """json-batching, "Sequencing requests with the dependsOn property"."""
    steps = [create("1", sandbox.organizer, dependsOn=["2"]), create("2", sandbox.organizer, dependsOn=["3"]),
             create("3", sandbox.organizer), create("4", sandbox.organizer, dependsOn=["1"])]

    answer = batch(sandbox, steps, sandbox.token())

    assert sorted(r["status"] for r in answer.json()["responses"]) == [201] * 4
    assert [m["meetingSubject"] for m in sandbox.admin.messages(ATTENDEE)] == ["Step 3", "Step 2", "Step 1", "Step 4"]


def test_a_dependency_cycle_is_refused_and_nothing_runs(sandbox: Harness) -> None:
    """json-batching: dependsOn names earlier requests; a cycle can never run."""
    steps = [create("1", sandbox.organizer, dependsOn=["2"]), create("2", sandbox.organizer, dependsOn=["1"])]

    answer = batch(sandbox, steps, sandbox.token())

    assert answer.status_code == 400 and "cycle" in answer.json()["error"]["message"]
    assert sandbox.admin.messages(ATTENDEE) == []

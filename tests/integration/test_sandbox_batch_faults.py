"""Fault kinds of JSON batching: a failed or lost envelope, and 424 Failed Dependency sub-responses.

Sources: learn.microsoft.com/graph/json-batching (the envelope's own status; a request whose
`dependsOn` failed answers 424) and learn.microsoft.com/graph/best-practices-concept (handle
transient 5xx and lost responses by retrying).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest_sandbox import Harness

ADA, BO = "ada@learners.example", "bo@learners.example"


def create(step_id: str, organizer: str, attendee: str, **extra: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0, tzinfo=None)
    return {"id": step_id, "method": "POST", "url": f"/users/{organizer}/events",
            "headers": {"Content-Type": "application/json"},
            "body": {"subject": f"Step {step_id}", "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                     "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
                     "attendees": [{"emailAddress": {"address": attendee}}]}, **extra}


def batch(sandbox: Harness, steps: list[dict[str, Any]]) -> httpx.Response:
    return sandbox.raw("POST", "/v1.0/$batch", token=sandbox.token(), json={"requests": steps})


def test_an_envelope_fault_fails_the_whole_batch_and_nothing_runs(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"method": "POST", "path": "/$batch", "status": 503, "times": 1,
                                     "retryAfter": 3}])

    failed = batch(sandbox, [create("1", sandbox.organizer, ADA)])
    retried = batch(sandbox, [create("1", sandbox.organizer, ADA)])

    assert failed.status_code == 503 and failed.headers["Retry-After"] == "3"
    assert failed.json()["error"]["code"] == "ServiceUnavailable"
    assert retried.status_code == 200 and retried.json()["responses"][0]["status"] == 201
    assert [m["type"] for m in sandbox.admin.messages(ADA)] == ["meetingRequest"]


def test_an_applied_envelope_fault_runs_every_sub_request_and_loses_the_answer(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"method": "POST", "path": "/$batch", "status": 504, "code": "GatewayTimeout",
                                     "applied": True, "times": 1}])

    lost = batch(sandbox, [create("1", sandbox.organizer, ADA), create("2", sandbox.organizer, BO)])

    assert lost.status_code == 504 and lost.json()["error"]["code"] == "GatewayTimeout"
    assert [m["type"] for m in sandbox.admin.messages(ADA)] == ["meetingRequest"]
    assert [m["type"] for m in sandbox.admin.messages(BO)] == ["meetingRequest"]


def test_rules_without_batch_in_their_path_leave_the_envelope_alone(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"status": 503, "times": 1}])

    answer = batch(sandbox, [create("1", sandbox.organizer, ADA)])

    assert answer.status_code == 200 and answer.json()["responses"][0]["status"] == 503


def test_a_424_fault_answers_failed_dependency_and_its_dependents_fail_too(sandbox: Harness) -> None:
    """json-batching: 424 Failed Dependency, for the request and for whatever depends on it."""
    sandbox.admin.configure(faults=[{"method": "POST", "path": "/users/*/events", "status": 424, "times": 1}])

    answer = batch(sandbox, [create("a", sandbox.organizer, ADA), create("b", sandbox.organizer, BO, dependsOn=["a"])])

    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert (by_id["a"]["status"], by_id["a"]["body"]["error"]["code"]) == (424, "FailedDependency")
    assert (by_id["b"]["status"], by_id["b"]["body"]["error"]["code"]) == (424, "FailedDependency")
    assert sandbox.admin.messages(ADA) == [] and sandbox.admin.messages(BO) == []
    assert sandbox.admin.stats()["faultsInjected"] == 1

"""Graph's throttling, Exchange's sending limits and the seeded fault plan.

Sources: learn.microsoft.com/graph/throttling-limits ("Outlook service limits": 10,000 requests
per 10 minutes and 4 concurrent requests per app and mailbox, answered 429 with Retry-After),
learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/
exchange-online-limits ("Sending limits": 30 messages a minute, 10,000 recipients a day) and
learn.microsoft.com/graph/api/user-post-events (transactionId against repeated creates).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
from conftest_sandbox import Harness

from tests.support.dates import local

ADA, BO, CY = "ada@learners.example", "bo@learners.example", "cy@learners.example"


def invitation(attendee: str, transaction_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Limits", "start": {"dateTime": local(30, "09:00"), "timeZone": "UTC"},
        "end": {"dateTime": local(30, "10:00"), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": attendee}}]}
    if transaction_id:
        body["transactionId"] = transaction_id
    return body


def post(sandbox: Harness, body: dict[str, Any]) -> httpx.Response:
    return sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=sandbox.token(), json=body)


def test_requests_over_the_window_limit_get_429_with_retry_after(sandbox: Harness) -> None:
    sandbox.admin.configure(requestsPer10Minutes=2)
    path = f"/v1.0/users/{sandbox.organizer}/events"
    token = sandbox.token()

    statuses = [sandbox.raw("GET", path, token=token) for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "ApplicationThrottled"
    assert 0 < float(statuses[2].headers["Retry-After"]) <= 600
    stats = sandbox.admin.stats()
    assert (stats["requests"], stats["throttled"]) == (3, 1)


def test_concurrent_requests_over_the_mailbox_limit_are_throttled(sandbox: Harness) -> None:
    sandbox.admin.configure(concurrentRequestsPerMailbox=1,
                            faults=[{"method": "GET", "path": "/users/*/events", "status": None, "latency": 0.4}])
    token = sandbox.token()
    results: list[httpx.Response] = []

    def get() -> None:
        results.append(sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/events", token=token))

    threads = [threading.Thread(target=get) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.status_code for r in results) == [200, 429]
    # learn.microsoft.com/graph/throttling-limits, "Outlook service limits": MailboxConcurrency.
    (throttled,) = [r for r in results if r.status_code == 429]
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]
    assert throttled.headers["Retry-After"] == "1"
    assert sandbox.admin.stats()["maxConcurrentPerMailbox"] == 1


def test_a_lost_response_after_a_committed_create_is_recovered_by_the_transaction_id(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"method": "POST", "path": "/users/*/events", "status": 504,
                                     "code": "GatewayTimeout", "applied": True, "times": 1, "retryAfter": 2.128}])

    lost = post(sandbox, invitation(ADA, "txn-lost"))
    retried = post(sandbox, invitation(ADA, "txn-lost"))

    assert lost.status_code == 504 and lost.headers["Retry-After"] == "2.128"
    assert retried.status_code == 201
    assert [m["type"] for m in sandbox.admin.messages(ADA)] == ["meetingRequest"]
    assert [c["id"] for c in sandbox.admin.calendar(sandbox.organizer)] == [retried.json()["id"]]
    assert sandbox.admin.stats()["faultsInjected"] == 1


def test_fault_probability_draws_repeat_for_the_same_seed(sandbox: Harness) -> None:
    def run() -> list[int]:
        sandbox.admin.configure(faultSeed=7, faults=[{"method": "GET", "path": "/users/*", "probability": 0.5}])
        token = sandbox.token()
        return [sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}", token=token).status_code for _ in range(12)]

    first, second = run(), run()

    assert first == second
    assert set(first) == {200, 503}


def test_over_the_per_minute_send_limit_is_recorded_by_default(sandbox: Harness) -> None:
    sandbox.admin.configure(messagesPerMinute=1)

    post(sandbox, invitation(ADA))
    post(sandbox, invitation(BO))

    assert [m["type"] for m in sandbox.admin.messages(BO)] == ["meetingRequest"]
    assert sandbox.admin.stats()["sendLimitExceeded"] == 1


def test_reject_mode_withholds_over_limit_messages_and_reports_non_delivery(sandbox: Harness) -> None:
    sandbox.admin.configure(messagesPerMinute=2, sendLimitMode="reject")

    for learner in (ADA, BO, CY):
        assert post(sandbox, invitation(learner)).status_code == 201

    assert sandbox.admin.messages(CY) == [] and sandbox.admin.calendar(CY) == []
    [report] = sandbox.admin.messages(sandbox.organizer)
    assert report["type"] == "nonDeliveryReport" and report["recipients"] == [CY]
    stats = sandbox.admin.stats()
    assert (stats["messagesSent"], stats["messagesRejected"]) == (2, 1)


def test_configuration_refuses_unknown_settings(sandbox: Harness) -> None:
    status, body = sandbox.admin.request("PATCH", "/config", {"requestsPerMinute": 5})

    assert status == 400 and "requestsPerMinute" in body["error"]

"""Change-notification subscriptions on a mailbox's events, delivered to an HTTPS receiver.

Sources: learn.microsoft.com/graph/api/subscription-post-subscriptions, /api/subscription-update,
/api/subscription-delete, /api/resources/subscription (Outlook event subscriptions: at most 10,080
minutes), learn.microsoft.com/graph/change-notifications-delivery-webhooks (HTTPS; validation
`POST {notificationUrl}?validationToken=…` answered within 10 seconds with 200, text/plain and the
decoded token, else no subscription; clientState in every notification; 2xx within 3 seconds or
retried for up to 4 hours), learn.microsoft.com/graph/change-notifications-lifecycle-events
(lifecycleNotificationUrl validated too; reauthorizationRequired before expiry, subscriptionRemoved,
missed) and learn.microsoft.com/graph/api/resources/changenotification (the payload).

This module runs its own sandbox: it speeds the sandbox clock up, which must not shift other tests'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest_sandbox import Harness, harness_for
from msgraph import GraphServiceClient
from msgraph.generated.models.subscription import Subscription

from tests.support.notification_receiver import Receiver, receiver, wait_for

ADA = "ada@learners.example"
STATE = "a-secret-client-state"


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from harness_for(tmp_path_factory)


@pytest.fixture
def sandbox(own_sandbox: Harness) -> Harness:
    own_sandbox.admin.reset()
    return own_sandbox


@pytest.fixture
def hook(sandbox: Harness, tmp_path: Path) -> Iterator[Receiver]:
    with receiver(Path(sandbox.info["dataDir"]), tmp_path) as found:
        yield found


def sandbox_now(sandbox: Harness) -> datetime:
    return datetime.fromisoformat(sandbox.admin.stats()["now"].replace("Z", "+00:00"))


def subscribe(sandbox: Harness, hook: Receiver, *, minutes: float = 60 * 24, lifecycle: bool = True,
              **overrides: Any) -> Any:
    body = {"changeType": "created,updated,deleted", "notificationUrl": hook.url(),
            "resource": f"users/{sandbox.organizer}/events", "clientState": STATE,
            "expirationDateTime": (sandbox_now(sandbox) + timedelta(minutes=minutes)).isoformat()}
    if lifecycle:
        body["lifecycleNotificationUrl"] = hook.url("/lifecycle")
    body.update(overrides)
    return sandbox.raw("POST", "/v1.0/subscriptions", token=sandbox.token(), json=body)


def create_event(sandbox: Harness, subject: str = "Session") -> dict[str, Any]:
    start = (sandbox_now(sandbox) + timedelta(days=5)).replace(microsecond=0, tzinfo=None)
    body = {"subject": subject, "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": ADA}}]}
    answer = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=sandbox.token(), json=body)
    assert answer.status_code == 201
    return dict(answer.json())


def test_the_sdk_creates_a_subscription_after_the_validation_handshake(sandbox: Harness, hook: Receiver) -> None:
    expiry = sandbox_now(sandbox) + timedelta(days=2)

    async def work(graph: GraphServiceClient) -> Subscription | None:
        return await graph.subscriptions.post(Subscription(
            change_type="created,updated,deleted", notification_url=hook.url(),
            lifecycle_notification_url=hook.url("/lifecycle"), resource=f"users/{sandbox.organizer}/events",
            expiration_date_time=expiry, client_state=STATE))

    created = sandbox.graph(work)

    assert created is not None and created.id and created.client_state == STATE
    assert created.expiration_date_time is not None
    assert abs(created.expiration_date_time - expiry) < timedelta(seconds=1)
    assert [v["path"] for v in hook.validations] == ["/notify", "/lifecycle"]  # both URLs validated
    assert all(v["token"].startswith("Validation: ") and " " in v["token"] for v in hook.validations)  # decoded
    assert all(v["contentType"].startswith("text/plain") for v in hook.validations)
    [listed] = sandbox.admin.subscriptions()
    assert (listed["id"], listed["mailbox"], listed["delivered"]) == (created.id, sandbox.organizer, 0)
    got = sandbox.raw("GET", f"/v1.0/subscriptions/{created.id}", token=sandbox.token())
    assert got.status_code == 200 and got.json()["resource"] == f"users/{sandbox.organizer}/events"


@pytest.mark.parametrize(("mode", "words"), [("wrong", "not the decoded validation token"),
                                             ("plain-json", "not text/plain")])
def test_a_wrong_validation_answer_refuses_the_subscription(sandbox: Harness, hook: Receiver, mode: str,
                                                            words: str) -> None:
    hook.validation = mode

    answer = subscribe(sandbox, hook)

    assert answer.status_code == 400 and answer.json()["error"]["code"] == "ValidationError"
    assert words in answer.json()["error"]["message"]
    assert sandbox.admin.subscriptions() == []


def test_a_slow_validation_answer_times_out(sandbox: Harness, hook: Receiver) -> None:
    sandbox.admin.configure(validationTimeoutSeconds=0.3)  # 10 seconds by default, as documented
    hook.validation_delay = 1.0

    answer = subscribe(sandbox, hook)

    assert answer.status_code == 400 and "timed out" in answer.json()["error"]["message"]
    assert sandbox.admin.subscriptions() == []


def test_an_http_notification_url_needs_the_switch(sandbox: Harness, tmp_path: Path) -> None:
    with receiver(None, tmp_path) as plain:
        refused = subscribe(sandbox, plain, lifecycle=False)
        sandbox.admin.configure(allowHttpNotificationUrl=True)
        allowed = subscribe(sandbox, plain, lifecycle=False)

    assert refused.status_code == 400 and "HTTPS" in refused.json()["error"]["message"]
    assert allowed.status_code == 201


def test_bad_subscription_requests_are_refused(sandbox: Harness, hook: Receiver) -> None:
    too_long = subscribe(sandbox, hook, minutes=10081)
    no_state = subscribe(sandbox, hook, clientState=None)
    bad_type = subscribe(sandbox, hook, changeType="moved")
    other = subscribe(sandbox, hook, resource="me/messages")

    assert too_long.status_code == 400 and too_long.json()["error"] == {
        **too_long.json()["error"], "code": "ExtensionError",
        "message": "Subscription expiration can only be 10080 minutes in the future."}
    assert no_state.status_code == 400 and "clientState" in no_state.json()["error"]["message"]
    assert bad_type.status_code == 400 and "changeType" in bad_type.json()["error"]["message"]
    assert other.status_code == 400 and "resource" in other.json()["error"]["message"]
    assert subscribe(sandbox, hook, minutes=10079).status_code == 201


def test_changes_are_notified_with_client_state_without_delaying_the_request(sandbox: Harness,
                                                                             hook: Receiver) -> None:
    subscription = subscribe(sandbox, hook).json()
    hook.notification_delay = 1.5  # a slow subscriber (still inside the 3 seconds) must not slow Graph down
    event = create_event(sandbox)
    started = time.monotonic()
    patched = sandbox.raw("PATCH", f"/v1.0/users/{sandbox.organizer}/events/{event['id']}", token=sandbox.token(),
                          json={"subject": "Renamed"})
    patch_seconds = time.monotonic() - started
    hook.notification_delay = 0.0
    sandbox.admin.respond(ADA, "accepted", subject="Renamed")  # Exchange records it: the organizer's event changes
    sandbox.raw("DELETE", f"/v1.0/users/{sandbox.organizer}/events/{event['id']}", token=sandbox.token())

    assert patched.status_code == 200 and patch_seconds < 1.0
    assert wait_for(lambda: len(hook.notifications()) == 4)
    notes = hook.notifications()
    assert [n["changeType"] for n in notes] == ["created", "updated", "updated", "deleted"]
    for note in notes:
        assert note["clientState"] == STATE and note["subscriptionId"] == subscription["id"]
        assert note["tenantId"] == sandbox.info["tenantId"]
        assert note["resourceData"]["id"] == event["id"] and note["resource"].endswith(f"/Events/{event['id']}")
        assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        assert note["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
    assert notes[1]["resourceData"]["@odata.etag"] == f'W/"{patched.json()["changeKey"]}"'
    assert wait_for(lambda: sandbox.admin.subscriptions()[0]["delivered"] == 4)
    assert hook.notifications("/lifecycle") == []
    # An attendee's own calendar is another mailbox: not covered by the organizer's subscription.
    assert all(ADA not in n["resource"] for n in notes)


def test_change_types_not_subscribed_are_not_sent(sandbox: Harness, hook: Receiver) -> None:
    subscribe(sandbox, hook, changeType="updated")
    event = create_event(sandbox)
    sandbox.admin.respond(ADA, "declined", subject="Session")

    assert wait_for(lambda: len(hook.notifications()) == 1)
    time.sleep(0.2)
    [note] = hook.notifications()
    assert (note["changeType"], note["resourceData"]["id"]) == ("updated", event["id"])


def test_failed_deliveries_are_retried(sandbox: Harness, hook: Receiver) -> None:
    subscribe(sandbox, hook)
    sandbox.admin.configure(timeScale=600.0)  # the first retry comes a sandbox minute later: 0.1 s here
    hook.fail_next = 2

    create_event(sandbox)

    assert wait_for(lambda: len(hook.notifications()) == 1)
    # the receiver holds the notification before its answer reaches the sandbox, which counts it then
    assert wait_for(lambda: sandbox.admin.subscriptions()[0]["delivered"] == 1)
    [listed] = sandbox.admin.subscriptions()
    assert (listed["failedAttempts"], listed["delivered"], listed["dropped"]) == (2, 1, 0)


def test_a_subscription_expires_on_the_sandbox_clock_unless_renewed(sandbox: Harness, hook: Receiver) -> None:
    renewed = subscribe(sandbox, hook, minutes=120).json()
    lapsed = subscribe(sandbox, hook, minutes=120, lifecycle=False).json()
    sandbox.admin.configure(timeScale=1800.0)  # an hour every two seconds

    assert wait_for(lambda: len(hook.notifications("/lifecycle")) >= 1, timeout=5)  # in the last hour
    [challenge] = hook.notifications("/lifecycle")[:1]
    assert (challenge["lifecycleEvent"], challenge["subscriptionId"]) == ("reauthorizationRequired", renewed["id"])
    assert challenge["clientState"] == STATE
    later = (sandbox_now(sandbox) + timedelta(days=3)).isoformat()
    patch = sandbox.raw("PATCH", f"/v1.0/subscriptions/{renewed['id']}", token=sandbox.token(),
                        json={"expirationDateTime": later})
    assert patch.status_code == 200 and patch.json()["expirationDateTime"] > renewed["expirationDateTime"]

    assert wait_for(lambda: [s["id"] for s in sandbox.admin.subscriptions()] == [renewed["id"]], timeout=5)
    gone = sandbox.raw("GET", f"/v1.0/subscriptions/{lapsed['id']}", token=sandbox.token())
    assert gone.status_code == 404
    assert sandbox.admin.stats()["subscriptionsExpired"] == 1


def test_renewing_beyond_the_limit_is_refused(sandbox: Harness, hook: Receiver) -> None:
    created = subscribe(sandbox, hook).json()
    too_far = (sandbox_now(sandbox) + timedelta(minutes=10090)).isoformat()

    answer = sandbox.raw("PATCH", f"/v1.0/subscriptions/{created['id']}", token=sandbox.token(),
                         json={"expirationDateTime": too_far})
    other = sandbox.raw("PATCH", f"/v1.0/subscriptions/{created['id']}", token=sandbox.token(),
                        json={"clientState": "new"})

    assert answer.status_code == 400 and answer.json()["error"]["code"] == "ExtensionError"
    assert other.status_code == 400 and "clientState" in other.json()["error"]["message"]


def test_delete_stops_notifications(sandbox: Harness, hook: Receiver) -> None:
    created = subscribe(sandbox, hook).json()

    deleted = sandbox.raw("DELETE", f"/v1.0/subscriptions/{created['id']}", token=sandbox.token())
    create_event(sandbox)
    time.sleep(0.2)

    assert deleted.status_code == 204 and hook.notifications() == [] and sandbox.admin.subscriptions() == []


def test_the_service_removing_a_subscription_says_so(sandbox: Harness, hook: Receiver) -> None:
    created = subscribe(sandbox, hook).json()

    sandbox.admin.remove_subscription(created["id"])

    assert wait_for(lambda: len(hook.notifications("/lifecycle")) == 1)
    [note] = hook.notifications("/lifecycle")
    assert (note["lifecycleEvent"], note["subscriptionId"], note["clientState"]) == (
        "subscriptionRemoved", created["id"], STATE)
    assert sandbox.raw("GET", f"/v1.0/subscriptions/{created['id']}", token=sandbox.token()).status_code == 404


def test_missed_notifications_fault_drops_them_and_can_say_so(sandbox: Harness, hook: Receiver) -> None:
    created = subscribe(sandbox, hook).json()
    sandbox.admin.configure(missedNotifications=1.0)
    create_event(sandbox, "Silent")
    sandbox.admin.configure(missedLifecycleEvent="sent")
    create_event(sandbox, "Said")

    assert wait_for(lambda: len(hook.notifications("/lifecycle")) == 1)
    time.sleep(0.2)
    assert hook.notifications() == []
    [note] = hook.notifications("/lifecycle")
    assert (note["lifecycleEvent"], note["subscriptionId"]) == ("missed", created["id"])
    assert wait_for(lambda: sandbox.admin.subscriptions()[0]["delivered"] == 1)  # counted once answered
    [listed] = sandbox.admin.subscriptions()
    assert (listed["dropped"], listed["missed"], listed["delivered"]) == (2, 1, 1)  # the lifecycle event delivered


def test_half_the_notifications_can_go_missing(sandbox: Harness, hook: Receiver) -> None:
    subscribe(sandbox, hook)
    sandbox.admin.configure(missedNotifications=0.5, faultSeed=7)
    for n in range(20):
        create_event(sandbox, f"S{n}")

    assert wait_for(lambda: sandbox.admin.pending_notifications() == 0)
    [listed] = sandbox.admin.subscriptions()
    assert listed["dropped"] + listed["delivered"] == 20 and 3 <= listed["dropped"] <= 17
    assert len(hook.notifications()) == listed["delivered"]


def test_an_unanswered_reauthorization_pauses_delivery_until_reauthorized(sandbox: Harness, hook: Receiver) -> None:
    """lifecycle-events: without an answer to reauthorizationRequired, delivery eventually pauses and the
    notifications meanwhile are lost; subscription-reauthorize resumes it (switch reauthorizationGraceMinutes)."""
    created = subscribe(sandbox, hook, minutes=61).json()
    sandbox.admin.configure(reauthorizationGraceMinutes=1, timeScale=600.0)  # a sandbox minute per 0.1 s
    assert wait_for(lambda: len(hook.notifications("/lifecycle")) >= 1, timeout=5)
    time.sleep(0.3)  # the grace minute passes
    sandbox.admin.configure(timeScale=1.0)

    create_event(sandbox, "Lost")
    reauthorized = sandbox.raw("POST", f"/v1.0/subscriptions/{created['id']}/reauthorize", token=sandbox.token())
    kept = create_event(sandbox, "Kept")

    assert reauthorized.status_code == 204
    assert wait_for(lambda: len(hook.notifications()) == 1)
    time.sleep(0.2)
    assert [n["resourceData"]["id"] for n in hook.notifications()] == [kept["id"]]
    assert wait_for(lambda: sandbox.admin.subscriptions()[0]["delivered"]
                    - sandbox.admin.subscriptions()[0]["reauthorizationRequired"] == 1)  # counted once answered
    [listed] = sandbox.admin.subscriptions()
    assert (listed["paused"], listed["delivered"] - listed["reauthorizationRequired"]) == (1, 1)

"""The Graph gateway against the sandbox: JSON batches, per-sub-request retries, no blind creates.

The gateway is the product's (`GraphCalendar` over the real msgraph-sdk client); the sandbox
runs in this process and injects the faults.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from conftest_sandbox import Harness, gateway_harness_for, run_gateway

from shared.calendar.batch import SubRequest, decode, encode
from shared.calendar.gateway import CancelWrite, CreateWrite, NewEvent, UpdateWrite, WriteResult
from shared.calendar.graph_client import build_graph_client
from shared.calendar.graph_gateway import GraphCalendar
from shared.calendar.retry import RetryPolicy
from tests.support.dates import local, moved, zulu

SESSION_START = local(30, "09:00")

T = TypeVar("T")
FAST = RetryPolicy(initial=0.05, cap=5.0, jitter=0.05)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A sandbox of this module's own; the product's Graph client trusts the CA named by SSL_CERT_FILE."""
    yield from gateway_harness_for(tmp_path_factory)


@pytest.fixture(autouse=True)
def fresh(request: pytest.FixtureRequest) -> None:
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").admin.reset()


def gateway_run(sandbox: Harness, work: Callable[[GraphCalendar], Awaitable[T]]) -> T:
    return run_gateway(sandbox, work, FAST)


def invitation(n: int, *, transaction: str | None = None) -> NewEvent:
    return NewEvent(
        properties={
            "subject": f"Session {n}", "body": {"contentType": "html", "content": f"<p>Session {n}</p>"},
            "start": {"dateTime": SESSION_START, "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": moved(SESSION_START, clock="10:00"), "timeZone": "W. Europe Standard Time"},
            "location": {"displayName": "Online"},
        },
        attendee_email=f"learner{n}@learners.example", attendee_name=None, tag=f"lcs1/O/A/learner{n}@learners.example",
        transaction_id=transaction or f"txn-{n}", state=f"state-{n}",
    )


def creates(count: int, **kw: Any) -> list[CreateWrite]:
    return [CreateWrite(invitation(n), **kw) for n in range(count)]


def requests_received(sandbox: Harness, n: int) -> int:
    return sum(1 for m in sandbox.admin.messages(f"learner{n}@learners.example") if m["type"] == "meetingRequest")


def test_a_batch_item_is_graphs_json_with_depends_on_spelt_right() -> None:
    item = SubRequest("2", "POST", "/users/x/events", {"content-type": "application/json"}, {"a": 1}, ("1",))
    payload = json.loads(encode([item]))
    assert payload == {"requests": [{"id": "2", "method": "POST", "url": "/users/x/events",
                                     "headers": {"content-type": "application/json"}, "body": {"a": 1},
                                     "dependsOn": ["1"]}]}
    answer = json.dumps({"responses": [{"id": "2", "status": 429, "headers": {"Retry-After": "2.128"}}]}).encode()
    (response,) = decode(answer, [item])
    assert (response.status, response.retry_after) == (429, 2.128)
    (missing,) = decode(b'{"responses": []}', [item])
    assert missing.status is None  # no answer for it: outcome unknown


def _without_odata_types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_odata_types(v) for k, v in value.items() if k != "@odata.type"}
    if isinstance(value, list):
        return [_without_odata_types(v) for v in value]
    return value


def test_batch_bodies_are_what_the_sdk_serializer_writes_for_the_typed_models() -> None:
    """The plain JSON bodies equal the SDK's serialization of the same typed models (annotations aside)."""
    from azure.identity import ClientSecretCredential
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.location import Location
    from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
    from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

    from shared.calendar.gateway import STATE_PROPERTY_ID, TAG_PROPERTY_ID
    from shared.calendar.graph_gateway import Requests

    client = build_graph_client(ClientSecretCredential("t", "c", "s"), "https://127.0.0.1:9/v1.0")
    events = client.users.by_user_id("coordinator@contoso.example").events
    requests = Requests(events, client.request_adapter.base_url)
    event = invitation(7)
    props = event.properties
    typed = Event(
        subject=props["subject"], body=ItemBody(content_type=BodyType.Html, content=props["body"]["content"]),
        start=DateTimeTimeZone(date_time=props["start"]["dateTime"], time_zone=props["start"]["timeZone"]),
        end=DateTimeTimeZone(date_time=props["end"]["dateTime"], time_zone=props["end"]["timeZone"]),
        location=Location(display_name=props["location"]["displayName"]),
        attendees=[Attendee(email_address=EmailAddress(address=event.attendee_email), type=AttendeeType.Required)],
        response_requested=False, allow_new_time_proposals=False, is_reminder_on=True,
        transaction_id=event.transaction_id,
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=TAG_PROPERTY_ID, value=event.tag),
                                          SingleValueLegacyExtendedProperty(id=STATE_PROPERTY_ID, value=event.state)],
    )
    sdk = events.to_post_request_information(typed, RequestConfiguration())
    ours = requests.create("1", event)
    assert ours.body == _without_odata_types(json.loads(sdk.content))
    assert (ours.method, ours.url) == ("POST", "/users/coordinator%40contoso.example/events")

    patch = Event(location=Location(display_name="Room 2"), single_value_extended_properties=[
        SingleValueLegacyExtendedProperty(id=STATE_PROPERTY_ID, value="s2")])
    sdk = events.by_event_id("AA=").to_patch_request_information(patch, RequestConfiguration())
    ours = requests.update("2", "AA=", {"location": {"displayName": "Room 2"}}, "s2")
    assert ours.body == _without_odata_types(json.loads(sdk.content)) and ours.url.endswith("/events/AA%3D")

    asking = {"contentType": "html", "content": "<p>Hi</p>", "responseRequested": True}
    patch = Event(body=ItemBody(content_type=BodyType.Html, content="<p>Hi</p>"), response_requested=True)
    sdk = events.by_event_id("AA=").to_patch_request_information(patch, RequestConfiguration())
    ours = requests.update("4", "AA=", {"body": asking}, None)
    assert ours.body == _without_odata_types(json.loads(sdk.content))

    sdk = events.by_event_id("AA=").cancel.to_post_request_information(CancelPostRequestBody(comment="Bye."),
                                                                        RequestConfiguration())
    ours = requests.cancel("3", "AA=", "Bye.")
    assert ours.body == json.loads(sdk.content) and ours.url.endswith("/events/AA%3D/cancel")


def test_twenty_writes_are_one_envelope(sandbox: Harness) -> None:
    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(20)))
    assert [r.status for r in results] == ["done"] * 20 and sum(r.messages for r in results) == 20
    stats = sandbox.admin.stats()
    assert (stats["batches"], stats["requests"], stats["messagesSent"]) == (1, 20, 20)


def test_throttled_sub_requests_wait_their_fractional_retry_after_and_go_alone(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"status": 429, "code": "ApplicationThrottled", "method": "POST",
                                     "path": "/users/*/events", "after": 2, "times": 3, "retryAfter": 0.45}])
    started = time.monotonic()
    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(10)))
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["done"] * 10
    assert all(requests_received(sandbox, n) == 1 for n in range(10))
    stats = sandbox.admin.stats()
    assert (stats["throttled"], stats["requests"], stats["batches"]) == (3, 13, 2)  # only the three went again
    assert 0.45 <= elapsed < 4.0


def test_a_create_whose_answer_was_lost_is_looked_up_not_sent_again(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"status": 504, "code": "GatewayTimeout", "method": "POST",
                                     "path": "/users/*/events", "applied": True, "times": 2}])
    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(5)))
    assert [r.status for r in results] == ["done"] * 5
    assert sum(r.adopted for r in results) == 2
    assert all(requests_received(sandbox, n) == 1 for n in range(5))
    assert len(sandbox.admin.calendar(sandbox.organizer)) == 5
    assert sandbox.admin.stats()["byMethod"] == {"POST": 5, "GET": 2}


def test_a_create_that_failed_before_landing_is_created_after_the_lookup(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"status": 503, "method": "POST", "path": "/users/*/events", "times": 1,
                                     "retryAfter": 0.1}])
    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(1)))
    assert results[0].status == "done" and not results[0].adopted and results[0].messages == 1
    assert sandbox.admin.stats()["byMethod"] == {"POST": 2, "GET": 1}  # create, lookup (nothing), create
    assert requests_received(sandbox, 0) == 1


def test_cancels_and_updates_after_lost_answers(sandbox: Harness) -> None:
    created = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(2)))
    ids = [r.event_id or "" for r in created]
    sandbox.admin.configure(faults=[
        {"status": 504, "method": "POST", "path": "/users/*/events/*/cancel", "applied": True, "times": 1},
        {"status": 504, "method": "PATCH", "path": "/users/*/events/*", "applied": True, "times": 1},
    ])
    extra: list[bool] = []

    async def deny() -> bool:
        extra.append(False)
        return False

    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, [
        CancelWrite("lcs1/O/A/learner0@learners.example", "Withdrawn.", ids[0]),
        UpdateWrite(ids[1], {"location": {"displayName": "Room 2"}}, "state-new"),
    ], extra_message=deny))
    cancel, update = results
    assert cancel == WriteResult("done", event_id=ids[0], messages=1)  # the repeat was "not found": done
    assert (update.status, update.error, update.messages) == ("unknown", None, 1)  # no budget to send it twice
    assert extra == [False]
    kinds = [m["type"] for m in sandbox.admin.messages("learner0@learners.example")]
    assert kinds == ["meetingRequest", "meetingCancellation"]
    assert [m["type"] for m in sandbox.admin.messages("learner1@learners.example")] == ["meetingRequest",
                                                                                        "meetingUpdate"]


def test_never_more_than_four_requests_in_flight_per_mailbox(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[{"status": None, "method": "POST", "path": "/users/*/events", "latency": 0.05}])

    async def many(g: GraphCalendar) -> list[list[WriteResult]]:
        batches = [[CreateWrite(invitation(10 * b + n)) for n in range(2)] for b in range(8)]
        return await asyncio.gather(*(g.write(sandbox.organizer, writes) for writes in batches))

    results = gateway_run(sandbox, many)
    assert all(r.status == "done" for batch in results for r in batch)
    stats = sandbox.admin.stats()
    assert stats["maxConcurrentPerMailbox"] == 4 and stats["throttled"] == 0


def test_a_transaction_id_of_a_cancelled_meeting_is_reported_superseded(sandbox: Harness) -> None:
    async def work(g: GraphCalendar) -> WriteResult:
        (first,) = await g.write(sandbox.organizer, creates(1))
        await g.write(sandbox.organizer, [CancelWrite(invitation(0).tag, "Gone.", first.event_id)])
        (again,) = await g.write(sandbox.organizer, creates(1))
        return again

    again = gateway_run(sandbox, work)
    assert again.status == "done" and again.superseded and again.event_id is None


def test_lookups_outside_batches_honour_fractional_retry_after(sandbox: Harness) -> None:
    gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(3)))
    sandbox.admin.configure(faults=[{"status": 429, "method": "GET", "path": "/users/*/events", "times": 2,
                                     "retryAfter": 0.35}])
    started = time.monotonic()
    found = gateway_run(sandbox, lambda g: g.find_by_tag(sandbox.organizer, invitation(1).tag))
    assert len(found) == 1 and time.monotonic() - started >= 0.7


def test_tagged_events_carry_their_state(sandbox: Harness) -> None:
    gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(3)))

    async def listing(g: GraphCalendar) -> list[tuple[str, str | None, str | None]]:
        return sorted([(e.tag, e.state, e.start_utc) async for e in g.tagged_events(sandbox.organizer)])

    events = gateway_run(sandbox, listing)
    assert [(tag, state) for tag, state, _ in events] == [(invitation(n).tag, f"state-{n}") for n in range(3)]
    in_utc = zulu(SESSION_START, "Europe/Berlin")[:-1]  # W. Europe Standard Time is Berlin's
    assert all(start and start.startswith(in_utc) for _, _, start in events)


def test_has_tagged_events_reads_only_until_the_first(sandbox: Harness) -> None:
    assert gateway_run(sandbox, lambda g: g.has_tagged_events(sandbox.organizer)) is False
    results = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(20)))
    sandbox.admin.reset_stats()
    assert gateway_run(sandbox, lambda g: g.has_tagged_events(sandbox.organizer)) is True
    assert sandbox.admin.stats()["requests"] == 1  # the first small page answered; the rest was never read

    cancels = [CancelWrite(invitation(n).tag, "Cancelled.", r.event_id) for n, r in enumerate(results)]
    gateway_run(sandbox, lambda g: g.write(sandbox.organizer, cancels))
    assert gateway_run(sandbox, lambda g: g.has_tagged_events(sandbox.organizer)) is False  # cancelled ones don't count


def test_an_update_of_a_meeting_deleted_by_hand_ends_gone(sandbox: Harness) -> None:
    [made] = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, creates(1)))
    sandbox.graph(lambda client: client.users.by_user_id(sandbox.organizer).events.by_event_id(
        made.event_id).delete())  # deleted in the organizer's mailbox, not through the sync
    assert sandbox.admin.calendar(sandbox.organizer) == []
    [result] = gateway_run(sandbox, lambda g: g.write(sandbox.organizer, [UpdateWrite(made.event_id or "", {
        "subject": "Moved"})]))
    assert (result.status, result.messages, result.error) == ("gone", 0, None)

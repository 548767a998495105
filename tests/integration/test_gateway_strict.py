"""The Graph gateway against the strict sandbox: what a tenant answers that the sync must not trust.

- learn.microsoft.com/graph/json-batching: sub-requests run in no set order, up to four at a
  time per mailbox; 424 Failed Dependency for a request that was not run.
- microsoft/kiota issues 1445 and 1651: `%24filter` inside a batch is not understood (the
  sandbox's `encodedBatchQueryOptions: ignored`, its default, answers the unfiltered page).
- Graph compares extended-property values in `$filter` case-insensitively (the sandbox's
  `extendedPropertyFilterCase: insensitive`, its default); feed ids are case-sensitive.

The gateway is the product's (`GraphCalendar` over the real msgraph-sdk client); events are
planted through Graph with the same client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from conftest_sandbox import Harness, gateway_harness_for, run_gateway

from shared.calendar.gateway import CancelWrite, CreateWrite, NewEvent, UpdateWrite, WriteResult
from shared.calendar.graph_client import build_graph_client
from shared.calendar.graph_gateway import GraphCalendar, Requests
from shared.calendar.retry import RetryPolicy

T = TypeVar("T")
FAST = RetryPolicy(initial=0.05, cap=2.0, jitter=0.05)
TARGET = "lcs1/OFF-7/ACT-1/kim@learners.example"
CASE_TWINS = ["lcs1/off-7/act-1/kim@learners.example", "LCS1/OFF-7/ACT-1/KIM@learners.example",
              "lcs1/OFF-7/ACT-1/Kim@learners.example"]
OTHERS = [f"lcs1/OFF-7/ACT-1/other{n}@learners.example" for n in range(4)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from gateway_harness_for(tmp_path_factory)


@pytest.fixture(autouse=True)
def fresh(sandbox: Harness) -> None:
    sandbox.admin.reset()
    config = sandbox.admin.configure()
    assert (config["encodedBatchQueryOptions"], config["extendedPropertyFilterCase"]) == ("ignored", "insensitive")


def run(sandbox: Harness, work: Callable[[GraphCalendar], Awaitable[T]]) -> T:
    return run_gateway(sandbox, work, FAST)


def event(tag: str, attendee: str, *, n: int = 0) -> NewEvent:
    start = (datetime.now(UTC) + timedelta(days=10, hours=n)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    return NewEvent(
        properties={
            "subject": f"Session for {attendee}", "body": {"contentType": "html", "content": "<p>Session</p>"},
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "location": {"displayName": "Online"},
        },
        attendee_email=attendee, attendee_name=None, tag=tag, transaction_id=f"txn-{tag}", state=None,
    )


def attendee_of(tag: str) -> str:
    return tag.rsplit("/", 1)[1].lower()


def plant(sandbox: Harness, tags: list[str]) -> dict[str, str]:
    """Events carrying these tags, created through Graph; each tag's own attendee is its last part."""
    writes = [CreateWrite(event(tag, f"{n}-{attendee_of(tag)}", n=n)) for n, tag in enumerate(tags)]
    results = run(sandbox, lambda g: g.write(sandbox.organizer, writes))
    assert all(r.status == "done" and r.event_id for r in results)
    return {tag: r.event_id or "" for tag, r in zip(tags, results, strict=True)}


def organizer_events(sandbox: Harness) -> dict[str, dict[str, Any]]:
    """The organizer's live (not cancelled) events by id."""
    return {e["id"]: e for e in sandbox.admin.calendar(sandbox.organizer)}


def kinds(sandbox: Harness, address: str) -> list[str]:
    return [m["type"] for m in sandbox.admin.messages(address)]


def test_batch_urls_carry_system_query_options_with_a_literal_dollar() -> None:
    from azure.identity import ClientSecretCredential

    client = build_graph_client(ClientSecretCredential("t", "c", "s"), "https://127.0.0.1:9/v1.0")
    requests = Requests(client.users.by_user_id("coordinator@contoso.example").events, client.request_adapter.base_url)
    lookup = requests.find("1", TARGET).url
    assert "%24" not in lookup
    names = {part.split("=", 1)[0] for part in lookup.split("?")[1].split("&")}
    assert {"$filter", "$select", "$expand", "$top"} <= names
    assert "$filter%3Did%20eq" in lookup  # the tag property expanded by its own filter
    assert requests.read("2", "AA=").url.endswith("/events/AA%3D?$select=id,isCancelled")


def test_a_lookup_after_a_lost_create_adopts_only_its_own_event(sandbox: Harness) -> None:
    planted = plant(sandbox, CASE_TWINS + OTHERS)
    sandbox.admin.configure(faults=[{"status": 504, "code": "GatewayTimeout", "method": "POST",
                                     "path": "/users/*/events", "applied": True, "times": 1}])
    (result,) = run(sandbox, lambda g: g.write(sandbox.organizer, [CreateWrite(event(TARGET, "kim@learners.example"))]))
    assert result.status == "done" and result.adopted and result.event_id not in planted.values()
    events = organizer_events(sandbox)
    assert events[result.event_id or ""]["tag"] == TARGET
    assert set(planted.values()) <= set(events)  # nobody else's meeting was cancelled
    assert kinds(sandbox, "kim@learners.example") == ["meetingRequest"]
    for n, tag in enumerate(CASE_TWINS + OTHERS):
        assert kinds(sandbox, f"{n}-{attendee_of(tag)}") == ["meetingRequest"]


def test_a_create_to_resume_is_sent_when_only_look_alikes_are_there(sandbox: Harness) -> None:
    planted = plant(sandbox, CASE_TWINS + OTHERS)
    (result,) = run(sandbox, lambda g: g.write(
        sandbox.organizer, [CreateWrite(event(TARGET, "kim@learners.example"), look_first=True)]))
    assert result.status == "done" and not result.adopted and result.messages == 1
    assert result.event_id not in planted.values()
    events = organizer_events(sandbox)
    assert events[result.event_id or ""]["tag"] == TARGET and len(events) == len(planted) + 1  # none cancelled
    assert kinds(sandbox, "kim@learners.example") == ["meetingRequest"]


def test_a_cancel_by_tag_cancels_its_own_events_and_no_look_alike(sandbox: Harness) -> None:
    planted = plant(sandbox, [*CASE_TWINS, *OTHERS, TARGET])
    own = planted[TARGET]
    (nothing,) = run(sandbox, lambda g: g.write(sandbox.organizer, [CancelWrite(TARGET.upper(), "Withdrawn.")]))
    assert nothing == WriteResult("done")  # no event carries exactly that tag: nothing to cancel
    (cancel,) = run(sandbox, lambda g: g.write(sandbox.organizer, [CancelWrite(TARGET, "Withdrawn.")]))
    assert (cancel.status, cancel.messages) == ("done", 1)
    events = organizer_events(sandbox)
    assert set(planted.values()) - set(events) == {own}
    assert sum(kind == "meetingCancellation" for n in range(len(planted))
               for kind in kinds(sandbox, f"{n}-{attendee_of(list(planted)[n])}")) == 1


def test_find_by_tag_compares_the_tag_exactly(sandbox: Harness) -> None:
    planted = plant(sandbox, [*CASE_TWINS, TARGET])
    found = run(sandbox, lambda g: g.find_by_tag(sandbox.organizer, TARGET))
    assert found == [planted[TARGET]]
    assert run(sandbox, lambda g: g.find_by_tag(sandbox.organizer, TARGET.replace("kim", "KIM"))) == []


def test_a_lookup_reads_every_page_before_it_concludes(sandbox: Harness) -> None:
    """More case twins than one page holds: the own event on a later page is still adopted, not created again."""
    twins = [f"lcs1/OFF-7/ACT-1/{''.join(c.upper() if (n >> i) & 1 else c for i, c in enumerate('kim'))}"
             f"@learners.example" for n in range(1, 8)]
    twins += [t.replace("OFF-7", "off-7") for t in twins] + [t.replace("ACT-1", "act-1") for t in twins]
    twins += [t.replace("lcs1", "LCS1") for t in twins[:10]]
    planted = plant(sandbox, [*twins[:20], TARGET]) | plant(sandbox, twins[20:])
    assert len(planted) > 25  # more than one page of the look-up
    (result,) = run(sandbox, lambda g: g.write(
        sandbox.organizer, [CreateWrite(event(TARGET, "kim@learners.example"), look_first=True)]))
    assert result.status == "done" and result.adopted and result.event_id == planted[TARGET]


def test_a_batch_envelope_lost_after_it_ran_and_424s_leave_no_duplicate(sandbox: Harness) -> None:
    sandbox.admin.configure(faults=[
        {"status": 504, "code": "GatewayTimeout", "method": "POST", "path": "/$batch", "applied": True, "times": 1},
        {"status": 503, "method": "POST", "path": "/$batch", "times": 1, "retryAfter": 0.05},
        {"status": 424, "code": "FailedDependency", "method": "GET", "path": "/users/*/events", "times": 3},
    ])
    tags = [f"lcs1/OFF-8/ACT-1/p{n}@learners.example" for n in range(8)]
    results = run(sandbox, lambda g: g.write(sandbox.organizer, [CreateWrite(event(t, attendee_of(t), n=n))
                                                                   for n, t in enumerate(tags)]))
    assert [r.status for r in results] == ["done"] * 8
    assert all(r.adopted for r in results)  # the first envelope ran, its answer was lost: every create is found
    events = organizer_events(sandbox)
    assert sorted(e["tag"] for e in events.values()) == sorted(tags)
    assert all(kinds(sandbox, attendee_of(t)) == ["meetingRequest"] for t in tags)
    stats = sandbox.admin.stats()
    assert stats["faultsInjected"] >= 3 and stats["throttled"] == 0


def test_424_sub_responses_are_sent_again_and_charge_no_message(sandbox: Harness) -> None:
    planted = plant(sandbox, OTHERS[:2])
    sandbox.admin.configure(faults=[
        {"status": 424, "code": "FailedDependency", "method": "*", "path": "/users/*/events*", "times": 3},
    ])
    results = run(sandbox, lambda g: g.write(sandbox.organizer, [
        CreateWrite(event(TARGET, "kim@learners.example")),
        UpdateWrite(planted[OTHERS[0]], {"location": {"displayName": "Room 2"}}),
        CancelWrite(OTHERS[1], "Withdrawn.", planted[OTHERS[1]]),
    ]))
    assert [(r.status, r.messages, r.adopted) for r in results] == [("done", 1, False)] * 3
    assert sandbox.admin.stats()["byMethod"].get("GET", 0) == 0  # not attempted: no look-up, no check
    assert kinds(sandbox, "kim@learners.example") == ["meetingRequest"]
    assert kinds(sandbox, f"0-{attendee_of(OTHERS[0])}") == ["meetingRequest", "meetingUpdate"]
    assert kinds(sandbox, f"1-{attendee_of(OTHERS[1])}") == ["meetingRequest", "meetingCancellation"]


def test_a_cancel_whose_answer_was_lost_is_read_back_not_repeated(sandbox: Harness) -> None:
    planted = plant(sandbox, OTHERS)
    sandbox.admin.configure(faults=[{"status": 504, "code": "GatewayTimeout", "method": "POST",
                                     "path": "/users/*/events/*/cancel", "applied": True, "times": 2}])
    results = run(sandbox, lambda g: g.write(sandbox.organizer, [
        CancelWrite(tag, "Withdrawn.", event_id) for tag, event_id in planted.items()]))
    assert [(r.status, r.messages) for r in results] == [("done", 1)] * 4
    for n, tag in enumerate(OTHERS):
        assert kinds(sandbox, f"{n}-{attendee_of(tag)}") == ["meetingRequest", "meetingCancellation"]
    assert sandbox.admin.stats()["byMethod"] == {"POST": 4 + 4, "GET": 2}  # creates, cancels; two read back


def test_a_cancel_checked_first_sends_nothing_for_a_meeting_already_cancelled(sandbox: Harness) -> None:
    planted = plant(sandbox, OTHERS[:2])
    first, second = (planted[t] for t in OTHERS[:2])
    run(sandbox, lambda g: g.write(sandbox.organizer, [CancelWrite(OTHERS[0], "Withdrawn.", first)]))
    results = run(sandbox, lambda g: g.write(sandbox.organizer, [
        CancelWrite(OTHERS[0], "Withdrawn.", first, check_first=True),
        CancelWrite(OTHERS[1], "Withdrawn.", second, check_first=True),
    ]))
    assert [(r.status, r.messages) for r in results] == [("done", 0), ("done", 1)]
    assert kinds(sandbox, f"0-{attendee_of(OTHERS[0])}") == ["meetingRequest", "meetingCancellation"]
    assert kinds(sandbox, f"1-{attendee_of(OTHERS[1])}") == ["meetingRequest", "meetingCancellation"]


def test_an_update_of_a_meeting_deleted_by_hand_ends_gone(sandbox: Harness) -> None:
    planted = plant(sandbox, OTHERS[:1])
    event_id = planted[OTHERS[0]]

    async def delete(client: Any) -> None:
        await client.users.by_user_id(sandbox.organizer).events.by_event_id(event_id).delete()

    sandbox.graph(delete)
    (result,) = run(sandbox, lambda g: g.write(sandbox.organizer, [
        UpdateWrite(event_id, {"location": {"displayName": "Room 2"}})]))
    assert (result.status, result.event_id, result.messages, result.error) == ("gone", event_id, 0, None)

"""An attendee answers a meeting: `POST /_sandbox/mailboxes/{address}/respond`.

Sources: learn.microsoft.com/graph/api/event-accept, /event-tentativelyaccept, /event-decline (the
attendee's answer, `comment`, `sendResponse`: whether the organizer receives a response),
learn.microsoft.com/graph/api/resources/attendee and /resources/responsestatus (the organizer's
event records each attendee's `status` {response, time}), and
learn.microsoft.com/graph/api/resources/eventmessage (`meetingMessageType` of the response the
organizer receives: meetingAccepted, meetingTenativelyAccepted, meetingDeclined). Whether recording
a response changes the organizer's item's changeKey is undocumented: switch
responseChangesOrganizerItem (default "changes").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest_sandbox import Harness

ADA, BOB = "ada@learners.example", "bob@learners.example"


def invite(sandbox: Harness, subject: str = "Onboarding", *, response_requested: bool = True,
           attendees: tuple[str, ...] = (ADA, BOB)) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0, tzinfo=None)
    body = {"subject": subject, "responseRequested": response_requested,
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": a}} for a in attendees]}
    created = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=sandbox.token(), json=body)
    assert created.status_code == 201
    return dict(created.json())


def organizer_event(sandbox: Harness, event_id: str) -> dict[str, Any]:
    """The organizer's event read back through Graph, as the product reads it."""
    answer = sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/events/{event_id}", token=sandbox.token())
    assert answer.status_code == 200
    return dict(answer.json())


def status_of(event: dict[str, Any], address: str) -> dict[str, Any]:
    [found] = [a["status"] for a in event["attendees"] if a["emailAddress"]["address"] == address]
    return dict(found)


def test_an_acceptance_is_recorded_on_the_organizers_event_and_answered_in_their_inbox(sandbox: Harness) -> None:
    created = invite(sandbox)

    answer = sandbox.admin.respond(ADA, "accepted", subject="Onboarding", comment="See you there")

    event = organizer_event(sandbox, created["id"])
    assert status_of(event, ADA)["response"] == "accepted"
    assert status_of(event, ADA)["time"] == answer["respondedAt"] != "0001-01-01T00:00:00Z"
    assert status_of(event, BOB)["response"] == "none"  # the others' answers are untouched
    # responseChangesOrganizerItem="changes" (default): the organizer's item has a new changeKey and etag.
    assert event["changeKey"] != created["changeKey"] and event["@odata.etag"] != created["@odata.etag"]
    assert event["lastModifiedDateTime"] >= created["lastModifiedDateTime"]
    [message] = sandbox.admin.messages(sandbox.organizer)
    assert (message["type"], message["meetingMessageType"], message["subject"]) == (
        "meetingAccepted", "meetingAccepted", "Accepted: Onboarding")
    assert (message["from"], message["eventId"], message["comment"]) == (ADA, created["id"], "See you there")
    [copy] = sandbox.admin.calendar(ADA)
    assert copy["responseStatus"]["response"] == "accepted" and copy["id"] == answer["eventId"]
    assert answer["sentToOrganizer"] is True and answer["organizerEventId"] == created["id"]


def test_the_latest_of_two_answers_is_what_the_organizer_sees(sandbox: Harness) -> None:
    created = invite(sandbox)
    first = sandbox.admin.respond(ADA, "accepted", subject="Onboarding")
    second = sandbox.admin.respond(ADA, "declined", event_id=first["eventId"])

    event = organizer_event(sandbox, created["id"])

    assert status_of(event, ADA) == {"response": "declined", "time": second["respondedAt"]}
    assert second["respondedAt"] >= first["respondedAt"]
    assert [m["type"] for m in sandbox.admin.messages(sandbox.organizer)] == ["meetingAccepted", "meetingDeclined"]
    assert sandbox.admin.messages(sandbox.organizer)[1]["subject"] == "Declined: Onboarding"


def test_a_tentative_answer_uses_graphs_message_type(sandbox: Harness) -> None:
    created = invite(sandbox)

    sandbox.admin.respond(BOB, "tentativelyAccepted", event_id=created["id"])  # the organizer's id also names it

    assert status_of(organizer_event(sandbox, created["id"]), BOB)["response"] == "tentativelyAccepted"
    [message] = sandbox.admin.messages(sandbox.organizer)
    assert (message["type"], message["subject"]) == ("meetingTenativelyAccepted", "Tentative: Onboarding")


def test_without_send_response_only_the_attendees_copy_changes(sandbox: Harness) -> None:
    created = invite(sandbox)

    answer = sandbox.admin.respond(ADA, "accepted", subject="Onboarding", send_response=False)

    event = organizer_event(sandbox, created["id"])
    assert status_of(event, ADA)["response"] == "none" and event["changeKey"] == created["changeKey"]
    assert sandbox.admin.messages(sandbox.organizer) == [] and answer["sentToOrganizer"] is False
    assert sandbox.admin.calendar(ADA)[0]["responseStatus"]["response"] == "accepted"


def test_a_meeting_that_asked_for_no_response_hears_none_unless_switched(sandbox: Harness) -> None:
    created = invite(sandbox, response_requested=False)

    sandbox.admin.respond(ADA, "accepted", subject="Onboarding")
    sandbox.admin.configure(responseWithoutRequest="sent")
    sandbox.admin.respond(BOB, "declined", subject="Onboarding")

    event = organizer_event(sandbox, created["id"])
    assert (status_of(event, ADA)["response"], status_of(event, BOB)["response"]) == ("none", "declined")
    assert [m["type"] for m in sandbox.admin.messages(sandbox.organizer)] == ["meetingDeclined"]


def test_the_organizers_change_key_can_be_kept_when_switched(sandbox: Harness) -> None:
    sandbox.admin.configure(responseChangesOrganizerItem="keeps")
    created = invite(sandbox)

    sandbox.admin.respond(ADA, "accepted", subject="Onboarding")

    event = organizer_event(sandbox, created["id"])
    assert status_of(event, ADA)["response"] == "accepted" and event["changeKey"] == created["changeKey"]


def test_bad_answers_are_refused_naming_what_is_wrong(sandbox: Harness) -> None:
    created = invite(sandbox)
    invite(sandbox, "Twice")
    invite(sandbox, "Twice")

    cases = [
        (ADA, {"subject": "Onboarding", "response": "maybe"}, 400, "response"),
        (ADA, {"response": "accepted"}, 400, "eventId"),
        (ADA, {"subject": "Onboarding", "eventId": created["id"], "response": "accepted"}, 400, "either"),
        (ADA, {"subject": "Missing", "response": "accepted"}, 404, "Onboarding"),  # lists what the calendar has
        (ADA, {"subject": "Twice", "response": "accepted"}, 400, "eventId"),
        (ADA, {"eventId": "nope", "response": "accepted"}, 404, "nope"),
        ("carl@learners.example", {"eventId": created["id"], "response": "accepted"}, 404, "carl"),
        (sandbox.organizer, {"eventId": created["id"], "response": "accepted"}, 400, "organizes"),
        (ADA, {"subject": "Onboarding", "response": "accepted", "sendResponse": "yes"}, 400, "sendResponse"),
        (ADA, {"subject": "Onboarding", "response": "accepted", "note": "x"}, 400, "note"),
    ]
    for address, body, status, words in cases:
        got, answer = sandbox.admin.request("POST", f"/mailboxes/{address}/respond", body)
        assert (got, words in answer["error"]) == (status, True), (body, answer)
    assert sandbox.admin.messages(sandbox.organizer) == []


def test_a_cancelled_meeting_cannot_be_answered(sandbox: Harness) -> None:
    created = invite(sandbox)
    sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events/{created['id']}/cancel", token=sandbox.token(),
                json={"Comment": "off"})

    status, answer = sandbox.admin.request("POST", f"/mailboxes/{ADA}/respond",
                                           {"subject": "Onboarding", "response": "accepted"})

    assert status == 404 and "Onboarding" in answer["error"]


def test_responding_is_not_graph_traffic(sandbox: Harness) -> None:
    invite(sandbox)
    sandbox.admin.reset_stats()

    sandbox.admin.respond(ADA, "accepted", subject="Onboarding")

    stats = sandbox.admin.stats()
    assert stats["requests"] == 0 and stats["messagesByType"] == {"meetingAccepted": 1}


def test_a_tenant_attendee_can_answer_through_graph(sandbox: Harness) -> None:
    """event-tentativelyaccept: POST /users/{id}/events/{id}/tentativelyAccept {comment, sendResponse} -> 202."""
    bea = "bea@contoso.example"
    sandbox.admin.put_user(bea, displayName="Bea", hasMailbox=True)
    created = invite(sandbox, attendees=(bea,))
    [copy] = sandbox.admin.calendar(bea)
    token = sandbox.token()

    answered = sandbox.raw("POST", f"/v1.0/users/{bea}/events/{copy['id']}/tentativelyAccept", token=token,
                           json={"comment": "maybe", "sendResponse": True})
    own = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events/{created['id']}/accept", token=token, json={})

    assert answered.status_code == 202
    assert status_of(organizer_event(sandbox, created["id"]), bea)["response"] == "tentativelyAccepted"
    assert sandbox.admin.messages(sandbox.organizer)[0]["comment"] == "maybe"
    assert own.status_code == 400 and own.json()["error"]["code"] == "ErrorInvalidRequest"

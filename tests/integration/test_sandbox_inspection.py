"""The inspection endpoints' shapes: the outside contract that acceptance tests read."""

from __future__ import annotations

import re

from conftest_sandbox import Harness, meeting
from msgraph import GraphServiceClient

ADA = "Ada@Learners.Example"
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_calendar_messages_and_stats_have_the_promised_fields(sandbox: Harness) -> None:
    async def work(graph: GraphServiceClient) -> str | None:
        event = await graph.users.by_user_id(sandbox.organizer).events.post(meeting("Shape", [ADA], tag="t"))
        return event.id if event else None

    event_id = sandbox.graph(work)

    [item] = sandbox.admin.calendar("ada@learners.example")  # addresses compare case-insensitively
    assert {"subject", "startUtc", "endUtc", "start", "end", "location", "body", "organizer", "id", "tag",
            "attendees", "responseRequested", "allowNewTimeProposals"} <= set(item)
    assert UTC.match(item["startUtc"]) and UTC.match(item["endUtc"])
    assert set(item["start"]) == {"dateTime", "timeZone"}
    assert item["location"]["displayName"] == "Room 1" and item["body"]["content"] == "<p>Shape</p>"
    assert item["organizer"] == sandbox.organizer and item["attendees"] == ["ada@learners.example"]
    assert (item["responseRequested"], item["allowNewTimeProposals"], item["tag"]) == (False, False, "t")

    [message] = sandbox.admin.messages(ADA.upper())
    assert {"type", "subject", "receivedUtc", "from", "comment", "eventId"} <= set(message)
    assert (message["type"], message["subject"], message["eventId"]) == ("meetingRequest", "Shape", event_id)
    assert message["from"] == sandbox.organizer and message["comment"] is None

    stats = sandbox.admin.stats()
    assert {"requests", "throttled", "messagesSent", "writes", "byMethod"} <= set(stats)
    assert (stats["requests"], stats["writes"], stats["messagesSent"]) == (1, 1, 1)


def test_people_without_mail_have_empty_calendars_and_inboxes(sandbox: Harness) -> None:
    assert sandbox.admin.calendar("nobody@elsewhere.example") == []
    assert sandbox.admin.messages("nobody@elsewhere.example") == []


def test_mailbox_summary_lists_who_has_what(sandbox: Harness) -> None:
    sandbox.graph(lambda graph: graph.users.by_user_id(sandbox.organizer).events.post(meeting("Sum", [ADA])))

    assert sandbox.admin.mailboxes() == [
        {"address": "ada@learners.example", "calendar": 1, "messages": 1},
        {"address": sandbox.organizer, "calendar": 1, "messages": 0},
    ]


def test_inspection_is_not_counted_as_graph_traffic(sandbox: Harness) -> None:
    sandbox.admin.calendar(sandbox.organizer)
    sandbox.admin.messages(sandbox.organizer)

    assert sandbox.admin.stats()["requests"] == 0

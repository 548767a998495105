"""The Graph calendar subset and Outlook's meeting behaviour, through the real msgraph-sdk client.

Sources: learn.microsoft.com/graph/api/user-post-events (create, attendees invited, transactionId),
learn.microsoft.com/graph/api/event-update, learn.microsoft.com/graph/api/event-cancel and
learn.microsoft.com/graph/api/event-delete (who is notified), learn.microsoft.com/graph/api/
user-list-events (`Prefer: outlook.timezone`, paging), learn.microsoft.com/graph/api/
singlevaluelegacyextendedproperty-get (filtering and expanding the tag property),
learn.microsoft.com/graph/api/resources/datetimetimezone (time zones) and
learn.microsoft.com/graph/errors (error shape and codes).
"""

from __future__ import annotations

import time

import pytest
from conftest_sandbox import MEETING_END, MEETING_START, TAG_ID, Harness, meeting
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

from tests.support.dates import local, moved, utc_of, zulu

ADA, BO, CY = "ada@learners.example", "bo@learners.example", "cy@learners.example"
EASTERN = "America/New_York"  # Graph's "Eastern Standard Time"
NEXT_DAY = moved(MEETING_START, days=1, clock="09:00")


def in_zone(text: str, zone: str, shown_in: str) -> str:
    """A local time as Graph writes it in another zone (seven fractional digits)."""
    from zoneinfo import ZoneInfo

    return utc_of(text, zone).astimezone(ZoneInfo(shown_in)).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def create(sandbox: Harness, event: Event) -> Event:
    async def work(graph: GraphServiceClient) -> Event:
        created = await graph.users.by_user_id(sandbox.organizer).events.post(event)
        assert created is not None
        return created

    return sandbox.graph(work)


def graph_error(sandbox: Harness, work: object) -> ODataError:
    with pytest.raises(ODataError) as raised:
        sandbox.graph(work)  # type: ignore[arg-type]
    return raised.value


def kinds(sandbox: Harness, address: str) -> list[str]:
    return [m["type"] for m in sandbox.admin.messages(address)]


def test_users_are_found_by_principal_name_in_any_case_and_by_id(sandbox: Harness) -> None:
    async def work(graph: GraphServiceClient) -> tuple[str | None, str | None]:
        by_name = await graph.users.by_user_id(sandbox.organizer.upper()).get()
        assert by_name is not None and by_name.id is not None
        by_id = await graph.users.by_user_id(by_name.id).get()
        assert by_id is not None
        return by_name.user_principal_name, by_id.display_name

    assert sandbox.graph(work) == (sandbox.organizer, "Learning Coordinator")


def test_unknown_user_is_request_resource_not_found(sandbox: Harness) -> None:
    error = graph_error(sandbox, lambda graph: graph.users.by_user_id("nobody@contoso.example").get())

    assert error.response_status_code == 404
    assert error.error is not None and error.error.code == "Request_ResourceNotFound"


def test_create_invites_each_attendee_once_and_puts_a_copy_in_their_calendar(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Safety 101", [ADA, BO], tag="t-1"))

    assert created.start is not None and created.end is not None
    assert (created.start.date_time, created.start.time_zone) == (in_zone(MEETING_START, EASTERN, "UTC"), "UTC")
    assert created.end.date_time == in_zone(MEETING_END, EASTERN, "UTC")
    assert created.response_requested is False and created.allow_new_time_proposals is False
    assert created.organizer is not None and created.organizer.email_address is not None
    assert created.organizer.email_address.address == sandbox.organizer
    assert created.single_value_extended_properties is None  # only when expanded
    assert kinds(sandbox, ADA) == ["meetingRequest"] and kinds(sandbox, BO) == ["meetingRequest"]
    assert kinds(sandbox, CY) == [] and kinds(sandbox, sandbox.organizer) == []
    [copy] = sandbox.admin.calendar(ADA)
    assert copy["subject"] == "Safety 101" and copy["organizer"] == sandbox.organizer
    assert (copy["startUtc"], copy["endUtc"]) == (zulu(MEETING_START, EASTERN), zulu(MEETING_END, EASTERN))
    assert copy["start"] == {"dateTime": MEETING_START, "timeZone": "Eastern Standard Time"}
    assert copy["tag"] == "t-1" and copy["isOrganizer"] is False
    [own] = sandbox.admin.calendar(sandbox.organizer)
    assert own["id"] == created.id and own["attendees"] == [ADA, BO]
    assert sandbox.admin.stats()["messagesSent"] == 2


def test_prefer_outlook_timezone_returns_times_in_that_zone(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Zones", [ADA]))

    async def work(graph: GraphServiceClient) -> Event | None:
        config = RequestConfiguration[EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters]()
        config.headers.add("Prefer", 'outlook.timezone="India Standard Time"')
        assert created.id is not None
        return await graph.users.by_user_id(sandbox.organizer).events.by_event_id(created.id).get(config)

    fetched = sandbox.graph(work)
    assert fetched is not None and fetched.start is not None
    assert (fetched.start.date_time, fetched.start.time_zone) == (
        in_zone(MEETING_START, EASTERN, "Asia/Kolkata"), "India Standard Time")


def test_unsupported_time_zone_is_refused(sandbox: Harness) -> None:
    error = graph_error(sandbox, lambda graph: graph.users.by_user_id(sandbox.organizer).events.post(
        meeting("Bad zone", [ADA], zone="Mars/Olympus_Mons")))

    assert error.response_status_code == 400
    assert error.error is not None and error.error.code == "TimeZoneNotSupportedException"
    assert kinds(sandbox, ADA) == []


def test_strict_time_zones_accept_only_the_primary_iana_name(sandbox: Harness) -> None:
    sandbox.admin.configure(timeZones="strict")

    error = graph_error(sandbox, lambda graph: graph.users.by_user_id(sandbox.organizer).events.post(
        meeting("Amsterdam", [ADA], zone="Europe/Amsterdam")))
    created = create(sandbox, meeting("Berlin", [ADA], zone="Europe/Berlin"))

    assert error.error is not None and error.error.code == "TimeZoneNotSupportedException"
    assert created.start is not None and created.start.date_time == in_zone(MEETING_START, "Europe/Berlin", "UTC")


def test_patch_of_a_key_field_sends_every_attendee_an_update_and_moves_their_copy(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Moving", [ADA, BO]))
    assert created.id is not None

    async def work(graph: GraphServiceClient) -> Event | None:
        change = Event(start=DateTimeTimeZone(date_time=NEXT_DAY, time_zone="Eastern Standard Time"),
                       end=DateTimeTimeZone(date_time=moved(NEXT_DAY, clock="10:00"),
                                            time_zone="Eastern Standard Time"))
        assert created.id is not None
        return await graph.users.by_user_id(sandbox.organizer).events.by_event_id(created.id).patch(change)

    updated = sandbox.graph(work)

    assert updated is not None and updated.id == created.id and updated.change_key != created.change_key
    assert kinds(sandbox, ADA) == kinds(sandbox, BO) == ["meetingRequest", "meetingUpdate"]
    assert [c["startUtc"] for c in sandbox.admin.calendar(ADA)] == [zulu(NEXT_DAY, EASTERN)]
    assert sandbox.admin.messages(BO)[-1]["startUtc"] == zulu(NEXT_DAY, EASTERN)


def test_patch_of_attendees_only_notifies_only_those_added_or_removed(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Roster", [ADA, BO]))

    async def work(graph: GraphServiceClient) -> Event | None:
        assert created.id is not None
        change = Event(attendees=[Attendee(email_address=EmailAddress(address=a)) for a in (ADA, CY)])
        return await graph.users.by_user_id(sandbox.organizer).events.by_event_id(created.id).patch(change)

    sandbox.graph(work)

    assert kinds(sandbox, ADA) == ["meetingRequest"]
    assert kinds(sandbox, BO) == ["meetingRequest", "meetingCancellation"]
    assert kinds(sandbox, CY) == ["meetingRequest"]
    assert sandbox.admin.calendar(BO) == []
    assert [c["subject"] for c in sandbox.admin.calendar(CY)] == ["Roster"]


def test_cancel_sends_the_comment_and_clears_every_calendar_but_keeps_the_id(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Cancelled class", [ADA, BO], tag="t-9"))
    assert created.id is not None
    event_id = created.id

    async def work(graph: GraphServiceClient) -> Event | None:
        item = graph.users.by_user_id(sandbox.organizer).events.by_event_id(event_id)
        await item.cancel.post(CancelPostRequestBody(comment="The class was withdrawn."))
        return await item.get()

    after = sandbox.graph(work)

    assert after is not None and after.is_cancelled is True and after.id == event_id
    for person in (ADA, BO):
        last = sandbox.admin.messages(person)[-1]
        assert (last["type"], last["comment"], last["subject"]) == (
            "meetingCancellation", "The class was withdrawn.", "Canceled: Cancelled class")
        assert last["eventId"] == event_id and last["from"] == sandbox.organizer
        assert sandbox.admin.calendar(person) == []
    assert sandbox.admin.calendar(sandbox.organizer) == []
    sandbox.admin.configure(repeatCancel="notFound")  # the default answers 202 (test_sandbox_meetings)
    again = graph_error(sandbox, lambda graph: graph.users.by_user_id(sandbox.organizer).events.by_event_id(
        event_id).cancel.post(CancelPostRequestBody(comment="twice")))
    assert again.error is not None and again.error.code == "ErrorItemNotFound"
    assert kinds(sandbox, ADA) == ["meetingRequest", "meetingCancellation"]


def test_delete_sends_cancellations_and_the_event_is_gone(sandbox: Harness) -> None:
    created = create(sandbox, meeting("Deleted", [ADA]))
    assert created.id is not None
    event_id = created.id

    sandbox.graph(lambda graph: graph.users.by_user_id(sandbox.organizer).events.by_event_id(event_id).delete())
    error = graph_error(sandbox, lambda graph: graph.users.by_user_id(sandbox.organizer).events.by_event_id(
        event_id).get())

    assert kinds(sandbox, ADA) == ["meetingRequest", "meetingCancellation"]
    assert sandbox.admin.calendar(ADA) == []
    assert error.response_status_code == 404
    assert error.error is not None and error.error.code == "ErrorItemNotFound"


def test_repeated_post_with_the_same_transaction_id_creates_and_delivers_nothing_new(sandbox: Harness) -> None:
    first = create(sandbox, meeting("Once", [ADA], transaction_id="txn-42"))
    second = create(sandbox, meeting("Once", [ADA], transaction_id="txn-42"))

    assert second.id == first.id
    assert kinds(sandbox, ADA) == ["meetingRequest"]
    assert len(sandbox.admin.calendar(sandbox.organizer)) == 1
    stats = sandbox.admin.stats()
    assert stats["byStatus"]["201"] == 2 and stats["messagesSent"] == 1


def test_filter_on_the_tag_property_finds_exactly_the_tagged_event_and_expands_it(sandbox: Harness) -> None:
    for index in range(3):
        create(sandbox, meeting(f"Class {index}", [ADA], tag=f"tag-{index}"))

    async def work(graph: GraphServiceClient) -> list[Event]:
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_ID}' and ep/value eq 'tag-1')",
            expand=[f"singleValueExtendedProperties($filter=id eq '{TAG_ID}')"],
            select=["subject"])
        config = RequestConfiguration(query_parameters=query)
        page = await graph.users.by_user_id(sandbox.organizer).events.get(config)
        assert page is not None and page.value is not None
        return page.value

    [found] = sandbox.graph(work)

    assert found.subject == "Class 1" and found.start is None  # $select kept only the subject
    assert found.single_value_extended_properties is not None
    assert [(p.id, p.value) for p in found.single_value_extended_properties] == [(TAG_ID, "tag-1")]


def test_event_lists_page_with_next_links(sandbox: Harness) -> None:
    for index in range(5):
        create(sandbox, meeting(f"Page {index}", [ADA]))

    async def work(graph: GraphServiceClient) -> list[str]:
        events = graph.users.by_user_id(sandbox.organizer).events
        config = RequestConfiguration(query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            top=2, orderby=["start/dateTime"]))
        page = await events.get(config)
        subjects: list[str] = []
        while page is not None:
            subjects += [e.subject or "" for e in page.value or []]
            page = await events.with_url(page.odata_next_link).get() if page.odata_next_link else None
        return subjects

    assert sandbox.graph(work) == [f"Page {i}" for i in range(5)]


def test_mailbox_problems_have_graph_codes(sandbox: Harness) -> None:
    sandbox.admin.put_user("shared.room@contoso.example", hasMailbox=False)
    sandbox.admin.put_user("other.organizer@contoso.example")
    sandbox.admin.put_app(sandbox.info["clientId"], mailboxScope=[sandbox.organizer])

    def code_for(user: str) -> tuple[int | None, str | None, str | None]:
        error = graph_error(sandbox, lambda graph: graph.users.by_user_id(user).events.get())
        assert error.error is not None
        return error.response_status_code, error.error.code, error.error.message

    assert code_for("missing@contoso.example")[:2] == (404, "ErrorInvalidUser")
    assert code_for("other.organizer@contoso.example") == (
        403, "ErrorAccessDenied",
        "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
    sandbox.admin.put_app(sandbox.info["clientId"], mailboxScope=None)
    assert code_for("shared.room@contoso.example")[:2] == (404, "MailboxNotEnabledForRESTAPI")


def test_requests_without_a_valid_token_are_refused(sandbox: Harness) -> None:
    path = f"/v1.0/users/{sandbox.organizer}/events"

    missing = sandbox.raw("GET", path)
    forged = sandbox.raw("GET", path, token=sandbox.token()[:-4] + "AAAA")

    assert missing.status_code == forged.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert set(missing.json()["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_write_needs_calendars_readwrite(sandbox: Harness) -> None:
    app = sandbox.admin.put_app("0a0a0a0a-1111-2222-3333-444444444444", roles=["Calendars.Read", "User.Read.All"])
    credential = sandbox.credential_for(app["clientId"], app["secrets"][0])

    with pytest.raises(ODataError) as raised:
        sandbox.graph(lambda graph: graph.users.by_user_id(sandbox.organizer).events.post(meeting("x", [ADA])),
                      credential)
    calendar = sandbox.graph(lambda graph: graph.users.by_user_id(sandbox.organizer).calendar.get(), credential)

    assert raised.value.error is not None and raised.value.error.code == "ErrorAccessDenied"
    assert calendar is not None and calendar.can_edit is False
    assert kinds(sandbox, ADA) == []


def test_unknown_event_property_is_refused_like_graph_does(sandbox: Harness) -> None:
    response = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=sandbox.token(), json={
        "subject": "x", "start": {"dateTime": local(30, "10:00"), "timeZone": "UTC"},
        "end": {"dateTime": local(30, "11:00"), "timeZone": "UTC"}, "responseRequest": False})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RequestBodyRead"


def test_an_expired_token_is_refused(sandbox: Harness) -> None:
    sandbox.admin.configure(tokenLifetimeSeconds=1)
    issued = sandbox.raw("POST", f"/{sandbox.info['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": sandbox.info["clientId"],
        "client_secret": sandbox.info["clientSecret"], "scope": "https://graph.microsoft.com/.default"}).json()
    time.sleep(1.1)

    response = sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/events", token=issued["access_token"])

    assert issued["expires_in"] == 1
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Lifetime validation failed, the token is expired."

"""CalendarGateway over msgraph-sdk: typed requests, immutable ids, the product's retry policy.

A create is the one write that must never happen twice: it carries a deterministic
`transactionId`, and whenever its outcome is unknown (timeout, lost response, server error)
the event is looked up by its tag before the create is sent again.

Requests are built with the SDK's typed request builders; responses are read as plain JSON
for the few fields the sync needs. Deserialising a full `Event` makes the SDK import over a
thousand model modules (seconds per process), which a run that only needs ids should not pay.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from shared.calendar.errors import graph_error, sign_in_failed
from shared.calendar.gateway import TAG_PROPERTY_ID, NewEvent, TaggedEvent
from shared.calendar.retry import TRANSIENT_STATUS, RetryPolicy
from shared.errors import GraphError

T = TypeVar("T")
IMMUTABLE_IDS = 'IdType="ImmutableId"'


class GraphCalendar:
    """Writes meetings through one GraphServiceClient; at most `concurrency` requests per mailbox."""

    def __init__(self, client: Any, *, policy: RetryPolicy | None = None, concurrency: int = 4) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()
        self._concurrency = concurrency
        self._slots: dict[str, asyncio.Semaphore] = {}

    # -- the port -------------------------------------------------------------------------

    async def create(self, organizer: str, event: NewEvent) -> str:
        from msgraph.generated.models.event import Event

        body = Event(**_event_fields(event))
        outcome_unknown = False

        async def attempt() -> str:
            nonlocal outcome_unknown
            if outcome_unknown:
                found = await self.find_by_tag(organizer, event.tag)
                if found:
                    return found[0]
            info = self._events(organizer).to_post_request_information(body, _config())
            try:
                created = await self._send_json(info)
            except Exception as error:
                mapped = self._map(error, f"invite {event.attendee_email}")
                outcome_unknown = outcome_unknown or mapped.status != 429
                raise mapped from None
            if not created.get("id"):
                raise GraphError("Graph accepted the meeting but returned no event id.", status=None)
            return str(created["id"])

        return await self._with_retries(organizer, attempt)

    async def update(self, organizer: str, event_id: str, changes: dict[str, Any]) -> None:
        from msgraph.generated.models.event import Event

        body = Event(**_property_fields(changes))

        async def attempt() -> None:
            info = self._events(organizer).by_event_id(event_id).to_patch_request_information(body, _config())
            try:
                await self._send_no_content(info)
            except Exception as error:
                raise self._map(error, "update the meeting") from None

        await self._with_retries(organizer, attempt)

    async def cancel(self, organizer: str, event_id: str, comment: str) -> None:
        from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

        body = CancelPostRequestBody(comment=comment)

        async def attempt() -> None:
            info = self._events(organizer).by_event_id(event_id).cancel.to_post_request_information(body, _config())
            try:
                await self._send_no_content(info)
            except Exception as error:
                mapped = self._map(error, "cancel the meeting")
                if mapped.code == "ErrorItemNotFound":
                    return  # already cancelled or deleted: the outcome wanted
                raise mapped from None

        await self._with_retries(organizer, attempt)

    async def find_by_tag(self, organizer: str, tag: str) -> list[str]:
        from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

        literal = tag.replace("'", "''")
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_PROPERTY_ID}' and ep/value eq '{literal}')",
            select=["id"],
            top=10,
        )

        async def attempt() -> list[str]:
            info = self._events(organizer).to_get_request_information(_config(query))
            try:
                page = await self._send_json(info)
            except Exception as error:
                raise self._map(error, "look up a meeting by its tag") from None
            return [str(e["id"]) for e in page.get("value") or [] if e.get("id")]

        return await self._with_retries(organizer, attempt)

    async def tagged_events(self, organizer: str) -> AsyncIterator[TaggedEvent]:
        from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            select=["id", "start", "end", "isCancelled"],
            expand=[f"singleValueExtendedProperties($filter=id eq '{TAG_PROPERTY_ID}')"],
            top=100,
        )
        builder = self._events(organizer)
        info = builder.to_get_request_information(_config(query))
        while True:
            page = await self._with_retries(organizer, partial(self._send_json_or_map, info, "list tagged meetings"))
            for item in page.get("value") or []:
                tag = next((p.get("value") for p in item.get("singleValueExtendedProperties") or [] if p.get("value")),
                           None)
                if tag and item.get("id") and not item.get("isCancelled"):
                    yield TaggedEvent(
                        str(item["id"]), str(tag),
                        (item.get("start") or {}).get("dateTime"), (item.get("end") or {}).get("dateTime"),
                    )
            link = page.get("@odata.nextLink")
            if not link:
                break
            info = builder.with_url(link).to_get_request_information(_config())

    async def aclose(self) -> None:
        adapter = getattr(self._client, "request_adapter", None)
        http = getattr(adapter, "_http_client", None)
        if http is not None:
            await http.aclose()

    # -- plumbing -------------------------------------------------------------------------

    async def _send_json(self, info: Any) -> dict[str, Any]:
        raw = await self._client.request_adapter.send_primitive_async(info, "bytes", _error_mapping())
        return dict(json.loads(raw)) if raw else {}

    async def _send_json_or_map(self, info: Any, action: str) -> dict[str, Any]:
        try:
            return await self._send_json(info)
        except Exception as error:
            raise self._map(error, action) from None

    async def _send_no_content(self, info: Any) -> None:
        await self._client.request_adapter.send_no_response_content_async(info, _error_mapping())

    def _events(self, organizer: str) -> Any:
        return self._client.users.by_user_id(organizer).events

    def _map(self, error: BaseException, action: str) -> GraphError:
        from azure.core.exceptions import ClientAuthenticationError

        if isinstance(error, GraphError):
            return error
        if isinstance(error, ClientAuthenticationError):
            raise sign_in_failed(error) from None
        if _is_transport_error(error):
            return GraphError(f"The connection to Graph failed while trying to {action}; it is retried.")
        return graph_error(error, action=action)

    async def _with_retries(self, organizer: str, attempt: Callable[[], Awaitable[T]]) -> T:
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        slot = self._slots.setdefault(organizer.lower(), asyncio.Semaphore(self._concurrency))
        retrying = AsyncRetrying(
            retry=retry_if_exception(_transient),
            wait=self._policy.wait(),
            stop=stop_after_attempt(self._policy.attempts),
            reraise=True,
        )
        async for trial in retrying:
            with trial:
                async with slot:
                    return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover


def _error_mapping() -> dict[str, Any]:
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    return {"XXX": ODataError}


def _transient(error: BaseException) -> bool:
    return isinstance(error, GraphError) and (error.status is None or error.status in TRANSIENT_STATUS)


def _is_transport_error(error: BaseException) -> bool:
    import httpx

    return isinstance(error, (httpx.TransportError, asyncio.TimeoutError))


def _config(query: Any = None) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config: Any = RequestConfiguration(query_parameters=query) if query is not None else RequestConfiguration()
    config.headers.add("Prefer", IMMUTABLE_IDS)
    return config


def _property_fields(props: dict[str, Any]) -> dict[str, Any]:
    """Typed SDK fields for the owned properties present in `props` (absent ones are not sent)."""
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.location import Location

    fields: dict[str, Any] = {}
    if "subject" in props:
        fields["subject"] = props["subject"]
    if "body" in props:
        fields["body"] = ItemBody(content_type=BodyType.Html, content=props["body"]["content"])
    for name in ("start", "end"):
        if name in props:
            fields[name] = DateTimeTimeZone(date_time=props[name]["dateTime"], time_zone=props[name]["timeZone"])
    if "location" in props:
        fields["location"] = Location(display_name=props["location"]["displayName"])
    return fields


def _event_fields(event: NewEvent) -> dict[str, Any]:
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty

    fields = _property_fields(event.properties)
    fields.update(
        attendees=[
            Attendee(
                email_address=EmailAddress(address=event.attendee_email, name=event.attendee_name),
                type=AttendeeType.Required,
            )
        ],
        response_requested=False,
        allow_new_time_proposals=False,
        is_reminder_on=True,
        transaction_id=event.transaction_id,
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=TAG_PROPERTY_ID, value=event.tag)],
    )
    return fields

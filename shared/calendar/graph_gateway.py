"""CalendarGateway over msgraph-sdk: JSON batches, immutable ids, the product's retry policy.

Writes go out in JSON batches of up to 20. Each write moves through small steps, one
sub-request per round (`jobs.py`); a sub-request that is throttled, not attempted (424) or
fails transiently waits (Retry-After, else backoff) and joins a later round on its own, as
Graph answers each sub-request on its own.

Concurrency is counted per request, not per batch: Graph runs up to four sub-requests of a
batch against the mailbox at once, and the mailbox takes four concurrent requests from an
app. Every request this process sends to a mailbox (batches of writes and look-ups, tag
look-ups and listings for a mapping rebuild) holds places in the process-wide
`MailboxLimiter` (`limiter.py`): a batch of n sub-requests min(n, 4), a single request one,
of the mailbox's four. So the executor may keep several groups of writes in flight, and
their batches queue for the mailbox instead of reaching it together and being throttled.
One batch of 20 at a time keeps four sub-requests running for the whole batch, the most the
mailbox allows. Across processes, the per-organizer run lease (`shared/store/lease.py`) lets
one sync at a time write to a mailbox.

A create or a cancel must never happen twice: a create carries a deterministic
`transactionId`, and whenever its outcome is unknown (timeout, lost response, server error)
the event is looked up by its tag before the create is sent again; a cancel whose outcome is
unknown is followed by reading the event by id, never by a blind repeat.

Requests are built with the SDK's typed request builders; responses are read as plain JSON
for the few fields the sync needs. Deserialising a full `Event` makes the SDK import over a
thousand model modules (seconds per process), which a run that only needs ids should not pay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from shared.calendar.batch import MAX_REQUESTS, BatchSender, SubRequest, SubResponse, decode, same_answer, sub_request
from shared.calendar.errors import graph_error, sign_in_failed
from shared.calendar.gateway import (
    STATE_PROPERTY_ID,
    TAG_PROPERTY_ID,
    ExtraMessage,
    NewEvent,
    TaggedEvent,
    Write,
    WriteResult,
)
from shared.calendar.jobs import TagLookup, start_job, tag_value
from shared.calendar.limiter import PROCESS_LIMITER, MailboxLimiter
from shared.calendar.retry import RetryPolicy, transient
from shared.errors import GraphError

T = TypeVar("T")
LOOKUP_PAGE = 25  # a look-up finds one event, rarely a few copies; a longer answer is paged
IMMUTABLE_IDS = 'IdType="ImmutableId"'
_PROBE_PAGE = 10  # events per page when only "is there any tagged event?" is asked
log = logging.getLogger("learncal.graph")


class GraphCalendar:
    """Writes meetings through one GraphServiceClient; at most four requests at a mailbox at once."""

    def __init__(
        self, client: Any, *, policy: RetryPolicy | None = None, limiter: MailboxLimiter | None = None,
    ) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()
        self._limiter = limiter or PROCESS_LIMITER
        self._sender = BatchSender(client.request_adapter)

    # -- the port -------------------------------------------------------------------------

    async def write(
        self, organizer: str, writes: Sequence[Write], *, extra_message: ExtraMessage | None = None,
        patience: float | None = None,
    ) -> list[WriteResult]:
        jobs = [start_job(index, write, self._policy) for index, write in enumerate(writes)]
        give_up = None if patience is None else time.monotonic() + patience
        while True:
            active = [job for job in jobs if job.result is None]
            if not active:
                break
            now = time.monotonic()
            due = [job for job in active if job.wake <= now]
            if not due:
                wake = min(job.wake for job in active)
                if give_up is not None and wake > give_up:
                    for job in active:
                        job.give_up()  # the run's time is up: the recorded intent lets the next run finish
                    break
                await asyncio.sleep(wake - now)
                continue
            pairs = [(job, request) for job in due for request in job.requests(self._builder(organizer))]
            for start in range(0, len(pairs), MAX_REQUESTS):
                chunk = pairs[start:start + MAX_REQUESTS]
                responses = await self._batch(organizer, [request for _, request in chunk])
                for (job, request), response in zip(chunk, responses, strict=True):
                    job.accept(request, response)
            for job in due:
                await job.advance(extra_message)
        return [job.outcome() for job in jobs]

    async def find_by_tag(self, organizer: str, tag: str) -> list[str]:
        requests = self._builder(organizer)
        lookup = TagLookup(tag)
        info = requests.lookup(tag)
        while True:
            page = await self._with_retries(organizer, partial(self._send_json_or_map, info,
                                                               "look up a meeting by its tag"))
            if lookup.read(SubResponse("", 200, body=page)):
                return lookup.ids
            info = requests.page(str(page["@odata.nextLink"]))

    async def tagged_events(self, organizer: str) -> AsyncIterator[TaggedEvent]:
        """Every tagged event, with the fingerprints stored beside the tag (two listings, joined by id).

        Graph expands one extended property per `$filter` reliably; listing twice keeps each
        request to the form every Graph version accepts.
        """
        states = {event_id: value async for event_id, value in self._property_values(organizer, STATE_PROPERTY_ID)}
        async for event_id, tag in self._property_values(organizer, TAG_PROPERTY_ID, with_times=True):
            yield TaggedEvent(event_id, tag[0], tag[1], tag[2], states.get(event_id))

    async def has_tagged_events(self, organizer: str) -> bool:
        """Small pages, stopping at the first tagged event: a calendar full of the sync's meetings
        answers on the first page, and only a calendar without any is read to its end."""
        listing = self._property_values(organizer, TAG_PROPERTY_ID, top=_PROBE_PAGE)
        async with contextlib.aclosing(listing):
            async for _found in listing:
                return True
        return False

    async def aclose(self) -> None:
        adapter = getattr(self._client, "request_adapter", None)
        http = getattr(adapter, "_http_client", None)
        if http is not None:
            await http.aclose()

    # -- listing --------------------------------------------------------------------------

    async def _property_values(
        self, organizer: str, prop_id: str, *, with_times: bool = False, top: int = 500,
    ) -> AsyncGenerator[Any, None]:
        from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

        select = ["id", "isCancelled", "start", "end"] if with_times else ["id", "isCancelled"]
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            select=select, expand=[f"singleValueExtendedProperties($filter=id eq '{prop_id}')"], top=top,
        )
        builder = self._events(organizer)
        info = builder.to_get_request_information(_config(query))
        while True:
            page = await self._with_retries(organizer, partial(self._send_json_or_map, info, "list tagged meetings"))
            for item in page.get("value") or []:
                value = _property_value(item, prop_id)
                if not value or not item.get("id") or item.get("isCancelled"):
                    continue
                if with_times:
                    times = ((item.get("start") or {}).get("dateTime"), (item.get("end") or {}).get("dateTime"))
                    yield str(item["id"]), (str(value), *times)
                else:
                    yield str(item["id"]), str(value)
            link = page.get("@odata.nextLink")
            if not link:
                break
            info = builder.with_url(link).to_get_request_information(_config())

    # -- plumbing -------------------------------------------------------------------------

    def _builder(self, organizer: str) -> Requests:
        return Requests(self._events(organizer), self._client.request_adapter.base_url)

    async def _batch(self, organizer: str, requests: list[SubRequest]) -> list[SubResponse]:
        """One envelope; a failed envelope answers every sub-request alike (None: no answer)."""
        from azure.core.exceptions import ClientAuthenticationError

        try:
            async with self._limiter.hold(organizer, self._limiter.units_for(len(requests))):
                payload = await self._sender.send(requests, _error_mapping())
        except ClientAuthenticationError as error:
            raise sign_in_failed(error) from None
        except Exception as error:
            if _is_transport_error(error):
                log.info("a batch of %d got no answer: %s", len(requests), type(error).__name__)
                return same_answer(requests, None, body={"error": {"message": self._unreachable()}})
            status = getattr(error, "response_status_code", None)
            if status is None:
                raise
            odata = getattr(error, "error", None)
            body = {"error": {"code": getattr(odata, "code", None), "message": getattr(odata, "message", None)}}
            return same_answer(requests, int(status), _headers(getattr(error, "response_headers", None)), body)
        return decode(payload, requests)

    async def _send_json(self, info: Any) -> dict[str, Any]:
        raw = await self._client.request_adapter.send_primitive_async(info, "bytes", _error_mapping())
        return dict(json.loads(raw)) if raw else {}

    async def _send_json_or_map(self, info: Any, action: str) -> dict[str, Any]:
        try:
            return await self._send_json(info)
        except Exception as error:
            raise self._map(error, action) from None

    def _events(self, organizer: str) -> Any:
        return self._client.users.by_user_id(organizer).events

    def _unreachable(self) -> str:
        """Where Graph was tried and which setting chose it (a base URL carries no secret)."""
        return (f"Graph was tried at {self._client.request_adapter.base_url}: check LEARNCAL_GRAPH_URL "
                "(https://graph.microsoft.com/v1.0 in Azure; locally the sandbox's graphUrl, with `learncal "
                "sandbox` running) and the network path to it.")

    def _map(self, error: BaseException, action: str) -> GraphError:
        from azure.core.exceptions import ClientAuthenticationError

        if isinstance(error, GraphError):
            return error
        if isinstance(error, ClientAuthenticationError):
            raise sign_in_failed(error) from None
        if _is_transport_error(error):
            return GraphError(f"The connection to Graph failed while trying to {action}; it is retried. "
                              + self._unreachable())
        return graph_error(error, action=action)

    async def _with_retries(self, organizer: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """A top-level request under the product's policy (reads only: repeating them is harmless)."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, GraphError) and transient(e.status)),
            wait=self._policy.wait(),
            stop=stop_after_attempt(self._policy.attempts),
            reraise=True,
        )
        async for trial in retrying:
            with trial:
                async with self._limiter.hold(organizer):
                    return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover


class Requests:
    """Batch items for one organizer: URLs from the SDK's request builders, bodies as Graph JSON.

    The bodies are written here as the plain JSON the SDK's serializer produces for the same
    typed models (a test holds the two equal): building and serializing a typed `Event`
    costs milliseconds of CPU per invitation, which at batch throughput was the largest
    share of a run's time.
    """

    def __init__(self, events: Any, base_url: str) -> None:
        self._events = events
        self._base_url = base_url

    def create(self, request_id: str, event: NewEvent) -> SubRequest:
        return self._item(request_id, "POST", self._events, event_json(event))

    def update(self, request_id: str, event_id: str, changes: dict[str, Any], state: str | None) -> SubRequest:
        body = property_json(changes)
        if state is not None:
            body["singleValueExtendedProperties"] = [{"id": STATE_PROPERTY_ID, "value": state}]
        return self._item(request_id, "PATCH", self._events.by_event_id(event_id), body)

    def cancel(self, request_id: str, event_id: str, comment: str) -> SubRequest:
        return self._item(request_id, "POST", self._events.by_event_id(event_id).cancel, {"Comment": comment})

    def read(self, request_id: str, event_id: str) -> SubRequest:
        """GET one event: is it still there, and is it cancelled?"""
        from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(select=["id", "isCancelled"])
        info = self._events.by_event_id(event_id).to_get_request_information(_config(query))
        return sub_request(info, request_id, self._base_url)

    def find(self, request_id: str, tag: str, next_link: str | None = None) -> SubRequest:
        info = self.lookup(tag) if next_link is None else self.page(next_link)
        return sub_request(info, request_id, self._base_url)

    def lookup(self, tag: str) -> Any:
        """Events filtered by tag, each with its own tag value expanded: the filter narrows (Graph
        compares values case-insensitively), the value read back decides."""
        from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

        literal = tag.replace("'", "''")
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_PROPERTY_ID}' and ep/value eq '{literal}')",
            select=["id", "isCancelled"],
            expand=[f"singleValueExtendedProperties($filter=id eq '{TAG_PROPERTY_ID}')"],
            top=LOOKUP_PAGE,
        )
        return self._events.to_get_request_information(_config(query))

    def page(self, next_link: str) -> Any:
        """The next page of a listing, from Graph's `@odata.nextLink`."""
        return self._events.with_url(next_link).to_get_request_information(_config())

    def _item(self, request_id: str, method: str, builder: Any, body: dict[str, Any]) -> SubRequest:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        info = RequestInformation(Method(method), builder.url_template, builder.path_parameters)
        info.headers.try_add("Prefer", IMMUTABLE_IDS)
        info.headers.try_add("Content-Type", "application/json")
        return sub_request(info, request_id, self._base_url, body=body)


def _property_value(item: dict[str, Any], prop_id: str) -> str | None:
    if prop_id == TAG_PROPERTY_ID:
        return tag_value(item)
    value = next((p.get("value") for p in item.get("singleValueExtendedProperties") or []
                  if isinstance(p, dict) and p.get("value")), None)
    return str(value) if value else None


def _error_mapping() -> dict[str, Any]:
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    return {"XXX": ODataError}


def _headers(raw: Any) -> dict[str, str]:
    try:
        items = raw.items()
    except AttributeError:
        return {}
    result: dict[str, str] = {}
    for key, value in items:
        if isinstance(value, (list, tuple, set)):
            value = next(iter(value), "")
        result[str(key)] = str(value)
    return result


def _is_transport_error(error: BaseException) -> bool:
    import httpx

    return isinstance(error, (httpx.TransportError, asyncio.TimeoutError))


def _config(query: Any = None) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config: Any = RequestConfiguration(query_parameters=query) if query is not None else RequestConfiguration()
    config.headers.add("Prefer", IMMUTABLE_IDS)
    return config


def property_json(props: dict[str, Any]) -> dict[str, Any]:
    """The owned properties present in `props` as Graph JSON (absent ones are not sent).

    `responseRequested` goes out with every body: the body's wording says whether a response
    is asked for, so a changed request always changes the body too.
    """
    body: dict[str, Any] = {}
    if "subject" in props:
        body["subject"] = props["subject"]
    if "body" in props:
        body["body"] = {"content": props["body"]["content"], "contentType": "html"}
        body["responseRequested"] = response_requested(props)
    for name in ("start", "end"):
        if name in props:
            body[name] = {"dateTime": props[name]["dateTime"], "timeZone": props[name]["timeZone"]}
    if "location" in props:
        body["location"] = {"displayName": props["location"]["displayName"]}
    return body


def response_requested(props: dict[str, Any]) -> bool:
    """Whether the content asks the attendee to accept or decline (see `EventContent.properties`)."""
    return bool((props.get("body") or {}).get("responseRequested", False))


def event_json(event: NewEvent) -> dict[str, Any]:
    """A new invitation: one attendee, no new-time proposals, its tag and state; a response is
    requested only when the content asks for one."""
    address: dict[str, Any] = {"address": event.attendee_email}
    if event.attendee_name is not None:
        address["name"] = event.attendee_name
    properties = [{"id": TAG_PROPERTY_ID, "value": event.tag}]
    if event.state is not None:
        properties.append({"id": STATE_PROPERTY_ID, "value": event.state})
    return {
        **property_json(event.properties),
        "attendees": [{"emailAddress": address, "type": "required"}],
        "responseRequested": response_requested(event.properties),  # Graph's default is true: always say it
        "allowNewTimeProposals": False,
        "isReminderOn": True,
        "transactionId": event.transaction_id,
        "singleValueExtendedProperties": properties,
    }

"""The Graph requests response collection makes: subscriptions and the calendar view's delta.

They go through the product's Graph client (msgraph-sdk request builders, the product's retry
policy and the per-mailbox limiter of `shared/calendar/graph_gateway.py`), and their answers
are read as plain JSON, as the gateway reads its own. Errors become plain messages
(`shared/calendar/errors.py`).

Every request is counted in `COLLECTION_REQUESTS` (by kind), so the benchmark and the logs
can say what collecting responses cost.

Sources:
- subscriptions: https://learn.microsoft.com/graph/api/subscription-post-subscriptions,
  https://learn.microsoft.com/graph/api/subscription-update, https://learn.microsoft.com/graph/api/subscription-delete,
  https://learn.microsoft.com/graph/api/subscription-get; the longest lifetime of a subscription
  to Outlook events is 10,080 minutes (under 7 days),
  https://learn.microsoft.com/graph/api/resources/subscription#subscription-lifetime.
- delta: https://learn.microsoft.com/graph/delta-query-events and
  https://learn.microsoft.com/graph/api/event-delta (`GET /users/{id}/calendarView/delta?startDateTime=
  &endDateTime=`, then `@odata.nextLink` until `@odata.deltaLink`; `Prefer: odata.maxpagesize`).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from shared.calendar.graph_gateway import IMMUTABLE_IDS, GraphCalendar
from shared.errors import GraphError

DELTA_PAGE = 200  # events per delta page (Prefer: odata.maxpagesize); a quiet calendar answers in one page


class RequestCounter:
    """Graph requests sent for collection in this process, by kind (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self._counts[kind] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self, *kinds: str) -> int:
        with self._lock:
            return sum(n for k, n in self._counts.items() if not kinds or k in kinds)


COLLECTION_REQUESTS = RequestCounter()


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    resource: str
    expires: datetime | None
    notification_url: str | None = None


@dataclass
class DeltaPage:
    events: list[dict[str, Any]] = field(default_factory=list)
    next_link: str | None = None
    delta_link: str | None = None


class CollectionGraph(GraphCalendar):
    """GraphCalendar plus the subscription and delta requests of response collection."""

    # -- subscriptions ------------------------------------------------------------------------

    async def create_subscription(self, organizer: str, body: dict[str, Any]) -> SubscriptionInfo:
        builder = self._client.subscriptions
        info = _json_request("POST", builder, body)
        answer = await self._counted(organizer, "subscription", info, f"subscribe to {organizer}'s calendar changes")
        return _subscription(answer)

    async def renew_subscription(self, organizer: str, subscription_id: str, expires: datetime) -> SubscriptionInfo:
        """PATCH the expiry: renews, and reauthorizes a subscription that asked for it."""
        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        info = _json_request("PATCH", builder, {"expirationDateTime": _iso(expires)})
        answer = await self._counted(organizer, "subscription", info,
                                     f"renew the subscription to {organizer}'s calendar changes")
        return _subscription(answer)

    async def get_subscription(self, organizer: str, subscription_id: str) -> SubscriptionInfo | None:
        """The subscription as Graph knows it; None when Graph has no such subscription (404)."""
        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        info = builder.to_get_request_information()
        try:
            answer = await self._counted(organizer, "subscription", info,
                                         f"read the subscription to {organizer}'s calendar changes")
        except GraphError as error:
            if error.status == 404:
                return None
            raise
        return _subscription(answer)

    async def delete_subscription(self, organizer: str, subscription_id: str) -> None:
        """Delete it; one Graph no longer has is fine."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        info = RequestInformation(Method.DELETE, builder.url_template, builder.path_parameters)
        try:
            await self._counted(organizer, "subscription", info,
                                f"delete the subscription to {organizer}'s calendar changes")
        except GraphError as error:
            if error.status != 404:
                raise

    # -- the calendar view's delta ------------------------------------------------------------

    async def delta_pages(
        self, organizer: str, *, link: str | None = None, start: datetime | None = None, end: datetime | None = None,
    ) -> AsyncIterator[DeltaPage]:
        """One round of delta pages: from a stored link, or a new round over [start, end)."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder

        builder = self._client.users.by_user_id(organizer).calendar_view.delta
        config: Any
        if link is None:
            if start is None or end is None:
                raise ValueError("a new delta round needs its window")
            query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=_iso(start), end_date_time=_iso(end))
            config = RequestConfiguration(query_parameters=query)
        else:
            config = RequestConfiguration()
        _prefer(config)
        info = (builder if link is None else builder.with_url(link)).to_get_request_information(config)
        while True:
            answer = await self._counted(organizer, "delta", info, f"read the changes in {organizer}'s calendar")
            page = DeltaPage([e for e in answer.get("value") or [] if isinstance(e, dict)],
                             answer.get("@odata.nextLink"), answer.get("@odata.deltaLink"))
            yield page
            if not page.next_link:
                return
            config = RequestConfiguration()
            _prefer(config)
            info = builder.with_url(page.next_link).to_get_request_information(config)

    # -- plumbing -----------------------------------------------------------------------------

    async def _counted(self, organizer: str, kind: str, info: Any, action: str) -> dict[str, Any]:
        async def attempt() -> dict[str, Any]:
            COLLECTION_REQUESTS.add(kind)
            return await self._send_json_or_map(info, action)

        return await self._with_retries(organizer, partial(attempt))


def _prefer(config: Any) -> None:
    config.headers.add("Prefer", IMMUTABLE_IDS)
    config.headers.add("Prefer", f"odata.maxpagesize={DELTA_PAGE}")


def _json_request(method: str, builder: Any, body: dict[str, Any]) -> Any:
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation

    info = RequestInformation(Method(method), builder.url_template, builder.path_parameters)
    info.headers.try_add("Content-Type", "application/json")
    info.headers.try_add("Accept", "application/json")
    info.content = json.dumps(body).encode("utf-8")
    return info


def _subscription(answer: dict[str, Any]) -> SubscriptionInfo:
    if not answer.get("id"):
        raise GraphError("Graph answered a subscription request without the subscription's id.")
    return SubscriptionInfo(str(answer["id"]), str(answer.get("resource") or ""),
                            parse_time(answer.get("expirationDateTime")), answer.get("notificationUrl"))


def parse_time(value: Any) -> datetime | None:
    """Graph's ISO 8601 times (7 decimals, `Z`) as aware datetimes; None when absent or unreadable."""
    from datetime import UTC

    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 fractional digits
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    from datetime import UTC

    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

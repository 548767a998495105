"""Read-only views for tests and the demo: what each person has in their calendar and inbox.

These are the outside contract of the sandbox (see README.md); they read state directly and
are not Graph requests, so they are never counted, throttled or authenticated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shared.sandbox.store import EventRow
from shared.sandbox.web import json_response

if TYPE_CHECKING:
    from shared.sandbox.core import Sandbox


def calendar_item(row: EventRow, tag: str | None) -> dict[str, Any]:
    data = row.data
    location = {"displayName": data.get("location", {}).get("displayName", "")}
    if data.get("location", {}).get("address"):
        location["address"] = data["location"]["address"]
    return {
        "id": row.id,
        "subject": data.get("subject", ""),
        "startUtc": row.start_utc,
        "endUtc": row.end_utc,
        "start": data["start"],
        "end": data["end"],
        "location": location,
        "body": {"contentType": data["body"]["contentType"], "content": data["body"]["content"]},
        "organizer": row.organizer,
        "attendees": [a["emailAddress"]["address"].lower() for a in data.get("attendees", [])],
        # What Exchange recorded: each attendee's answer on the organizer's item, and this item's own answer.
        "attendeeResponses": [{"address": a["emailAddress"]["address"].lower(), **a.get("status", {})}
                              for a in data.get("attendees", [])],
        "responseStatus": data.get("responseStatus"),
        "responseRequested": data.get("responseRequested"),
        "allowNewTimeProposals": data.get("allowNewTimeProposals"),
        "tag": tag,
        "iCalUId": row.ical_uid,
        "isOrganizer": not row.is_copy,
        "organizerEventId": row.organizer_event_id or row.id,
    }


class Inspection:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def mailboxes(self, request: Request) -> Response:
        return json_response(200, {"value": self._sandbox.store.mailbox_summary()})

    def calendar(self, request: Request, address: str) -> Response:
        items = self._sandbox.store.calendar(address.lower())
        return json_response(200, {"value": [calendar_item(row, tag) for row, tag in items]})

    def messages(self, request: Request, address: str) -> Response:
        found = self._sandbox.store.messages(address.lower())
        return json_response(200, {"value": [{"id": seq, **data} for seq, data in found]})

    def subscriptions(self, request: Request) -> Response:
        """Every live change-notification subscription with its delivery counts, and deliveries still queued."""
        service = self._sandbox.subscriptions
        return json_response(200, {"value": service.inspect(), "pending": service.pending()})

    def stats(self, request: Request) -> Response:
        return json_response(200, self._sandbox.stats.snapshot())

    def info(self, request: Request) -> Response:
        return json_response(200, self._sandbox.info())

"""The probe's requests, written as Graph batch items.

Query option names are written out by hand, literally (`$filter`) or percent-encoded
(`%24filter`, what the SDK's request builders put into a URL), because telling the two apart is
one of the things measured. Probe events carry their own extended property (same property set
as the product's tag, a different name), so a probe event is never mistaken for an invitation
by the sync or by `learncal mapping rebuild`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any
from urllib.parse import quote

from shared.calendar.batch import SubRequest

PROBE_PROPERTY_ID = "String {8a3c2f4e-6b1d-4e7a-9c55-1f0b7d2e4a61} Name LearningCalendarSyncProbe"
SUBJECT = "Learning Calendar Sync tenant probe (safe to delete)"
WRITE_HEADERS = {"Content-Type": "application/json", "Prefer": 'IdType="ImmutableId"'}
READ_HEADERS = {"Prefer": 'IdType="ImmutableId"'}


@dataclass
class Requests:
    """Batch items for one mailbox, with request ids unique within a probe run."""

    mailbox: str
    start: datetime  # when the probe events take place (far ahead, nobody's working hours)
    _ids: count[int] = field(default_factory=lambda: count(1))

    @property
    def events_path(self) -> str:
        return f"/users/{quote(self.mailbox, safe='@')}/events"

    def _id(self) -> str:
        return str(next(self._ids))

    def create(self, tag: str, *, attendee: str | None = None, subject: str = SUBJECT,
               transaction_id: str | None = None) -> SubRequest:
        start = self.start.replace(microsecond=0)
        body: dict[str, Any] = {
            "subject": subject,
            "body": {"contentType": "text", "content": "Created by learncal tenant-probe; it removes it itself."},
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "showAs": "free",
            "isReminderOn": False,
            "responseRequested": False,
            "allowNewTimeProposals": False,
            "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}] if attendee else [],
            "singleValueExtendedProperties": [{"id": PROBE_PROPERTY_ID, "value": tag}],
        }
        if transaction_id:
            body["transactionId"] = transaction_id
        return SubRequest(self._id(), "POST", self.events_path, dict(WRITE_HEADERS), body)

    def cancel(self, event_id: str) -> SubRequest:
        return SubRequest(self._id(), "POST", f"{self.events_path}/{quote(event_id, safe='')}/cancel",
                          dict(WRITE_HEADERS), {"Comment": "Test meeting of learncal tenant-probe, removed again."})

    def delete(self, event_id: str) -> SubRequest:
        return SubRequest(self._id(), "DELETE", f"{self.events_path}/{quote(event_id, safe='')}", dict(READ_HEADERS))

    def find(self, tag: str, *, encoded: bool = False) -> SubRequest:
        """Events whose probe property equals `tag`; `encoded` writes `%24filter` as the SDK's builders do."""
        literal = tag.replace("'", "''")
        condition = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROBE_PROPERTY_ID}' and ep/value eq '{literal}')"
        dollar = "%24" if encoded else "$"
        query = f"{dollar}filter={quote(condition, safe='')}&{dollar}select=id,isCancelled&{dollar}top=50"
        return SubRequest(self._id(), "GET", f"{self.events_path}?{query}", dict(READ_HEADERS))

    def page(self) -> SubRequest:
        """A small read of the mailbox's events: the unit of the concurrency measurement."""
        return SubRequest(self._id(), "GET", f"{self.events_path}?$select=id&$top=1", dict(READ_HEADERS))


def ids_in(body: Any, *, live_only: bool = False) -> list[str]:
    """Event ids in a listing's answer (`live_only`: without cancelled meetings)."""
    items = body.get("value") if isinstance(body, dict) else None
    return [str(e["id"]) for e in items or []
            if isinstance(e, dict) and e.get("id") and not (live_only and e.get("isCancelled"))]

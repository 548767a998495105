"""Pure rules of response collection: the response vocabulary, the delta window, notification shapes.

No I/O here, so each rule is tested on its own.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Response = Literal["none", "accepted", "tentativelyAccepted", "declined"]

# Graph's responseStatus.response values (https://learn.microsoft.com/graph/api/resources/responsestatus):
# none, organizer, tentativelyAccepted, accepted, declined, notResponded. The product's vocabulary folds
# "not answered yet" into "none"; "organizer" is the organizer's own entry, never an attendee's answer.
_RESPONSES: dict[str, Response] = {
    "none": "none", "notresponded": "none", "accepted": "accepted",
    "tentativelyaccepted": "tentativelyAccepted", "declined": "declined",
}

# Subscriptions to Outlook events live at most 10,080 minutes
# (https://learn.microsoft.com/graph/api/resources/subscription#subscription-lifetime); asking for a
# little less keeps clock skew from making Graph refuse the expiry.
SUBSCRIPTION_LIFETIME = timedelta(minutes=10080 - 60)
RENEW_WHEN_LEFT = timedelta(days=1)  # the upkeep runs every 30 minutes: dozens of chances before expiry

# The delta window: from a little before now to well beyond the last live session. It moves (a new
# delta round, one full read) only when its start is a week old or a session lies beyond its end.
WINDOW_BEFORE = timedelta(days=1)
WINDOW_AFTER = timedelta(days=60)
WINDOW_MAX_AGE = timedelta(days=7)


def response_of(value: Any) -> Response | None:
    """An attendee's response in the product's vocabulary; None for anything that is not an answer."""
    if not isinstance(value, str):
        return None
    return _RESPONSES.get(value.strip().lower())


@dataclass(frozen=True)
class AttendeeAnswer:
    email: str
    response: Response
    responded_at: datetime | None


def attendee_answers(event: dict[str, Any]) -> list[AttendeeAnswer]:
    """The attendees' responses recorded on the organizer's event (`attendees[].status`)."""
    from shared.responses.graph import parse_time

    found: list[AttendeeAnswer] = []
    for attendee in event.get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        address = ((attendee.get("emailAddress") or {}).get("address") or "").strip().lower()
        status = attendee.get("status") or {}
        response = response_of(status.get("response"))
        if not address or response is None:
            continue
        at = parse_time(status.get("time"))
        if at is not None and at.year <= 1:  # Graph's "0001-01-01T00:00:00Z": never answered
            at = None
        found.append(AttendeeAnswer(address, response, at if response != "none" else None))
    return found


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def covers(self, now: datetime, last_end: datetime | None) -> bool:
        """Still right: not too old, and every live session inside it."""
        if now - self.start > WINDOW_MAX_AGE + WINDOW_BEFORE:
            return False
        return last_end is None or last_end <= self.end


def window_for(now: datetime, last_end: datetime | None) -> Window:
    """A new window: the day before now to 60 days past the last live session (at least 60 days ahead)."""
    start = (now - WINDOW_BEFORE).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = max(now, last_end or now) + WINDOW_AFTER
    return Window(start, end.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))


def same_secret(given: Any, expected: str) -> bool:
    """clientState comparison in constant time (the value is a secret; it is never logged)."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Notification:
    """One item of a change or lifecycle notification collection
    (https://learn.microsoft.com/graph/api/resources/changenotification)."""

    subscription_id: str
    client_state: str | None
    change_type: str | None = None
    resource: str | None = None
    event_id: str | None = None
    lifecycle_event: str | None = None


def notifications_of(body: Any) -> list[Notification]:
    """The items of a changeNotificationCollection (`{"value": [...]}`); malformed items are skipped."""
    items = body.get("value") if isinstance(body, dict) else None
    found: list[Notification] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("subscriptionId"), str):
            continue
        raw = item.get("resourceData")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        found.append(Notification(
            subscription_id=item["subscriptionId"],
            client_state=item.get("clientState") if isinstance(item.get("clientState"), str) else None,
            change_type=item.get("changeType"),
            resource=item.get("resource"),
            event_id=data.get("id") if isinstance(data.get("id"), str) else None,
            lifecycle_event=item.get("lifecycleEvent"),
        ))
    return found


def organizer_of_resource(resource: str | None) -> str | None:
    """`users/{organizer}/events` (any case) -> the organizer; None when it names something else."""
    if not resource:
        return None
    parts = resource.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "users":
        return parts[1].lower()
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)

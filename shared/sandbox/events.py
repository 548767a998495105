"""Graph's `event` resource: what a create or PATCH body may say, and how an event reads back.

Stored events keep `start`/`end` exactly as sent (the inspection endpoints show them so) and
the UTC instants beside them; reading converts to UTC or to the `Prefer: outlook.timezone`
zone as Graph does. Unknown properties are refused like Graph's OData reader refuses them,
so a misspelt property fails loudly instead of being dropped.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from shared.sandbox.graph_http import GraphError
from shared.sandbox.odata import Expand, normalize_prop_id
from shared.sandbox.store import EventRow
from shared.sandbox.timezones import (
    UnsupportedTimeZone,
    ZoneMode,
    from_utc,
    graph_datetime,
    parse_local,
    resolve,
    to_utc,
)

NEVER = "0001-01-01T00:00:00Z"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_BOOLEANS = ("responseRequested", "allowNewTimeProposals", "isReminderOn", "isOnlineMeeting", "hideAttendees",
             "isAllDay")
_STRINGS = ("subject", "showAs", "importance", "sensitivity", "onlineMeetingProvider")
WRITABLE = frozenset((*_BOOLEANS, *_STRINGS, "body", "start", "end", "location", "locations", "attendees",
                      "categories", "reminderMinutesBeforeStart", "transactionId", "singleValueExtendedProperties",
                      "recurrence"))
# Accepted in a body and ignored, as Graph ignores server-owned properties sent back to it.
IGNORED = frozenset(("id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "uid", "organizer",
                     "isOrganizer", "isCancelled", "isDraft", "webLink", "bodyPreview", "responseStatus", "type",
                     "seriesMasterId", "originalStartTimeZone", "originalEndTimeZone", "hasAttachments",
                     "occurrenceId", "onlineMeeting", "onlineMeetingUrl", "originalStart"))
SELECTABLE = frozenset((*WRITABLE, *IGNORED)) - {"singleValueExtendedProperties"}


def new_event_id() -> str:
    """Ids look like Exchange's (base64 with `-`, `_` and `=` padding), so URL-encoding bugs show up."""
    raw = b"\x00\x00\x0d\x92\x00" + uuid.uuid4().bytes + secrets.token_bytes(21)
    return base64.urlsafe_b64encode(raw).decode("ascii")[:-2] + "A="


def web_link(event_id: str) -> str:
    return "https://outlook.office365.com/owa/?itemid=" + quote(event_id, safe="") + "&exvsurl=1&path=/calendar/item"


def new_ical_uid() -> str:
    return "040000008200E00074C5B7101A82E00800000000" + secrets.token_hex(28).upper()


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(21)).decode("ascii")


def _invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def _date_time_zone(value: Any, name: str, mode: ZoneMode) -> tuple[dict[str, str], datetime]:
    """A `dateTimeTimeZone` as sent, and its instant in UTC."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise _invalid(f"The '{name}' property requires a dateTime and a timeZone.")
    zone_name = value.get("timeZone")
    if not isinstance(zone_name, str) or not zone_name.strip():
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone value is not supported: ''.")
    try:
        zone = resolve(zone_name, mode)
    except UnsupportedTimeZone:
        raise GraphError(400, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. "
                         f"The following TimeZone value is not supported: '{zone_name}'.") from None
    try:
        local = parse_local(value["dateTime"])
    except ValueError:
        raise GraphError(400, "BadRequest", f"Cannot convert the literal '{value['dateTime']}' to the expected "
                         "type 'Edm.DateTimeOffset'.") from None
    return {"dateTime": value["dateTime"], "timeZone": zone_name}, to_utc(local, zone)


def _attendees(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _invalid("The 'attendees' property must be a collection.")
    seen: set[str] = set()
    result = []
    for item in value:
        email = item.get("emailAddress") if isinstance(item, dict) else None
        address = email.get("address") if isinstance(email, dict) else None
        if not isinstance(email, dict) or not isinstance(address, str) or not _EMAIL.match(address.strip()):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        address = address.strip()
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        kind = item.get("type") or "required"
        if kind not in ("required", "optional", "resource"):
            raise _invalid(f"The attendee type '{kind}' is not valid.")
        result.append({"type": kind, "status": {"response": "none", "time": NEVER},
                       "emailAddress": {"name": email.get("name") or address, "address": address}})
    return result


def _location(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid("The 'location' property must be an object.")
    name = value.get("displayName") or ""
    location = {"displayName": name, "locationType": value.get("locationType") or "default",
                "uniqueId": value.get("uniqueId") or name or None,
                "uniqueIdType": value.get("uniqueIdType") or ("private" if name else "unknown")}
    for key in ("address", "coordinates", "locationUri", "locationEmailAddress"):
        if value.get(key) is not None:
            location[key] = _strip_odata(value[key])
    return location


def _strip_odata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_odata(v) for k, v in value.items() if not k.startswith("@odata.")}
    if isinstance(value, list):
        return [_strip_odata(v) for v in value]
    return value


def _props(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _invalid("The 'singleValueExtendedProperties' property must be a collection.")
    props = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise GraphError(400, "ErrorInvalidExtendedPropertyValue", "Each extended property needs an id.")
        normalize_prop_id(item["id"])
        if item.get("value") is not None and not isinstance(item["value"], str):
            raise GraphError(400, "ErrorInvalidExtendedPropertyValue", "Extended property values are strings.")
        props.append({"id": item["id"], "value": item.get("value")})
    return props


def parse_changes(body: Any, mode: ZoneMode) -> dict[str, Any]:
    """The properties a create or PATCH body sets, normalized; refuses what Graph would refuse."""
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@odata.") or key in IGNORED:
            continue
        if key not in WRITABLE:
            raise GraphError(400, "RequestBodyRead", f"The property '{key}' does not exist on type "
                             "'microsoft.graph.event'. Make sure to only use property names that are defined by "
                             "the type or mark the type as open type.")
        if key in _BOOLEANS:
            if not isinstance(value, bool):
                raise _invalid(f"The '{key}' property must be true or false.")
            changes[key] = value
        elif key in _STRINGS or key == "transactionId":
            if value is not None and not isinstance(value, str):
                raise _invalid(f"The '{key}' property must be a string.")
            changes[key] = value
        elif key == "body":
            if not isinstance(value, dict):
                raise _invalid("The 'body' property must be an itemBody.")
            kind = str(value.get("contentType") or "text").lower()
            if kind not in ("text", "html"):
                raise _invalid(f"The body content type '{kind}' is not valid.")
            changes["body"] = {"contentType": kind, "content": str(value.get("content") or "")}
        elif key in ("start", "end"):
            changes[key] = _date_time_zone(value, key, mode)
        elif key == "location":
            changes["location"] = _location(value)
        elif key == "locations":
            changes["locations"] = [_location(v) for v in value] if isinstance(value, list) else []
        elif key == "attendees":
            changes["attendees"] = _attendees(value)
        elif key == "categories":
            changes["categories"] = [str(v) for v in value] if isinstance(value, list) else []
        elif key == "reminderMinutesBeforeStart":
            if not isinstance(value, int):
                raise _invalid("The 'reminderMinutesBeforeStart' property must be a number.")
            changes[key] = value
        elif key == "recurrence":
            if value is not None:
                raise _invalid("Recurring meetings are not part of this sandbox; send single events.")
        else:
            changes[key] = _props(value)
    return changes


def _preview(body: dict[str, Any]) -> str:
    text = body.get("content", "")
    if body.get("contentType") == "html":
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())[:255]


def new_event(event_id: str, organizer: dict[str, str], changes: dict[str, Any], now: str) -> dict[str, Any]:
    """The stored form of a new organizer event (`changes` from parse_changes, start and end present)."""
    if "start" not in changes or "end" not in changes:
        raise _invalid("An event needs both a start and an end.")
    data: dict[str, Any] = {
        "id": event_id, "createdDateTime": now, "lastModifiedDateTime": now, "changeKey": new_change_key(),
        "categories": [], "transactionId": None, "iCalUId": new_ical_uid(), "reminderMinutesBeforeStart": 15,
        "isReminderOn": True, "hasAttachments": False, "subject": "", "bodyPreview": "", "importance": "normal",
        "sensitivity": "normal", "isAllDay": False, "isCancelled": False, "isOrganizer": True,
        "responseRequested": True, "seriesMasterId": None, "showAs": "busy", "type": "singleInstance",
        "webLink": web_link(event_id),
        "onlineMeetingUrl": None, "isOnlineMeeting": False, "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True, "occurrenceId": None, "isDraft": False, "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": NEVER},
        "body": {"contentType": "text", "content": ""}, "start": None, "end": None,
        "location": _location({}), "locations": [], "recurrence": None, "attendees": [],
        "organizer": {"emailAddress": organizer}, "onlineMeeting": None, "singleValueExtendedProperties": [],
    }
    data["uid"] = data["iCalUId"]
    apply_changes(data, changes, now)
    return data


def apply_changes(data: dict[str, Any], changes: dict[str, Any], now: str) -> None:
    """Write normalized changes into a stored event; the caller has checked start < end."""
    for key, value in changes.items():
        if key in ("start", "end"):
            data[key] = value[0]
            data["original" + key.capitalize() + "TimeZone"] = value[0]["timeZone"]
        elif key == "singleValueExtendedProperties":
            merged = {normalize_prop_id(p["id"]): p for p in data.get(key, [])}
            merged.update({normalize_prop_id(p["id"]): p for p in value})
            data[key] = list(merged.values())
        elif key == "location":
            data["location"] = value
            data["locations"] = [value] if value.get("displayName") else []
        else:
            data[key] = value
    data["bodyPreview"] = _preview(data["body"])
    data["lastModifiedDateTime"] = now
    data["changeKey"] = new_change_key()


def utc_bounds(changes: dict[str, Any], row: EventRow | None) -> tuple[str, str]:
    """The event's start and end in UTC after `changes`, refusing an end before the start."""
    start = changes["start"][1] if "start" in changes else _parse_utc(row.start_utc if row else "")
    end = changes["end"][1] if "end" in changes else _parse_utc(row.end_utc if row else "")
    if end < start:
        raise GraphError(400, "ErrorCalendarEndDateIsEarlierThanStartDate",
                         "The end date occurs before the start date.")
    return _utc_text(start), _utc_text(end)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def props_index(data: dict[str, Any]) -> dict[str, str | None]:
    return {normalize_prop_id(p["id"]): p.get("value") for p in data.get("singleValueExtendedProperties", [])}


def render(row: EventRow, *, zone_name: str | None = None, expand: Expand | None = None,
           select: list[str] | None = None) -> dict[str, Any]:
    """The event as Graph returns it: times in UTC (or `zone_name`), extended properties only when expanded."""
    data = dict(row.data)
    props = data.pop("singleValueExtendedProperties", [])
    zone = None
    if zone_name:
        try:
            zone = resolve(zone_name, "lenient")
        except UnsupportedTimeZone:
            zone = None
    for key, text in (("start", row.start_utc), ("end", row.end_utc)):
        moment = _parse_utc(text)
        if zone is None:
            data[key] = {"dateTime": graph_datetime(moment.replace(tzinfo=None)), "timeZone": "UTC"}
        else:
            data[key] = {"dateTime": graph_datetime(from_utc(moment, zone)), "timeZone": str(zone_name)}
    if select is not None:
        data = {key: data.get(key) for key in ("id", *select)}
    if expand is not None:
        chosen = [p for p in props if expand.prop_id is None or normalize_prop_id(p["id"]) == expand.prop_id]
        if chosen:
            data["singleValueExtendedProperties"] = chosen
    return {"@odata.etag": f'W/"{row.data["changeKey"]}"', **data}

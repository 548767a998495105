"""Sending actions as JSON, so a plan's work can wait in Table Storage for the drain that sends it.

The round trip is exact (every field, the mapping row's ETag included): the drain judges a
queued action by what the plan decided, then checks it against the mapping as it is now.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.domain import InvitationKey
from shared.planning.content import EventContent
from shared.planning.desired import DesiredInvitation
from shared.planning.plan import Cancel, Create, Update
from shared.planning.sent import SentRecord

SendAction = Create | Update | Cancel


class UnreadableWork(ValueError):
    """A work row's action is not in a shape this version reads (written by another version, or damaged)."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _key(key: InvitationKey) -> list[str]:
    return [key.offering_id, key.activity_id, key.email]


def _record(record: SentRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "key": _key(record.key), "organizer": record.organizer, "role": record.role, "state": record.state,
        "keyFp": record.key_fp, "hashes": dict(record.hashes), "start": _time(record.start_utc),
        "end": _time(record.end_utc), "eventId": record.event_id, "generation": record.generation,
        "comment": record.comment, "etag": record.etag,
    }


def _read_record(data: dict[str, Any] | None) -> SentRecord | None:
    if data is None:
        return None
    return SentRecord(
        key=InvitationKey(*data["key"]), organizer=data["organizer"], role=data["role"], state=data["state"],
        key_fp=data["keyFp"], hashes=dict(data["hashes"]), start_utc=_parse_time(data["start"]),
        end_utc=_parse_time(data["end"]), event_id=data["eventId"], generation=int(data["generation"]),
        comment=data["comment"], etag=data["etag"],
    )


def _invitation(inv: DesiredInvitation) -> dict[str, Any]:
    c = inv.content
    return {
        "key": _key(inv.key), "role": inv.role, "name": inv.name, "keyFp": inv.key_fp,
        "start": _time(inv.start_utc), "end": _time(inv.end_utc), "mayCreate": inv.may_create,
        "content": {"subject": c.subject, "bodyHtml": c.body_html, "startLocal": c.start_local,
                    "endLocal": c.end_local, "timeZone": c.time_zone, "location": c.location,
                    "responseRequested": c.response_requested},
    }


def _read_invitation(data: dict[str, Any]) -> DesiredInvitation:
    c = data["content"]
    start, end = _parse_time(data["start"]), _parse_time(data["end"])
    assert start is not None and end is not None
    return DesiredInvitation(
        key=InvitationKey(*data["key"]), role=data["role"], name=data["name"],
        content=EventContent(c["subject"], c["bodyHtml"], c["startLocal"], c["endLocal"], c["timeZone"],
                             c["location"], bool(c.get("responseRequested", False))),  # absent in older rows
        key_fp=data["keyFp"], start_utc=start, end_utc=end, may_create=bool(data["mayCreate"]),
    )


def to_data(action: SendAction) -> dict[str, Any]:
    if isinstance(action, Create):
        return {"kind": "create", "key": _key(action.key), "invitation": _invitation(action.invitation),
                "organizer": action.organizer, "generation": action.generation, "resume": action.resume,
                "record": _record(action.record)}
    if isinstance(action, Update):
        return {"kind": "update", "key": _key(action.key), "invitation": _invitation(action.invitation),
                "record": _record(action.record), "changed": list(action.changed), "reason": action.reason}
    return {"kind": "cancel", "key": _key(action.key), "record": _record(action.record), "comment": action.comment,
            "reinvite": to_data(action.reinvite) if action.reinvite is not None else None}


def from_data(data: dict[str, Any]) -> SendAction:
    try:
        kind = data["kind"]
        key = InvitationKey(*data["key"])
        if kind == "create":
            return Create(key, _read_invitation(data["invitation"]), data["organizer"], int(data["generation"]),
                          bool(data["resume"]), _read_record(data["record"]))
        if kind == "update":
            record = _read_record(data["record"])
            assert record is not None
            return Update(key, _read_invitation(data["invitation"]), record, tuple(data["changed"]), data["reason"])
        if kind == "cancel":
            record = _read_record(data["record"])
            assert record is not None
            reinvite = from_data(data["reinvite"]) if data.get("reinvite") is not None else None
            if reinvite is not None and not isinstance(reinvite, Create):
                raise UnreadableWork("a cancellation's re-invitation must be a create")
            return Cancel(key, record, data["comment"], reinvite)
    except (KeyError, TypeError, ValueError, AssertionError) as error:
        raise UnreadableWork(f"unreadable queued action ({type(error).__name__}: {error})") from None
    raise UnreadableWork(f"unknown queued action kind {kind!r}")


def encode(action: SendAction) -> str:
    return json.dumps(to_data(action), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> SendAction:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise UnreadableWork(f"queued action is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise UnreadableWork("queued action is not a JSON object")
    return from_data(data)

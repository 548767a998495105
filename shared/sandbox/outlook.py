"""What Exchange does with an organizer's meetings: attendee copies and meeting messages.

Creating a meeting sends each attendee a request and puts a copy in their calendar; changing
anything but the attendee list sends every attendee an update; changing only the attendee
list notifies only the people added (request) or removed (cancellation); cancelling or
deleting sends cancellations and takes the copies away. The organizer's cancelled meeting
moves out of the calendar (to Deleted Items) but keeps its id, as with ImmutableId.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.sandbox.clock import Clock, graph_timestamp
from shared.sandbox.events import (
    NEVER,
    apply_changes,
    new_change_key,
    new_event,
    new_event_id,
    props_index,
    utc_bounds,
    web_link,
)
from shared.sandbox.graph_http import GraphError
from shared.sandbox.postmaster import Postmaster
from shared.sandbox.realism import Realism
from shared.sandbox.store import EventRow, Store

REQUEST, UPDATE, CANCELLATION = "meetingRequest", "meetingUpdate", "meetingCancellation"
# An attendee's answer and the eventMessage type of the response the organizer receives
# (learn.microsoft.com/graph/api/resources/eventmessage: meetingMessageType, Graph's own spelling).
RESPONSE_MESSAGES = {"accepted": ("meetingAccepted", "Accepted"),
                     "tentativelyAccepted": ("meetingTenativelyAccepted", "Tentative"),
                     "declined": ("meetingDeclined", "Declined")}


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def attendee_addresses(data: dict[str, Any]) -> list[str]:
    return [a["emailAddress"]["address"].lower() for a in data.get("attendees", [])]


class Outlook:
    def __init__(self, store: Store, clock: Clock, postmaster: Postmaster, realism: Callable[[], Realism]) -> None:
        self._store = store
        self._clock = clock
        self._postmaster = postmaster
        self._realism = realism

    def event(self, mailbox: str, event_id: str) -> EventRow:
        row = self._store.event(event_id)
        if row is None or row.mailbox != mailbox.lower():
            raise not_found()
        return row

    def create(self, organizer: str, organizer_name: str, changes: dict[str, Any]) -> tuple[EventRow, bool]:
        """The new meeting and True, or the meeting an earlier POST with the same transactionId made and False."""
        mailbox = organizer.lower()
        with self._store.transaction():
            transaction_id = changes.get("transactionId")
            if transaction_id:
                # Undocumented how long Graph remembers a transactionId and whether a cancelled
                # event still answers for it (switch transactionIdAfterCancel).
                live_only = self._realism().transaction_id_after_cancel == "createsNew"
                existing = self._store.by_transaction(mailbox, transaction_id, live_only=live_only)
                if existing is not None:
                    return existing, False
            start_utc, end_utc = utc_bounds(changes, None)
            now = graph_timestamp(self._clock.now())
            data = new_event(new_event_id(), {"name": organizer_name, "address": organizer}, changes, now)
            row = EventRow(id=data["id"], mailbox=mailbox, organizer=mailbox, ical_uid=data["iCalUId"],
                           start_utc=start_utc, end_utc=end_utc, data=data, transaction_id=transaction_id or None)
            self._store.save_event(row, props_index(data))
            self._send(REQUEST, row, attendee_addresses(data))
        return row, True

    def update(self, mailbox: str, event_id: str, changes: dict[str, Any]) -> EventRow:
        changes = {k: v for k, v in changes.items() if k != "transactionId"}
        with self._store.transaction():
            row = self.event(mailbox, event_id)
            if row.cancelled:
                raise GraphError(400, "ErrorInvalidRequest", "The meeting has been cancelled and can't be updated.")
            before = attendee_addresses(row.data)
            row.start_utc, row.end_utc = utc_bounds(changes, row)
            apply_changes(row.data, changes, graph_timestamp(self._clock.now()))
            self._store.save_event(row, props_index(row.data))
            if row.is_copy or not changes:
                return row
            after = attendee_addresses(row.data)
            added = [a for a in after if a not in before]
            removed = [a for a in before if a not in after]
            if set(changes) - {"attendees"}:
                self._send(UPDATE, row, [a for a in after if a in before])
            self._send(REQUEST, row, added)
            self._send(CANCELLATION, row, removed)
        return row

    def cancel(self, mailbox: str, event_id: str, comment: str | None) -> None:
        with self._store.transaction():
            row = self.event(mailbox, event_id)
            if row.is_copy:
                raise GraphError(400, "ErrorInvalidRequest",
                                 "Your request can't be completed. You need to be an organizer to cancel a meeting.")
            if row.cancelled:
                self._repeat_cancel(row, comment)
                return
            self._cancel(row, comment)

    def _repeat_cancel(self, row: EventRow, comment: str | None) -> None:
        """A second cancel of a cancelled meeting; what Graph answers is undocumented (switch repeatCancel).

        "accepted" (the worst case): 202 and every attendee receives a second cancellation.
        """
        mode = self._realism().repeat_cancel
        if mode == "notFound":
            raise not_found()
        if mode == "badRequest":
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The meeting has already "
                             "been canceled.")
        self._send(CANCELLATION, row, attendee_addresses(row.data), comment)

    def delete(self, mailbox: str, event_id: str) -> None:
        with self._store.transaction():
            row = self.event(mailbox, event_id)
            if not row.is_copy and not row.cancelled:
                self._cancel(row, None)
            self._store.delete_event(row.id)

    def respond(self, copy: EventRow, response: str, comment: str | None, send_response: bool) -> bool:
        """An attendee answers the meeting `copy` in their calendar, as event-accept, event-tentativelyaccept and
        event-decline do (learn.microsoft.com/graph/api/event-accept): their copy's `responseStatus` takes the
        answer and its time; with `sendResponse` a response message goes to the organizer, and Exchange
        records it on the organizer's meeting (`attendees[].status`, learn.microsoft.com/graph/api/resources/
        attendee, responseStatus: "the response type ... and the date and time when the response was returned").

        Undocumented, so behind switches: whether recording a response changes the organizer's item's
        `changeKey` and `lastModifiedDateTime` (`responseChangesOrganizerItem`, default `changes`: a client
        holding the old changeKey sees its copy go stale), and whether an answer to a meeting that asked for no
        response still reaches the organizer (`responseWithoutRequest`, default `notSent`, as Outlook does).
        Returns whether the organizer received the response (and their meeting recorded it).
        """
        with self._store.transaction():
            organizer_event = self._store.event(copy.organizer_event_id or "")
            now = self._clock.now()
            stamp = graph_timestamp(now)
            copy.data["responseStatus"] = {"response": response, "time": stamp}
            copy.data["lastModifiedDateTime"] = stamp
            copy.data["changeKey"] = new_change_key()
            self._store.save_event(copy, {})
            if organizer_event is None or organizer_event.cancelled or not send_response:
                return False
            realism = self._realism()
            asked = organizer_event.data.get("responseRequested", True)
            if not asked and realism.response_without_request == "notSent":
                return False
            kind, prefix = RESPONSE_MESSAGES[response]
            summary = _summary(organizer_event)
            summary["meetingSubject"] = organizer_event.data.get("subject")
            delivered = self._postmaster.send(kind, copy.mailbox, [organizer_event.organizer], summary, comment,
                                              subject=f"{prefix}: {organizer_event.data.get('subject') or ''}",
                                              extra={"meetingMessageType": kind, "response": response})
            if not delivered:
                return False
            for attendee in organizer_event.data.get("attendees", []):
                if attendee["emailAddress"]["address"].lower() == copy.mailbox:
                    attendee["status"] = {"response": response, "time": stamp}
            if realism.response_changes_organizer_item == "changes":
                organizer_event.data["lastModifiedDateTime"] = stamp
                organizer_event.data["changeKey"] = new_change_key()
            self._store.save_event(organizer_event)
        return True

    def _cancel(self, row: EventRow, comment: str | None) -> None:
        row.cancelled = True
        row.data["isCancelled"] = True
        row.data["lastModifiedDateTime"] = graph_timestamp(self._clock.now())
        row.data["changeKey"] = new_change_key()
        self._store.save_event(row)
        self._send(CANCELLATION, row, attendee_addresses(row.data), comment)

    def _send(self, kind: str, row: EventRow, recipients: list[str], comment: str | None = None) -> None:
        """Deliver one kind of message for the organizer's meeting and bring the copies in line."""
        recipients = [r for r in recipients if r != row.organizer]
        delivered = self._postmaster.send(kind, row.organizer, recipients, _summary(row), comment)
        copies = {c.mailbox: c for c in self._store.copies_of(row.id)}
        for recipient in delivered:
            existing = copies.get(recipient)
            if kind == CANCELLATION:
                if existing is not None:
                    self._store.delete_event(existing.id)
            else:
                self._store.save_event(self._copy_for(recipient, row, existing), {})

    def _copy_for(self, recipient: str, row: EventRow, existing: EventRow | None) -> EventRow:
        now = graph_timestamp(self._clock.now())
        data = json.loads(json.dumps(row.data))  # a deep copy; faster than copy.deepcopy for JSON
        copy_id = existing.id if existing is not None else new_event_id()
        data.update({
            "id": copy_id, "isOrganizer": False, "transactionId": None, "singleValueExtendedProperties": [],
            "responseStatus": {"response": "notResponded" if data["responseRequested"] else "none", "time": NEVER},
            "createdDateTime": existing.data["createdDateTime"] if existing is not None else now,
            "lastModifiedDateTime": now, "changeKey": new_change_key(),
            "webLink": web_link(copy_id),
        })
        return EventRow(id=copy_id, mailbox=recipient, organizer=row.organizer, ical_uid=row.ical_uid,
                        start_utc=row.start_utc, end_utc=row.end_utc, data=data, organizer_event_id=row.id)


def _summary(row: EventRow) -> dict[str, Any]:
    """What a meeting message says about the meeting, as the recipient sees it at delivery."""
    data = row.data
    return {"eventId": row.id, "iCalUId": row.ical_uid, "meetingSubject": data.get("subject"),
            "startUtc": row.start_utc, "endUtc": row.end_utc, "start": data.get("start"), "end": data.get("end"),
            "location": {"displayName": data.get("location", {}).get("displayName", "")},
            "body": {"contentType": data["body"]["contentType"], "content": data["body"]["content"]}}

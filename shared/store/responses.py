"""Attendees' answers to invitations, in a table of their own.

Responses are never written into the mapping rows the sync updates under ETags: the
collector writes here while a run may be rewriting the mapping, and neither waits for the
other.

One row per invitation (offering, session, person), holding that person's latest answer.
Rows are partitioned by offering and keyed `<session>|<person>` (both percent-encoded, so the
`|` never occurs inside a part): "everything for an offering" is one partition and "one
session of an offering" is a key range inside it, the two questions the console and the
learning system ask most. A small history of the person's earlier answers stays on the row
for the console's "response counts over time".

Response data is personal. A row is kept while its invitation is live and for `keep_days`
after that (LEARNCAL_RESPONSE_KEEP_DAYS). The store learns that an invitation ended from the
mapping (the Invitations table, which the sync keeps): the session's end time once it has
passed, or the moment `prune` first finds the invitation cancelled or gone. That moment is
written onto the row (`EndedAt`), so the countdown does not restart.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.store.tables import Tables, key_part

Response = Literal["none", "accepted", "tentativelyAccepted", "declined"]
RESPONSES: tuple[str, ...] = ("none", "accepted", "tentativelyAccepted", "declined")
# Graph's responseStatus.response values that mean "no answer yet"
# (https://learn.microsoft.com/en-us/graph/api/resources/responsestatus)
_NO_ANSWER = frozenset({"none", "notresponded"})
_SEPARATOR = "|"  # never inside key_part's output: it is percent-encoded there
_HISTORY = 20  # earlier answers kept per row for the counts over time
_MAX_LIMIT = 1000
_PRELOAD = 5  # answers of one offering in one call from which its partition is read in one query
_UNREAD = object()  # no row read yet
_MAX_POINTS = 500  # points of the counts over time, enough for a chart


class BadQuery(ValueError):
    """A query the store cannot answer; `field` names the filter to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normal_response(value: str) -> str:
    """The product's response vocabulary from Graph's (notResponded and none both mean "none")."""
    text = (value or "").strip()
    if text.lower() in _NO_ANSWER:
        return "none"
    if text.lower() == "tentative":  # the word people use (and Outlook shows) for tentativelyAccepted
        return "tentativelyAccepted"
    for known in RESPONSES:
        if text.lower() == known.lower():
            return known
    raise ValueError(f"{value!r} is not a response; use one of {', '.join(RESPONSES)}.")


@dataclass(frozen=True)
class ResponseRecord:
    """One person's latest answer to one invitation."""

    offering_id: str
    activity_id: str
    email: str
    role: str
    response: str
    responded_at: datetime | None
    organizer: str
    event_id: str
    recorded_at: datetime

    def item(self) -> dict[str, Any]:
        """The record as the admin API, the CLI and the webhook show it."""
        return {
            "offeringId": self.offering_id,
            "activityId": self.activity_id,
            "email": self.email,
            "role": self.role,
            "response": self.response,
            "respondedAt": iso(self.responded_at),
        }


@dataclass(frozen=True)
class ResponsePage:
    items: list[ResponseRecord]
    next: str | None


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_key(activity_id: str, email: str) -> str:
    return f"{key_part(activity_id)}{_SEPARATOR}{key_part(email)}"


def _from_entity(entity: Any) -> ResponseRecord:
    return ResponseRecord(
        offering_id=str(entity["OfferingId"]),
        activity_id=str(entity["ActivityId"]),
        email=str(entity["Email"]),
        role=str(entity.get("Role") or ""),
        response=str(entity.get("Response") or "none"),
        responded_at=_utc(entity.get("RespondedAt")),
        organizer=str(entity.get("Organizer") or ""),
        event_id=str(entity.get("EventId") or ""),
        recorded_at=_utc(entity.get("RecordedAt")) or datetime.fromtimestamp(0, UTC),
    )


def _history(entity: Any) -> list[tuple[str, str | None]]:
    """The earlier answers kept on a row: [answer, time] pairs, oldest first (unreadable ones skipped)."""
    try:
        value = json.loads(entity.get("History") or "[]")
    except ValueError:
        return []
    kept: list[tuple[str, str | None]] = []
    for pair in value if isinstance(value, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and pair[0] in RESPONSES:
            kept.append((pair[0], pair[1] if isinstance(pair[1], str) else None))
    return kept


def _newer(incoming: ResponseRecord, stored: ResponseRecord) -> bool:
    """Whether `incoming` replaces `stored`: a later answer, or the same moment seen differently.

    An answer without a time (none yet) is older than any answer with one, so a stale read
    never turns a recorded answer back into "none". An answer to another meeting (the person
    was invited anew after a cancellation: a new event) replaces the old meeting's answer
    whatever its time: the old answer was about a meeting that no longer exists.
    """
    if incoming.event_id and stored.event_id and incoming.event_id != stored.event_id:
        return True
    floor = datetime.min.replace(tzinfo=UTC)
    new_at, old_at = incoming.responded_at or floor, stored.responded_at or floor
    if new_at != old_at:
        return new_at > old_at
    return (incoming.response, incoming.role, incoming.organizer, incoming.event_id) != (
        stored.response, stored.role, stored.organizer, stored.event_id)


def _encode_after(partition: str, row: str) -> str:
    raw = json.dumps([partition, row], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_after(token: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise BadQuery("after", "after is not a token this service gave out; pass the `next` value of the "
                                "previous page unchanged, or leave it out to start at the first page.")
    return value[0], value[1]


class ResponseStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._table = tables["responses"]

    # -- writing ---------------------------------------------------------------------------

    def record(self, records: Iterable[ResponseRecord]) -> list[ResponseRecord]:
        """Store the answers that are newer than what is kept; return exactly those.

        Several collectors (a notification and the delta query) may report the same answer at
        once: each row is written with the ETag it was read with and read again on a conflict,
        so the latest answer wins whatever the order.
        """
        normal = [self._normal(record) for record in records]
        counts = Counter(key_part(record.offering_id) for record in normal)
        # many answers of one offering (a first full read): one query of its partition instead of a read each
        preloaded = {partition for partition, count in counts.items() if count >= _PRELOAD}
        known: dict[tuple[str, str], Any] = {}
        for partition in preloaded:
            for entity in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": partition}):
                known[(partition, str(entity["RowKey"]))] = entity
        changed: list[ResponseRecord] = []
        for record in normal:
            partition, row = key_part(record.offering_id), _row_key(record.activity_id, record.email)
            if self._store(record, known.get((partition, row)) if partition in preloaded else _UNREAD):
                changed.append(record)
        return changed

    def _normal(self, record: ResponseRecord) -> ResponseRecord:
        return replace(record, email=record.email.strip().lower(), response=normal_response(record.response),
                       responded_at=_utc(record.responded_at),
                       recorded_at=_utc(record.recorded_at) or datetime.now(UTC))

    def _store(self, record: ResponseRecord, preloaded: Any = _UNREAD) -> bool:
        """Write one answer if it is newer; `preloaded`: the row as a partition query read it (None: no row)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        partition, row = key_part(record.offering_id), _row_key(record.activity_id, record.email)
        for attempt in range(10):
            if attempt == 0 and preloaded is not _UNREAD:
                entity = preloaded
            else:
                try:
                    entity = self._table.get_entity(partition, row)
                except ResourceNotFoundError:
                    entity = None
            history: list[tuple[str, str | None]] = []
            if entity is not None:
                stored = _from_entity(entity)
                if not _newer(record, stored):
                    return False
                history = _history(entity)
                if stored.response != record.response:
                    history = [*history, (stored.response, iso(stored.responded_at))][-_HISTORY:]
            fields = self._entity(record, history)
            fields.update({"PartitionKey": partition, "RowKey": row})
            if entity is not None and entity.get("EndedAt") is not None:
                fields["EndedAt"] = entity["EndedAt"]  # the retention countdown already running
            try:
                if entity is None:
                    self._table.create_entity(fields)
                else:
                    self._table.update_entity(fields, mode=UpdateMode.REPLACE, etag=entity.metadata["etag"],
                                              match_condition=MatchConditions.IfNotModified)
                return True
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                continue
        return False

    @staticmethod
    def _entity(record: ResponseRecord, history: list[tuple[str, str | None]]) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "OfferingId": record.offering_id, "ActivityId": record.activity_id, "Email": record.email,
            "Role": record.role, "Response": record.response, "Organizer": record.organizer,
            "EventId": record.event_id, "RecordedAt": record.recorded_at,
            "History": json.dumps(history, separators=(",", ":")),
        }
        if record.responded_at is not None:
            entity["RespondedAt"] = record.responded_at
        return entity

    # -- reading ---------------------------------------------------------------------------

    def query(self, offering_id: str | None = None, activity_id: str | None = None, email: str | None = None,
              response: str | None = None, changed_since: datetime | None = None, limit: int = 100,
              after: str | None = None) -> ResponsePage:
        """One page of answers, in offering, session, person order; `next` continues after it.

        `changed_since` selects what this service recorded at or after that moment (an answer
        may reach it later than it was given), so a caller polling with the time of its last
        poll misses nothing.
        """
        if not 1 <= limit <= _MAX_LIMIT:
            raise BadQuery("limit", f"limit must be between 1 and {_MAX_LIMIT}; it is {limit}.")
        clauses, parameters = self._filter(offering_id, activity_id, email, response, changed_since)
        if after:
            last_partition, last_row = _decode_after(after)
            # the SDK substitutes @names between spaces only: keep them apart from the parentheses
            clauses.append("( PartitionKey gt @after_pk or ( PartitionKey eq @after_pk and RowKey gt @after_rk ) )")
            parameters.update(after_pk=last_partition, after_rk=last_row)
        entities = self._entities(clauses, parameters, page=min(limit + 1, _MAX_LIMIT))
        items: list[ResponseRecord] = []
        last: tuple[str, str] | None = None
        for entity in entities:
            if len(items) == limit:
                assert last is not None
                return ResponsePage(items, _encode_after(*last))
            items.append(_from_entity(entity))
            last = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        return ResponsePage(items, None)

    def _filter(self, offering_id: str | None, activity_id: str | None, email: str | None, response: str | None,
                changed_since: datetime | None) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = []
        parameters: dict[str, Any] = {}
        if offering_id is not None:
            clauses.append("PartitionKey eq @pk")
            parameters["pk"] = key_part(offering_id)
            if activity_id is not None:  # a key range inside the offering's partition
                prefix = key_part(activity_id) + _SEPARATOR
                clauses.append("RowKey ge @rk_from and RowKey lt @rk_to")
                parameters.update(rk_from=prefix, rk_to=prefix[:-1] + chr(ord(_SEPARATOR) + 1))
        elif activity_id is not None:
            clauses.append("ActivityId eq @activity")
            parameters["activity"] = activity_id
        if email is not None:
            clauses.append("Email eq @email")
            parameters["email"] = email.strip().lower()
        if response is not None:
            try:
                parameters["response"] = normal_response(response)
            except ValueError as error:
                raise BadQuery("response", str(error)) from None
            clauses.append("Response eq @response")
        if changed_since is not None:
            clauses.append("RecordedAt ge @since")
            parameters["since"] = _utc(changed_since)
        return clauses, parameters

    def _entities(self, clauses: list[str], parameters: dict[str, Any], page: int = _MAX_LIMIT) -> Iterable[Any]:
        if not clauses:
            return self._table.list_entities(results_per_page=page)
        return self._table.query_entities(" and ".join(clauses), parameters=parameters, results_per_page=page)

    def counts_over_time(self, offering_id: str, activity_id: str | None = None,
                         points: int = _MAX_POINTS) -> list[dict[str, Any]]:
        """How many people had each answer, after each answer given, oldest first (at most `points`).

        Built from each row's latest answer and the earlier ones it keeps; everyone counts
        as "none" until their first dated answer. A long history keeps evenly spaced points
        and always the last one.
        """
        clauses, parameters = self._filter(offering_id, activity_id, None, None, None)
        events: list[tuple[str, int, str]] = []  # (time, person, answer from then on)
        people = 0
        for person, entity in enumerate(self._entities(clauses, parameters)):
            people += 1
            record = _from_entity(entity)
            for answer, at in [*_history(entity), (record.response, iso(record.responded_at))]:
                if at is not None:
                    events.append((at, person, answer))
        events.sort()
        current: dict[int, str] = {}
        counts = {name: 0 for name in RESPONSES}
        counts["none"] = people
        series: list[dict[str, Any]] = []
        for at, person, answer in events:
            counts[current.get(person, "none")] -= 1
            counts[answer] += 1
            current[person] = answer
            if series and series[-1]["at"] == at:
                series.pop()
            series.append({"at": at, **counts})
        if len(series) > points:
            step = len(series) / points
            series = [series[int(n * step)] for n in range(points - 1)] + [series[-1]]
        return series

    # -- retention ---------------------------------------------------------------------------

    def prune(self, now: datetime, keep_days: int) -> int:
        """Remove answers to invitations that ended more than `keep_days` ago; the number removed.

        An invitation ends when its session has ended or when the sync cancelled it (or its
        mapping row is gone); see the module's docstring.
        """
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        now = _utc(now) or datetime.now(UTC)
        keep = timedelta(days=keep_days)
        invitations = self._tables["invitations"]
        removed = 0
        mapping: dict[str, dict[str, Any]] = {}
        loaded: set[str] = set()
        for entity in self._table.list_entities():
            partition = str(entity["PartitionKey"])
            if partition not in loaded:  # one query of the mapping per offering
                mapping.clear()
                loaded = {partition}
                for row in invitations.query_entities("PartitionKey eq @pk", parameters={"pk": partition},
                                                      select=["RowKey", "State", "EndUtc"]):
                    mapping[str(row["RowKey"]).replace("!", _SEPARATOR, 1)] = row
            ended = _utc(entity.get("EndedAt")) or self._ended(mapping.get(str(entity["RowKey"])), now)
            if ended is None:
                continue
            if ended + keep <= now:
                try:
                    self._table.delete_entity(partition, entity["RowKey"])
                    removed += 1
                except ResourceNotFoundError:
                    pass
            elif entity.get("EndedAt") is None:
                self._table.update_entity({"PartitionKey": partition, "RowKey": entity["RowKey"], "EndedAt": ended},
                                          mode=UpdateMode.MERGE)
        return removed

    @staticmethod
    def _ended(invitation: Any, now: datetime) -> datetime | None:
        """When the invitation stopped being live, or None while it is."""
        if invitation is None or invitation.get("State") in ("cancelling", "cancelled"):
            return now
        end = _utc(invitation.get("EndUtc"))
        return end if end is not None and end <= now else None

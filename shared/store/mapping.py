"""The mapping: one row per invitation, saying which event was sent, by whom, with what content.

Rows are partitioned by offering, so a run reads only the offerings whose feed content changed.
Writes use ETags: two writers can never silently overwrite each other's record of a send.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.store.tables import Tables, key_part


class ConcurrentChange(Exception):
    """The row changed since it was read: another writer got there first."""


class MappingStore(Protocol):
    def load(self, offering_ids: Iterable[str]) -> dict[InvitationKey, SentRecord]: ...

    def load_all(self) -> dict[InvitationKey, SentRecord]: ...

    def is_empty(self) -> bool: ...

    def put(self, record: SentRecord) -> SentRecord: ...

    def upsert(self, record: SentRecord) -> SentRecord: ...


def _row_key(key: InvitationKey) -> str:
    return f"{key_part(key.activity_id)}!{key_part(key.email)}"


def to_entity(record: SentRecord) -> dict[str, Any]:
    key = record.key
    entity: dict[str, Any] = {
        "PartitionKey": key_part(key.offering_id),
        "RowKey": _row_key(key),
        "OfferingId": key.offering_id,
        "ActivityId": key.activity_id,
        "Email": key.email,
        "Organizer": record.organizer,
        "Role": record.role,
        "State": record.state,
        "KeyFp": record.key_fp,
        "Hashes": json.dumps(record.hashes, sort_keys=True),
        "Generation": record.generation,
    }
    for name, value in (
        ("StartUtc", record.start_utc), ("EndUtc", record.end_utc),
        ("EventId", record.event_id), ("Comment", record.comment),
    ):
        if value is not None:
            entity[name] = value
    return entity


def from_entity(entity: Any) -> SentRecord:
    etag = entity.metadata.get("etag") if hasattr(entity, "metadata") else None
    return SentRecord(
        key=InvitationKey(entity["OfferingId"], entity["ActivityId"], entity["Email"]),
        organizer=entity["Organizer"],
        role=entity["Role"],
        state=entity["State"],
        key_fp=entity["KeyFp"],
        hashes=json.loads(entity.get("Hashes") or "{}"),
        start_utc=entity.get("StartUtc"),
        end_utc=entity.get("EndUtc"),
        event_id=entity.get("EventId"),
        generation=int(entity.get("Generation") or 0),
        comment=entity.get("Comment"),
        etag=etag,
    )


class TableMappingStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["invitations"]

    def load(self, offering_ids: Iterable[str]) -> dict[InvitationKey, SentRecord]:
        records: dict[InvitationKey, SentRecord] = {}
        for offering_id in offering_ids:
            query = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": key_part(offering_id)})
            for entity in query:
                record = from_entity(entity)
                records[record.key] = record
        return records

    def load_all(self) -> dict[InvitationKey, SentRecord]:
        return {record.key: record for record in map(from_entity, self._table.list_entities())}

    def is_empty(self) -> bool:
        """No row at all (a new or replaced table): one request for at most one key."""
        rows = self._table.list_entities(results_per_page=1, select=["PartitionKey"])
        return next(iter(rows), None) is None

    def put(self, record: SentRecord) -> SentRecord:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
        from azure.data.tables import UpdateMode

        entity = to_entity(record)
        try:
            if record.etag is None:
                meta = self._table.create_entity(entity)
            else:
                meta = self._table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=record.etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError) as error:
            raise ConcurrentChange(f"The mapping row for {record.key.tag()} was changed by another run.") from error
        return record.but(etag=meta.get("etag"))

    def upsert(self, record: SentRecord) -> SentRecord:
        from azure.data.tables import UpdateMode

        meta = self._table.upsert_entity(to_entity(record), mode=UpdateMode.REPLACE)
        return record.but(etag=meta.get("etag"))

"""What response collection keeps per organizer, in the "subscriptions" table.

Two rows per organizer mailbox: its change-notification subscription (id, expiry and the
clientState secret Graph echoes in every notification) and its delta state (the calendar
view's window and the last `@odata.deltaLink`). The clientState is stored here, never logged,
and compared in constant time (shared/responses/model.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.store.tables import Tables, key_part

SUBSCRIPTION = "subscription"
DELTA = "delta"
NOTIFIED = "notified"


@dataclass(frozen=True)
class SubscriptionRow:
    organizer: str
    subscription_id: str
    client_state: str = field(repr=False)
    expires: datetime
    created_at: datetime
    renewed_at: datetime | None = None

    def but(self, **changes: Any) -> SubscriptionRow:
        return replace(self, **changes)


@dataclass(frozen=True)
class DeltaRow:
    organizer: str
    window_start: datetime
    window_end: datetime
    link: str | None = None  # the last @odata.deltaLink; None: the round has not finished its full read
    read_at: datetime | None = None  # when the last read started (a notification older than this is covered)
    full_read_at: datetime | None = None  # when this window's first full read ended


class CollectionState:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["subscriptions"]

    # -- subscriptions ------------------------------------------------------------------------

    def subscriptions(self) -> list[SubscriptionRow]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": SUBSCRIPTION})
        return [_subscription(e) for e in rows]

    def subscription(self, organizer: str) -> SubscriptionRow | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _subscription(self._table.get_entity(SUBSCRIPTION, key_part(organizer.lower())))
        except ResourceNotFoundError:
            return None

    def put_subscription(self, row: SubscriptionRow) -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": SUBSCRIPTION, "RowKey": key_part(row.organizer.lower()), "Organizer": row.organizer.lower(),
            "SubscriptionId": row.subscription_id, "ClientState": row.client_state, "ExpiresAt": row.expires,
            "CreatedAt": row.created_at,
        }
        if row.renewed_at is not None:
            entity["RenewedAt"] = row.renewed_at
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def drop_subscription(self, organizer: str) -> None:
        self._table.delete_entity(SUBSCRIPTION, key_part(organizer.lower()))

    # -- delta ----------------------------------------------------------------------------------

    def delta(self, organizer: str) -> DeltaRow | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(DELTA, key_part(organizer.lower()))
        except ResourceNotFoundError:
            return None
        return DeltaRow(entity["Organizer"], entity["WindowStart"], entity["WindowEnd"],
                        entity.get("DeltaLink") or None, entity.get("ReadAt"), entity.get("FullReadAt"))

    def deltas(self) -> list[DeltaRow]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": DELTA})
        return [DeltaRow(e["Organizer"], e["WindowStart"], e["WindowEnd"], e.get("DeltaLink") or None,
                         e.get("ReadAt"), e.get("FullReadAt")) for e in rows]

    def put_delta(self, row: DeltaRow) -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": DELTA, "RowKey": key_part(row.organizer.lower()), "Organizer": row.organizer.lower(),
            "WindowStart": row.window_start, "WindowEnd": row.window_end, "DeltaLink": row.link or "",
        }
        if row.read_at is not None:
            entity["ReadAt"] = row.read_at
        if row.full_read_at is not None:
            entity["FullReadAt"] = row.full_read_at
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def drop_delta(self, organizer: str) -> None:
        self._table.delete_entity(DELTA, key_part(organizer.lower()))

    # -- the latest notification per organizer (lets a burst of them be read once) --------------

    def notified(self, organizer: str, at: datetime) -> None:
        from azure.data.tables import UpdateMode

        self._table.upsert_entity({"PartitionKey": NOTIFIED, "RowKey": key_part(organizer.lower()), "At": at},
                                  mode=UpdateMode.REPLACE)

    def last_notified(self, organizer: str) -> datetime | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            value = self._table.get_entity(NOTIFIED, key_part(organizer.lower())).get("At")
        except ResourceNotFoundError:
            return None
        return value if isinstance(value, datetime) else None


def _subscription(entity: Any) -> SubscriptionRow:
    return SubscriptionRow(entity["Organizer"], entity["SubscriptionId"], entity["ClientState"], entity["ExpiresAt"],
                           entity["CreatedAt"], entity.get("RenewedAt"))

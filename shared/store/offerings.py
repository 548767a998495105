"""Per-offering state: the digest of its last applied feed content, reconcile marks, live counts.

The digest lets a run skip every offering whose feed content (and the settings that shape
invitations) did not change since it was last fully applied, so a run with no changes costs
time in proportion to what changed, not to the size of the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from shared.errors import UnknownOffering
from shared.store.tables import Tables, key_part

PARTITION = "offering"


@dataclass(frozen=True)
class OfferingState:
    offering_id: str
    title: str = ""
    digest: str | None = None
    settled: bool = False  # every action of its last run was applied (nothing deferred or failed)
    live: int = 0  # live invitations after its last run
    reconcile_requested_at: datetime | None = None
    last_seen: datetime | None = None

    def but(self, **changes: Any) -> OfferingState:
        return replace(self, **changes)


class OfferingStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["offerings"]

    def all(self) -> dict[str, OfferingState]:
        query = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
        states = (self._from_entity(e) for e in query)
        return {s.offering_id: s for s in states}

    def get(self, offering_id: str) -> OfferingState | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._from_entity(self._table.get_entity(PARTITION, key_part(offering_id)))
        except ResourceNotFoundError:
            return None

    def save(self, state: OfferingState) -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": PARTITION,
            "RowKey": key_part(state.offering_id),
            "OfferingId": state.offering_id,
            "Title": state.title,
            "Settled": state.settled,
            "Live": state.live,
        }
        for name, value in (
            ("Digest", state.digest),
            ("ReconcileRequestedAt", state.reconcile_requested_at),
            ("LastSeen", state.last_seen),
        ):
            if value is not None:
                entity[name] = value
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def request_reconcile(self, offering_id: str, *, now: datetime | None = None) -> OfferingState:
        """Mark an offering so the next run pushes every difference; only offerings seen in a feed."""
        state = self.get(offering_id)
        if state is None:
            raise UnknownOffering(
                f"Offering {offering_id!r} is not known: no feed applied so far contained it. "
                "Check the offering id, or run a sync with a feed that contains it first."
            )
        state = state.but(reconcile_requested_at=now or datetime.now(UTC))
        self.save(state)
        return state

    @staticmethod
    def _from_entity(entity: Any) -> OfferingState:
        return OfferingState(
            offering_id=entity["OfferingId"],
            title=entity.get("Title") or "",
            digest=entity.get("Digest"),
            settled=bool(entity.get("Settled")),
            live=int(entity.get("Live") or 0),
            reconcile_requested_at=entity.get("ReconcileRequestedAt"),
            last_seen=entity.get("LastSeen"),
        )

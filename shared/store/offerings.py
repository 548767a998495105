"""Per-offering state: the digest of its last applied feed content, reconcile marks, live counts.

The digest lets a run skip every offering whose feed content (and the settings that shape
invitations) did not change since it was last fully applied, so a run with no changes costs
time in proportion to what changed, not to the size of the catalog.

A reconcile can be asked for while a run is going (the API answers 202 at once). The run's
end therefore never replaces the row blindly: it writes with the ETag of the row it just
read and, when the row changed in between, reads it again. A mark is cleared only when it
is the very mark the run applied; a mark recorded meanwhile stays for the next run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from shared.errors import LearncalError, UnknownOffering
from shared.store.tables import Tables, key_part

PARTITION = "offering"
_SETTLE_ATTEMPTS = 5
_BATCH = 100


class ConcurrentOfferingChange(LearncalError):
    """The offering row changed on every attempt to record a run's result."""


def _same_time(a: datetime, b: datetime) -> bool:
    """Table Storage keeps microseconds as whole ticks; compare the instants, not the objects."""
    return abs((a.astimezone(UTC) - b.astimezone(UTC)).total_seconds()) < 1e-3


@dataclass(frozen=True)
class OfferingState:
    offering_id: str
    title: str = ""
    digest: str | None = None
    settled: bool = False  # every action of its last run was applied (nothing deferred or failed)
    live: int = 0  # live invitations after its last run
    reconcile_requested_at: datetime | None = None
    last_seen: datetime | None = None
    # The plan whose work rows are queued for this offering: a row of any other plan is not sent.
    plan_id: str | None = None
    # The reconcile mark that plan applied, cleared once its work is done (None: none applied).
    plan_reconcile: datetime | None = None
    # Queued work of this offering was dropped, or sent while a newer plan was being made: it is
    # not settled until a new plan has looked at it again.
    redecide: bool = False
    organizer: str | None = None  # the mailbox its new invitations come from (shared/planning/pinning.py)

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
        """Write the whole row unconditionally (tests and rebuilds; a run's end uses `settle`)."""
        from azure.data.tables import UpdateMode

        self._table.upsert_entity(self._to_entity(state), mode=UpdateMode.REPLACE)

    def settle(self, state: OfferingState, *, applied: datetime | None) -> OfferingState:
        """Record a run's result for one offering without losing a reconcile asked for meanwhile.

        `applied` is the mark the run started from and applied (None when it applied none, or
        did not finish). The row's current mark is kept unless it is exactly that one.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        key = key_part(state.offering_id)
        for _attempt in range(_SETTLE_ATTEMPTS):
            try:
                current = self._table.get_entity(PARTITION, key)
            except ResourceNotFoundError:
                current = None
            mark = current.get("ReconcileRequestedAt") if current is not None else None
            if mark is not None and applied is not None and _same_time(mark, applied):
                mark = None  # the run applied exactly this mark
            result = state.but(reconcile_requested_at=mark)
            if result.organizer is None and current is not None and current.get("Organizer"):
                result = result.but(organizer=current["Organizer"])  # a pin is only ever replaced, never lost
            entity = self._to_entity(result)
            try:
                if current is None:
                    self._table.create_entity(entity)
                else:
                    self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                              match_condition=MatchConditions.IfNotModified)
                return result
            except (ResourceModifiedError, ResourceExistsError):
                continue  # somebody wrote the row since we read it (a reconcile request): read it again
        raise ConcurrentOfferingChange(
            f"The state of offering {state.offering_id!r} kept changing while this run recorded its result; "
            "the next run looks at it again."
        )

    def settle_plan(self, offering_id: str, plan_id: str, *, live: int | None = None) -> OfferingState | None:
        """The last work row of an offering's plan is done: the offering is settled, as a run that
        sent everything at once would have left it (and the reconcile mark that plan applied is
        cleared, a mark asked for since stays). None when a newer plan took over meanwhile.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        key = key_part(offering_id)
        for _attempt in range(_SETTLE_ATTEMPTS):
            try:
                current = self._table.get_entity(PARTITION, key)
            except ResourceNotFoundError:
                return None
            state = self._from_entity(current)
            if state.plan_id != plan_id or state.redecide:
                return None
            mark = state.reconcile_requested_at
            if mark is not None and state.plan_reconcile is not None and _same_time(mark, state.plan_reconcile):
                mark = None
            result = state.but(settled=True, reconcile_requested_at=mark, plan_reconcile=None,
                               live=state.live if live is None else live)
            try:
                self._table.update_entity(self._to_entity(result), mode=UpdateMode.REPLACE,
                                          etag=current.metadata["etag"], match_condition=MatchConditions.IfNotModified)
                return result
            except ResourceModifiedError:
                continue
        raise ConcurrentOfferingChange(
            f"The state of offering {offering_id!r} kept changing while its sent work was recorded; "
            "the next run looks at it again."
        )

    def redecide(self, offering_id: str) -> None:
        """Queued work of this offering was dropped: it is not settled until a new plan decides it again."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        with contextlib.suppress(ResourceNotFoundError):
            self._table.update_entity({"PartitionKey": PARTITION, "RowKey": key_part(offering_id), "Settled": False,
                                       "Redecide": True}, mode=UpdateMode.MERGE)

    def _to_entity(self, state: OfferingState) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": PARTITION,
            "RowKey": key_part(state.offering_id),
            "OfferingId": state.offering_id,
            "Title": state.title,
            "Settled": state.settled,
            "Live": state.live,
            "Redecide": state.redecide,
        }
        for name, value in (
            ("Digest", state.digest),
            ("ReconcileRequestedAt", state.reconcile_requested_at),
            ("LastSeen", state.last_seen),
            ("PlanId", state.plan_id),
            ("PlanReconcile", state.plan_reconcile),
            ("Organizer", state.organizer),
        ):
            if value is not None:
                entity[name] = value
        return entity

    def pin(self, pins: Mapping[str, str]) -> None:
        """Record offerings' organizers before their invitations are sent, touching no other column.

        Merged, not replaced, so a reconcile mark written meanwhile stays; a run's `settle` reads
        the row again and keeps the pin. New rows hold only the pin until the run settles them.
        """
        from azure.data.tables import UpdateMode

        operations = [
            ("upsert", {"PartitionKey": PARTITION, "RowKey": key_part(offering_id), "OfferingId": offering_id,
                        "Organizer": organizer}, {"mode": UpdateMode.MERGE})
            for offering_id, organizer in sorted(pins.items())
        ]
        for start in range(0, len(operations), _BATCH):  # one partition: up to 100 per transaction
            self._table.submit_transaction(operations[start:start + _BATCH])

    def request_reconcile(self, offering_id: str, *, now: datetime | None = None) -> OfferingState:
        """Mark an offering so the next run pushes every difference; only offerings seen in a feed.

        Only the mark is merged into the row, so a run recording its result at the same moment
        loses nothing, and the run's conditional write notices the mark and keeps it.
        """
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        state = self.get(offering_id)
        if state is None:
            raise UnknownOffering(
                f"Offering {offering_id!r} is not known: no feed applied so far contained it. "
                "Check the offering id, or run a sync with a feed that contains it first."
            )
        state = state.but(reconcile_requested_at=now or datetime.now(UTC))
        mark = {"PartitionKey": PARTITION, "RowKey": key_part(offering_id),
                "ReconcileRequestedAt": state.reconcile_requested_at}
        try:
            self._table.update_entity(mark, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:
            raise UnknownOffering(f"Offering {offering_id!r} is not known any more; run a sync first.") from None
        return state

    def request_reconcile_many(self, offering_ids: list[str] | tuple[str, ...], *,
                               now: datetime | None = None) -> datetime:
        """Mark many offerings at once (a roll-out), a hundred per transaction; only offerings seen in a feed.

        Each mark is merged into an existing row (`update`, never `upsert`), so no row is made
        for an offering no run has recorded; a transaction that meets one falls back to one by one.
        """
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import TableTransactionError, UpdateMode

        at = now or datetime.now(UTC)
        rows = [{"PartitionKey": PARTITION, "RowKey": key_part(offering_id), "ReconcileRequestedAt": at}
                for offering_id in dict.fromkeys(offering_ids)]
        for start in range(0, len(rows), _BATCH):
            part = rows[start:start + _BATCH]
            try:
                self._table.submit_transaction([("update", row, {"mode": UpdateMode.MERGE}) for row in part])
            except TableTransactionError:
                for row in part:
                    with contextlib.suppress(ResourceNotFoundError):
                        self._table.update_entity(row, mode=UpdateMode.MERGE)
        return at

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
            plan_id=entity.get("PlanId"),
            plan_reconcile=entity.get("PlanReconcile"),
            redecide=bool(entity.get("Redecide")),
            organizer=entity.get("Organizer") or None,
        )

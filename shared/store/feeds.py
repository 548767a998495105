"""The history of feeds received in the drop: what came, when, its hash, and what became of it.

One row per blob (its container and name), updated as the feed moves on: `received` when the
blob trigger (or an upload) saw it, `used` by the run that read it, `skipped` when a run passed
over it as unreadable or incomplete, `rejected` when an upload was refused before it was
stored. A deleted feed keeps its row with `deletedAt`, so a run can still be explained after
the retention period removed the content.

Each row is kept twice in the `feeds` table: under its name (partition `feed`, for `get` and
for updates) and under its arrival time, newest first (partition `recent`, row key
"<inverted time>!<name>"), so `recent(limit)` reads `limit` rows, however long the history.
`prune` removes rows nothing has touched for LEARNCAL_FEED_KEEP_DAYS (a feed in force is
recorded again by every run that reads it; a deleted one is touched by its deletion), reading
only the time-ordered rows older than that. Rows written before the time-ordered copy existed
are copied once, on first use (a marker row in partition `meta` records that it was done).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.store.tables import Tables, key_part

PARTITION = "feed"
RECENT = "recent"  # the same rows, newest first
META = "meta"
_INDEXED = "recent-index"  # marker: every row of PARTITION has its copy in RECENT
FeedStatus = Literal["received", "used", "skipped", "rejected"]
_MAX_REASON = 4000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT = 10**19  # microseconds since 1970 stay below this until the year 318,857


def order_key(when: datetime, key: str) -> str:
    """Sorts newest first: the time as microseconds since 1970, subtracted from a constant, zero-padded."""
    micros = int((when.astimezone(UTC) - _EPOCH) / timedelta(microseconds=1))
    return f"{_INVERT - micros:020d}!{key}"


class FeedStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["feeds"]
        self._indexed = False

    def record(
        self, *, container: str, name: str, status: FeedStatus, size: int | None = None,
        last_modified: datetime | None = None, sha256: str | None = None, format: str | None = None,
        reason: str | None = None, run_id: str | None = None, by: str | None = None, now: datetime | None = None,
    ) -> None:
        """Add or update the feed's row; fields left out keep what an earlier record said."""
        key = key_part(f"{container}/{name}")
        entity: dict[str, Any] = {
            "PartitionKey": PARTITION, "RowKey": key, "Container": container,
            "Name": name, "Status": status, "UpdatedAt": now or datetime.now(UTC),
            "Reason": (reason or "")[:_MAX_REASON],
        }
        for field, value in (("Size", size), ("LastModified", last_modified), ("Sha256", sha256),
                             ("Format", format), ("RunId", run_id), ("By", by)):
            if value is not None:
                entity[field] = value
        self._write(key, entity)

    def deleted(self, *, container: str, name: str, now: datetime | None = None) -> None:
        key = key_part(f"{container}/{name}")
        self._write(key, {"PartitionKey": PARTITION, "RowKey": key, "Container": container, "Name": name,
                          "DeletedAt": now or datetime.now(UTC)})

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first (by the blob's time when it was first recorded, else by when it was recorded)."""
        self._index_old_rows()
        rows: list[dict[str, Any]] = []
        for entity in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": RECENT},
                                                 results_per_page=limit):
            rows.append(_to_json(entity))
            if len(rows) >= limit:
                break
        return rows

    def get(self, container: str, name: str) -> dict[str, Any] | None:
        entity = self._row(key_part(f"{container}/{name}"))
        return _to_json(entity) if entity is not None else None

    def prune(self, *, now: datetime, keep_days: int) -> int:
        """Remove the rows nothing has touched for `keep_days` (LEARNCAL_FEED_KEEP_DAYS); returns how many.

        Only rows that arrived before the cut-off can qualify, and only those are read: the
        time-ordered copies past the cut-off's key.
        """
        self._index_old_rows()
        cutoff = now - timedelta(days=keep_days)
        query = self._table.query_entities("PartitionKey eq @pk and RowKey gt @after",
                                           parameters={"pk": RECENT, "after": order_key(cutoff, "~")})
        removed = 0
        for entity in query:
            touched = [v for v in (entity.get("UpdatedAt"), entity.get("DeletedAt")) if isinstance(v, datetime)]
            if touched and max(touched) >= cutoff:
                continue  # in force (every run records it again) or deleted lately: still explains a run
            self._table.delete_entity(RECENT, entity["RowKey"])
            self._table.delete_entity(PARTITION, str(entity["RowKey"]).split("!", 1)[1])
            removed += 1
        return removed

    # -- the two copies ------------------------------------------------------------------------

    def _write(self, key: str, entity: dict[str, Any]) -> None:
        """Merge `entity` into the row under its name and into its time-ordered copy."""
        from azure.data.tables import UpdateMode

        existing = self._row(key)
        order = existing.get("Order") if existing is not None else None
        base: dict[str, Any] = {}
        if not order:
            first = entity.get("LastModified") or (existing or {}).get("LastModified") or entity.get("UpdatedAt") \
                or (existing or {}).get("UpdatedAt") or datetime.now(UTC)
            order = order_key(first, key)
            base = dict(existing) if existing is not None else {}  # a row from before the copies: copy it whole
        entity = {**entity, "Order": order}
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE)
        self._table.upsert_entity({**base, **entity, "PartitionKey": RECENT, "RowKey": order}, mode=UpdateMode.MERGE)

    def _row(self, key: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._table.get_entity(PARTITION, key)
        except ResourceNotFoundError:
            return None

    def _index_old_rows(self) -> None:
        """Give rows written before the time-ordered copies existed their copy, once per table."""
        from azure.core.exceptions import ResourceNotFoundError

        if self._indexed:
            return
        try:
            self._table.get_entity(META, _INDEXED)
        except ResourceNotFoundError:
            self._copy(e for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
                       if not e.get("Order"))
            self._table.upsert_entity({"PartitionKey": META, "RowKey": _INDEXED, "At": datetime.now(UTC)})
        self._indexed = True

    def _copy(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self._write(row["RowKey"], {"PartitionKey": PARTITION, "RowKey": row["RowKey"]})


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return None


def _to_json(entity: Any) -> dict[str, Any]:
    return {
        "container": entity.get("Container"), "name": entity.get("Name"), "size": entity.get("Size"),
        "lastModified": _iso(entity.get("LastModified")), "sha256": entity.get("Sha256"),
        "format": entity.get("Format"), "status": entity.get("Status"), "reason": entity.get("Reason") or None,
        "runId": entity.get("RunId"), "by": entity.get("By"), "updatedAt": _iso(entity.get("UpdatedAt")),
        "deletedAt": _iso(entity.get("DeletedAt")),
    }

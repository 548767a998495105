"""The history of feeds received in the drop: what came, when, its hash, and what became of it.

One row per blob (its container and name), updated as the feed moves on: `received` when the
blob trigger (or an upload) saw it, `used` by the run that read it, `skipped` when a run passed
over it as unreadable or incomplete, `rejected` when an upload was refused before it was
stored. A deleted feed keeps its row with `deletedAt`, so a run can still be explained after
the retention period removed the content.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from shared.store.tables import Tables, key_part

PARTITION = "feed"
FeedStatus = Literal["received", "used", "skipped", "rejected"]
_MAX_REASON = 4000


class FeedStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["feeds"]

    def record(
        self, *, container: str, name: str, status: FeedStatus, size: int | None = None,
        last_modified: datetime | None = None, sha256: str | None = None, format: str | None = None,
        reason: str | None = None, run_id: str | None = None, by: str | None = None, now: datetime | None = None,
    ) -> None:
        """Add or update the feed's row; fields left out keep what an earlier record said."""
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": PARTITION, "RowKey": key_part(f"{container}/{name}"), "Container": container,
            "Name": name, "Status": status, "UpdatedAt": now or datetime.now(UTC),
            "Reason": (reason or "")[:_MAX_REASON],
        }
        for key, value in (("Size", size), ("LastModified", last_modified), ("Sha256", sha256),
                           ("Format", format), ("RunId", run_id), ("By", by)):
            if value is not None:
                entity[key] = value
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE)

    def deleted(self, *, container: str, name: str, now: datetime | None = None) -> None:
        from azure.data.tables import UpdateMode

        self._table.upsert_entity({"PartitionKey": PARTITION, "RowKey": key_part(f"{container}/{name}"),
                                   "Container": container, "Name": name, "DeletedAt": now or datetime.now(UTC)},
                                  mode=UpdateMode.MERGE)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first (by the blob's time, else when it was recorded)."""
        rows = [_to_json(e) for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})]
        rows.sort(key=lambda r: r["lastModified"] or r["updatedAt"] or "", reverse=True)
        return rows[:limit]

    def get(self, container: str, name: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _to_json(self._table.get_entity(PARTITION, key_part(f"{container}/{name}")))
        except ResourceNotFoundError:
            return None


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

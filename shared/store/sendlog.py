"""What each organizer sent, per minute, so the sending limits hold across runs and processes.

Exchange counts messages per rolling minute and recipients per rolling day per mailbox,
whichever process sent them. A run starts by reading the last day's buckets and keeps them
current: a bucket is written *before* its messages go out (as `pending`) and again when their
outcome is known. A bucket still pending when read back belongs to a run that stopped
mid-send, so its messages are taken to have gone out at the moment of reading, the latest
they could have.

One row per organizer and minute (a few hundred bytes; at most 1,440 a day are read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.store.tables import Tables, key_part

DAY_SECONDS = 86_400.0
KEEP_SECONDS = 2 * DAY_SECONDS


@dataclass(frozen=True)
class Bucket:
    minute: int  # whole minutes since the epoch (of the time the messages were admitted)
    count: int  # messages (one recipient each) that may have been sent
    pending: int = 0  # of those, admitted but with no known outcome yet
    latest: float = 0.0  # the latest moment (epoch seconds) one of the settled messages may have been delivered


class SendLog(Protocol):
    def load(self, organizer: str, since: float) -> list[Bucket]: ...

    def save(self, organizer: str, bucket: Bucket) -> None: ...


def _row(minute: int) -> str:
    return f"{minute:012d}"


class TableSendLog:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["sendlog"]

    def load(self, organizer: str, since: float) -> list[Bucket]:
        """Buckets from `since` on; buckets older than two days are removed on the way."""
        partition = key_part(organizer)
        first = _row(int(since // 60))
        query = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @rk", parameters={"pk": partition, "rk": first}
        )
        buckets = [_bucket(e) for e in query]
        self._prune(partition, since - KEEP_SECONDS + DAY_SECONDS)
        return sorted(buckets, key=lambda b: b.minute)

    def save(self, organizer: str, bucket: Bucket) -> None:
        from azure.data.tables import UpdateMode

        self._table.upsert_entity(
            {
                "PartitionKey": key_part(organizer), "RowKey": _row(bucket.minute), "Count": bucket.count,
                "Pending": bucket.pending, "Latest": float(bucket.latest),
            },
            mode=UpdateMode.REPLACE,
        )

    def _prune(self, partition: str, before: float) -> None:
        query = self._table.query_entities(
            "PartitionKey eq @pk and RowKey lt @rk", parameters={"pk": partition, "rk": _row(int(before // 60))},
            select=["PartitionKey", "RowKey"],
        )
        for entity in list(query)[:200]:  # a few per run keeps the table small without a sweep job
            self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])


def _bucket(entity: Any) -> Bucket:
    return Bucket(
        minute=int(entity["RowKey"]), count=int(entity.get("Count") or 0), pending=int(entity.get("Pending") or 0),
        latest=float(entity.get("Latest") or 0.0),
    )


class MemorySendLog:
    """The same contract in memory (tests, dry runs)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Bucket] = {}

    def load(self, organizer: str, since: float) -> list[Bucket]:
        first = int(since // 60)
        return sorted((b for (o, m), b in self.rows.items() if o == organizer.lower() and m >= first),
                      key=lambda b: b.minute)

    def save(self, organizer: str, bucket: Bucket) -> None:
        self.rows[(organizer.lower(), bucket.minute)] = bucket

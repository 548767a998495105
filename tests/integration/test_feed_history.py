"""Feeds history in Azurite: newest rows from a bounded query, old rows pruned, rows of the old layout kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import UpdateMode

from shared.store.feeds import FeedStore
from shared.store.tables import Tables, key_part

NOW = datetime.now(UTC).replace(microsecond=0)


class CountingTable:
    """The feeds table as the store reaches it, counting the entities its queries hand back."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.returned = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def query_entities(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for entity in self._table.query_entities(*args, **kwargs):
            self.returned += 1
            yield entity

    def list_entities(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for entity in self._table.list_entities(*args, **kwargs):
            self.returned += 1
            yield entity


def counted(store: FeedStore) -> CountingTable:
    """Count from here on; the table's one-time look for rows of the earlier layout is behind it."""
    store._index_old_rows()
    counting = CountingTable(store._table)
    store._table = counting
    return counting


def test_the_newest_feeds_come_first_from_a_read_of_only_as_many_rows(tables: Tables) -> None:
    store = FeedStore(tables)
    for day in range(40):  # one feed a day, recorded out of order
        when = NOW - timedelta(days=(day * 7) % 40)
        store.record(container="feeds", name=f"feed-{(day * 7) % 40:02d}.json", status="received",
                     last_modified=when, now=when)
    store.record(container="feeds", name="feed-03.json", status="used", run_id="r1", now=NOW)  # keeps its place
    counting = counted(store)

    rows = store.recent(5)

    assert [r["name"] for r in rows] == [f"feed-{n:02d}.json" for n in range(5)]
    assert rows[3]["status"] == "used" and rows[3]["runId"] == "r1"
    assert counting.returned == 5  # not the 40 rows of the history
    assert store.get("feeds", "feed-39.json")["status"] == "received"  # type: ignore[index]


def test_rows_nothing_touched_for_the_kept_days_are_pruned_reading_only_the_older_rows(tables: Tables) -> None:
    store = FeedStore(tables)
    for age in (1, 10, 40, 50, 60):
        when = NOW - timedelta(days=age)
        store.record(container="feeds", name=f"age-{age}.json", status="received", last_modified=when, now=when)
    store.record(container="feeds", name="age-60.json", status="used", run_id="r9", now=NOW)  # still in force
    store.deleted(container="feeds", name="age-50.json", now=NOW - timedelta(days=2))  # deleted lately
    counting = counted(store)

    removed = store.prune(now=NOW, keep_days=30)

    assert removed == 1  # age-40: received 40 days ago, untouched since
    assert counting.returned == 3  # the three rows that arrived before the cut-off, not the recent ones
    assert sorted(r["name"] for r in store.recent()) == ["age-1.json", "age-10.json", "age-50.json", "age-60.json"]
    assert store.get("feeds", "age-40.json") is None


def test_rows_written_before_the_time_ordered_copies_are_read_and_pruned_too(tables: Tables) -> None:
    table = tables["feeds"]
    for name, age in (("old-a.json", 3), ("old-b.json", 90)):  # the earlier layout: rows under their names only
        when = NOW - timedelta(days=age)
        table.upsert_entity({"PartitionKey": "feed", "RowKey": key_part(f"feeds/{name}"), "Container": "feeds",
                             "Name": name, "Status": "used", "UpdatedAt": when, "LastModified": when,
                             "Reason": ""}, mode=UpdateMode.MERGE)
    store = FeedStore(tables)
    store.record(container="feeds", name="new.json", status="received", last_modified=NOW, now=NOW)

    assert [r["name"] for r in store.recent()] == ["new.json", "old-a.json", "old-b.json"]
    assert store.recent()[1]["status"] == "used"
    assert FeedStore(tables).prune(now=NOW, keep_days=30) == 1
    assert [r["name"] for r in FeedStore(tables).recent()] == ["new.json", "old-a.json"]

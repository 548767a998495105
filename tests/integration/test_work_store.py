"""The work table in Azurite: send order, the newest plan wins, parking, and the per-organizer summary."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from shared.domain import InvitationKey
from shared.planning.content import EventContent
from shared.planning.desired import DesiredInvitation
from shared.planning.plan import Cancel, Create
from shared.planning.sent import SentRecord
from shared.queue.work import MAX_ATTEMPTS, WorkItem, WorkStore
from shared.store.runs import RunStore
from shared.store.sendlog import Bucket, MemorySendLog
from shared.store.tables import Tables

ORG = "Learning@Contoso.example"
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
CONTENT = EventContent("S", "<p>b</p>", SOON.strftime("%Y-%m-%dT%H:%M:%S"),
                       (SOON + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "UTC", "R")


def create(offering: str, person: str, days: int = 0) -> Create:
    key = InvitationKey(offering, "ACT-1", person)
    start = SOON + timedelta(days=days)
    return Create(key, DesiredInvitation(key, "learner", None, CONTENT, "fp", start, start + timedelta(hours=1)), ORG)


def cancel(offering: str, person: str) -> Cancel:
    key = InvitationKey(offering, "ACT-1", person)
    return Cancel(key, SentRecord(key, ORG, "learner", "live", "fp", {}, SOON, SOON + timedelta(hours=1), "e"), "x")


def test_rows_come_in_send_order_and_a_newer_plan_replaces_only_its_offerings(tables: Tables) -> None:
    work = WorkStore(tables)
    work.replace([WorkItem(ORG, create("OFF-1", "b@x.example", days=3), "run1", "p1"),
                  WorkItem(ORG, create("OFF-1", "a@x.example", days=1), "run1", "p1"),
                  WorkItem(ORG, cancel("OFF-1", "c@x.example"), "run1", "p1"),
                  WorkItem(ORG, create("OFF-2", "d@x.example"), "run1", "p1")], {"OFF-1": "p1", "OFF-2": "p1"})

    page = work.page(ORG.lower(), limit=10)
    assert [(type(i.action).__name__, i.action.key.email) for i in page] == [
        ("Cancel", "c@x.example"), ("Create", "d@x.example"), ("Create", "a@x.example"), ("Create", "b@x.example")]
    assert [i.action.key.email for i in work.page(ORG, after=page[1].row, limit=1)] == ["a@x.example"]

    work.replace([WorkItem(ORG, create("OFF-1", "a@x.example", days=1), "run2", "p2")], {"OFF-1": "p2"})

    assert sorted((i.offering_id, i.action.key.email, i.plan_id) for i in work.page(ORG)) == [
        ("OFF-1", "a@x.example", "p2"), ("OFF-2", "d@x.example", "p1")]
    assert work.done(page[2]) is False  # read before the newer plan rewrote it: the newer row stays
    assert work.left_for_run("run2") == 1 and work.pending("OFF-1")


def test_a_row_failing_again_and_again_is_parked_and_summarised(tables: Tables) -> None:
    work = WorkStore(tables)
    items = [WorkItem(ORG, create("OFF-1", f"p{i}@x.example"), "run1", "p1") for i in range(4)]
    work.replace(items, {"OFF-1": "p1"})
    item = work.page(ORG, limit=1)[0]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        updated = work.failed(item, "Graph refused it.")
        assert updated is not None and updated.attempts == attempt
        item = updated
    assert item.state == "parked"
    assert len(work.page(ORG)) == 3  # parked rows are no longer handed to a drain

    now = time.time()
    log = MemorySendLog()
    log.save(ORG, Bucket(minute=int(now // 60), count=2, latest=now))
    log.save(ORG, Bucket(minute=int(now // 60) - 600, count=5, latest=now - 36000))
    [entry] = work.summary(per_minute=2, per_day=100, send_log=log, now=now)

    assert (entry["queued"], entry["parked"], entry["sentLastMinute"], entry["sentLastDay"]) == (3, 1, 2, 7)
    assert entry["emptyInMinutes"] == 1.5  # three writes at two a minute
    assert entry["nextSessionStart"] == SOON.isoformat().replace("+00:00", "Z")
    [bounded] = work.summary(per_minute=2, per_day=8, send_log=log, now=now)
    assert bounded["emptyInMinutes"] > 24 * 60  # one write left for today's budget: the rest waits a day


def test_run_progress_adds_what_was_sent_and_sets_what_is_left(tables: Tables) -> None:
    runs = RunStore(tables)
    runs.record({"runId": "r1", "status": "completed", "startedAt": datetime.now(UTC).isoformat(), "created": 6})

    assert runs.progress("r1", sent=3, left=1)
    assert runs.progress("r1", sent=1, left=0, state="completed")
    assert not runs.progress("unknown", sent=1, left=0)
    [run] = runs.recent()
    assert (run["sent"], run["left"], run["state"]) == (10, 0, "completed")


def test_a_row_this_version_cannot_read_is_parked_not_sent_and_not_blocking(tables: Tables) -> None:
    work = WorkStore(tables)
    work.replace([WorkItem(ORG, create("OFF-1", "a@x.example"), "run1", "p1"),
                  WorkItem(ORG, create("OFF-1", "b@x.example", days=1), "run1", "p1")], {"OFF-1": "p1"})
    first = work.page(ORG, limit=1)[0]
    tables["work"].update_entity({"PartitionKey": "learning@contoso.example", "RowKey": first.row,
                                  "Action0": '{"kind": "teleport"}'})

    assert [i.action.key.email for i in work.page(ORG)] == ["b@x.example"]
    [entry] = work.summary(per_minute=30, per_day=10000)
    assert (entry["queued"], entry["parked"]) == (1, 1)


class CountingTable:
    """The work table as the store reaches it, counting the entities each listing or query hands back."""

    def __init__(self, table: object) -> None:
        self._table = table
        self.returned = 0
        self.transactions = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._table, name)

    def _count(self, entities: object) -> object:
        for entity in entities:  # type: ignore[attr-defined]
            self.returned += 1
            yield entity

    def list_entities(self, *args: object, **kwargs: object) -> object:
        return self._count(self._table.list_entities(*args, **kwargs))  # type: ignore[attr-defined]

    def submit_transaction(self, operations: object) -> object:
        self.transactions += 1
        return self._table.submit_transaction(operations)  # type: ignore[attr-defined]

    def query_entities(self, *args: object, **kwargs: object) -> object:
        return self._count(self._table.query_entities(*args, **kwargs))  # type: ignore[attr-defined]


def test_a_sweep_reads_only_the_rows_older_plans_left_not_the_rows_just_written(tables: Tables) -> None:
    work = WorkStore(tables)
    old = [WorkItem(ORG, create("OFF-1", f"old{i}@x.example"), "run1", "p1") for i in range(3)]
    other = [WorkItem(ORG, create("OFF-99", f"other{i}@x.example"), "run1", "p1") for i in range(2)]
    work.replace(old + other, {"OFF-1": "p1", "OFF-99": "p1"})
    fresh = [WorkItem(ORG, create(f"OFF-{n}", f"new{i}@x.example", days=1), "run2", "p2")
             for n in range(1, 11) for i in range(30)]  # 300 rows of the new plan, ten offerings
    work.write(fresh)
    counting = CountingTable(work._table)
    work._table = counting  # type: ignore[assignment]

    work.sweep({f"OFF-{n}": "p2" for n in range(1, 11)})  # more than a few offerings: one query by plan

    assert counting.returned == 5  # the older plan's rows, none of the 300 just written
    left = {(e["OfferingId"], e["PlanId"]) for e in work.rows(select=["OfferingId", "PlanId"])}
    assert left == {(f"OFF-{n}", "p2") for n in range(1, 11)} | {("OFF-99", "p1")}  # OFF-1's old rows are gone

    counting.returned = 0
    work.write([WorkItem(ORG, create("OFF-99", "again@x.example", days=1), "run3", "p3")])
    work.sweep({"OFF-99": "p3"})  # a few offerings: each one's rows of other plans only

    assert counting.returned == 2  # OFF-9's two old rows; the 300 rows of the other offerings are not read
    assert work.pending("OFF-99") and work.left_for_run("run1") == 0


def test_sent_rows_go_in_transactions_and_a_row_a_newer_plan_rewrote_stays(tables: Tables) -> None:
    work = WorkStore(tables)
    work.replace([WorkItem(ORG, create("OFF-1", f"p{i:03d}@x.example"), "run1", "p1") for i in range(150)],
                 {"OFF-1": "p1"})
    page = work.page(ORG, limit=150)
    work.write([WorkItem(ORG, page[20].action, "run2", "p2")])  # a newer plan rewrote one row meanwhile
    counting = CountingTable(work._table)
    work._table = counting  # type: ignore[assignment]

    removed = work.done_many(page)

    assert removed == {i.row for i in page} - {page[20].row}
    assert counting.transactions == 2  # 100 + 50 rows; the first failed whole and went row by row
    [left] = work.page(ORG)
    assert (left.row, left.plan_id) == (page[20].row, "p2")  # the newer plan's row is kept, as `done` keeps it


def test_the_organizers_to_wake_are_asked_for_one_queued_row_each_not_listed_from_the_whole_table(
    tables: Tables,
) -> None:
    work = WorkStore(tables)
    other = "Second@Contoso.example"
    work.write([WorkItem(ORG, create("OFF-1", f"p{i}@x.example"), "run1", "p1") for i in range(120)])
    parked = WorkItem(other, create("OFF-2", "q@x.example"), "run1", "p1", state="parked")
    work.write([parked])
    counting = CountingTable(work._table)
    work._table = counting  # type: ignore[assignment]

    woken = work.organizers([ORG, ORG.lower(), other, "nobody@contoso.example"])

    assert woken == [ORG]  # the second organizer's only row is parked; nobody has none
    assert counting.returned == 1  # one row of ORG's 120; none of the others
    assert work.organizers() == [ORG]  # the listing for `learncal queue` agrees

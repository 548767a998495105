"""The work table: every write a plan decided, waiting for its organizer's drain to send it.

One row per sending action (create, update, cancellation, a cancellation followed by its
re-invitation). The partition is the sending organizer, so one drain reads one partition,
and the row key sorts the partition in the order the work must go out: the soonest session
first, then cancellations before updates before invitations (the planner's own order). A
queue keeps no order; this table does.

A row carries the plan that decided it (`PlanId`, the offering's plan when it was written):
a newer plan of the same offering replaces its rows, and a row whose plan is no longer the
offering's current one is dropped by the drain instead of being sent. Rows are deleted with
the ETag they were read with, so a drain never deletes a row a newer plan has just written
under the same key.

A row that keeps failing is retried later (`NotBefore`, backing off) and parked after
`MAX_ATTEMPTS` failures: kept, reported by `learncal queue show`, never sent again until a
new plan replaces it or an administrator clears it.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.planning.plan import _FAR_FUTURE, Cancel, Create, Update
from shared.queue.codec import SendAction, UnreadableWork, decode, encode
from shared.store.sendlog import DAY_SECONDS, SendLog
from shared.store.tables import Tables, key_part

MAX_ATTEMPTS = 5  # failures before a row is parked
_CHUNK = 30_000  # characters of action JSON per property (a string property holds 32,768)
_BATCH = 100  # operations in one entity-group transaction (the service's limit)
# Transactions written side by side: a first rollout's rows (1,800 for one session moved for 1,800
# learners) took 19 transactions one after the other, seconds of the run's time slice before the
# first invitation went out. Each touches rows of its own, so their order does not matter.
_WRITERS = 4
_URGENCY = {Cancel: 0, Update: 1, Create: 2}
_BACKOFF_SECONDS = 30.0
# A sweep of this many offerings or fewer asks for each one's rows of other plans; more, for every row of
# another plan at once (one query, however many offerings the plan examined).
_FEW_OFFERINGS = 8

WorkState = Literal["queued", "parked"]


def new_plan_id() -> str:
    return uuid.uuid4().hex[:16]


def partition(organizer: str) -> str:
    """Exchange compares addresses without case; so does the work table."""
    return key_part(organizer.lower())


def row_key(action: SendAction) -> str:
    """Sorts as the planner orders a plan: (session start, cancel < update < create, key)."""
    start = action.start_utc if action.start_utc != _FAR_FUTURE else None
    when = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S") if start is not None else "99991231T235959"
    key = action.key
    return "!".join((when, str(_URGENCY[type(action)]), key_part(key.offering_id), key_part(key.activity_id),
                     key_part(key.email)))


def sender(action: SendAction) -> str:
    """Updates and cancellations go through the organizer that sent the invitation (as the executor sends)."""
    if isinstance(action, Create):
        return action.organizer
    return action.record.organizer


@dataclass
class WorkItem:
    organizer: str
    action: SendAction
    run_id: str | None
    plan_id: str
    attempts: int = 0
    state: WorkState = "queued"
    not_before: datetime | None = None
    last_error: str | None = None
    enqueued_at: datetime | None = None
    etag: str | None = None
    row: str = field(default="")

    def __post_init__(self) -> None:
        if not self.row:
            self.row = row_key(self.action)

    @property
    def offering_id(self) -> str:
        return self.action.key.offering_id


class WorkStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["work"]

    # -- what a plan writes -----------------------------------------------------------------

    def replace(self, items: Iterable[WorkItem], plans: Mapping[str, str]) -> int:
        """Write a plan's rows; then remove the rows of these offerings that an older plan wrote.

        `plans`: offering id -> the plan id the new rows carry (every offering the plan examined,
        also those it left without work). New rows first: a crash in between leaves rows of an
        older plan that the drain drops (their plan is no longer the offering's), never a gap.
        """
        written = self.write(items)
        self.sweep(plans)
        return written

    def write(self, items: Iterable[WorkItem]) -> int:
        """Write rows of a plan (a plan planned chunk by chunk writes each chunk's rows, then sweeps once)."""
        from azure.data.tables import UpdateMode

        now = datetime.now(UTC)
        by_partition: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        written = 0
        for item in items:
            item.enqueued_at = item.enqueued_at or now
            by_partition[partition(item.organizer)].append(("upsert", self._entity(item), {"mode": UpdateMode.REPLACE}))
            written += 1
        self._submit(by_partition)
        return written

    def sweep(self, plans: Mapping[str, str]) -> None:
        """Remove the rows of these offerings that a plan other than theirs in `plans` wrote.

        Only rows of other plans are read: a few offerings are looked up one by one
        (`OfferingId eq @o and PlanId ne @p`), more by plan (`PlanId ne @p`, every row the plan did
        not write). Either way the rows the plan has just written (all 510,000 of a first rollout)
        are never read back; what is read is the work older plans left queued.
        """
        stale: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        by_plan: dict[str, set[str]] = defaultdict(set)
        for offering, plan_id in plans.items():
            by_plan[plan_id].add(offering)
        select = ["PartitionKey", "RowKey", "OfferingId", "PlanId"]
        for plan_id, offerings in by_plan.items():
            if len(offerings) <= _FEW_OFFERINGS:
                found: Iterable[Any] = (
                    entity for offering in sorted(offerings)
                    for entity in self._table.query_entities("OfferingId eq @o and PlanId ne @p", select=select,
                                                             parameters={"o": offering, "p": plan_id}))
            else:
                found = self._table.query_entities("PlanId ne @p", parameters={"p": plan_id}, select=select)
            for entity in found:
                if entity.get("OfferingId") in offerings and entity.get("PlanId") != plan_id:
                    stale[entity["PartitionKey"]].append(
                        ("delete", {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]}, {}))
        self._submit(stale)

    def _submit(self, operations: Mapping[str, list[tuple[str, dict[str, Any], dict[str, Any]]]]) -> None:
        batches = [ops[start:start + _BATCH] for ops in operations.values() for start in range(0, len(ops), _BATCH)]
        if len(batches) <= 1:
            for batch in batches:
                self._table.submit_transaction(batch)
            return
        with ThreadPoolExecutor(max_workers=min(_WRITERS, len(batches)), thread_name_prefix="learncal-work") as pool:
            for done in [pool.submit(self._table.submit_transaction, batch) for batch in batches]:
                done.result()  # the first failure is raised, as when they were written in turn

    # -- what a drain reads and writes --------------------------------------------------------

    def page(self, organizer: str, *, after: str | None = None, limit: int = 200) -> list[WorkItem]:
        """The next queued rows of one organizer in send order (RowKey order), after `after`."""
        query = "PartitionKey eq @pk and State eq 'queued'"
        parameters: dict[str, Any] = {"pk": partition(organizer)}
        if after is not None:
            query += " and RowKey gt @after"
            parameters["after"] = after
        items: list[WorkItem] = []
        for entity in self._table.query_entities(query, parameters=parameters, results_per_page=limit):
            try:
                items.append(self._item(entity))
            except UnreadableWork as error:  # written by another version, or damaged: parked and reported
                self._park_unreadable(entity, str(error))
                continue
            if len(items) >= limit:
                break
        return items

    def _park_unreadable(self, entity: Any, message: str) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        with contextlib.suppress(HttpResponseError):
            self._table.update_entity(
                {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"], "State": "parked",
                 "LastError": message[:2000]}, mode=UpdateMode.MERGE, etag=entity.metadata.get("etag"),
                match_condition=MatchConditions.IfNotModified)

    def done(self, item: WorkItem) -> bool:
        """Remove a row that was sent (or dropped); False when a newer plan rewrote or removed it meanwhile
        (or an administrator cleared it): that plan decided without knowing of this send."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            self._table.delete_entity(partition(item.organizer), item.row, etag=item.etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def done_many(self, items: Collection[WorkItem]) -> set[str]:
        """Remove rows that were sent, in entity-group transactions (a page's 200 rows in two round
        trips instead of 200); returns the row keys removed. A transaction fails whole when one of
        its rows was rewritten or removed meanwhile (its ETag no longer matches): its rows are then
        removed one by one, so each answers for itself as `done` does."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError

        by_partition: dict[str, list[WorkItem]] = defaultdict(list)
        for item in items:
            by_partition[partition(item.organizer)].append(item)
        chunks = [rows[start:start + _BATCH] for rows in by_partition.values() for start in range(0, len(rows), _BATCH)]

        def remove(chunk: list[WorkItem]) -> set[str]:
            operations: list[Any] = [
                ("delete", {"PartitionKey": partition(i.organizer), "RowKey": i.row},
                 {"etag": i.etag, "match_condition": MatchConditions.IfNotModified}) for i in chunk]
            try:
                self._table.submit_transaction(operations)
            except TableTransactionError:
                return {i.row for i in chunk if self.done(i)}
            return {i.row for i in chunk}

        if len(chunks) <= 1:
            return set().union(*map(remove, chunks))
        with ThreadPoolExecutor(max_workers=min(_WRITERS, len(chunks)), thread_name_prefix="learncal-work") as pool:
            return set().union(*pool.map(remove, chunks))

    def failed(self, item: WorkItem, message: str, *, now: datetime | None = None) -> WorkItem | None:
        """Count a failed attempt: retried later (backing off), parked after MAX_ATTEMPTS."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        now = now or datetime.now(UTC)
        item.attempts += 1
        item.last_error = message[:2000]
        item.state = "parked" if item.attempts >= MAX_ATTEMPTS else "queued"
        item.not_before = now + timedelta(seconds=_BACKOFF_SECONDS * 2 ** (item.attempts - 1))
        try:
            meta = self._table.update_entity(self._entity(item), mode=UpdateMode.REPLACE, etag=item.etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None  # a newer plan replaced (or a clear removed) the row: its decision stands
        item.etag = meta.get("etag")
        return item

    # -- looking at the queue ---------------------------------------------------------------

    def rows(self, *, organizer: str | None = None, offering: str | None = None,
             select: list[str] | None = None) -> Iterator[Any]:
        filters, parameters = [], {}
        if organizer:
            filters.append("PartitionKey eq @pk")
            parameters["pk"] = partition(organizer)
        if offering:
            filters.append("OfferingId eq @offering")
            parameters["offering"] = offering
        if not filters:
            return iter(self._table.list_entities(select=select))
        return iter(self._table.query_entities(" and ".join(filters), parameters=parameters, select=select))

    def offerings(self) -> dict[str, set[str]]:
        """Offering -> the organizers with rows of it (queued or parked)."""
        found: dict[str, set[str]] = defaultdict(set)
        for entity in self.rows(select=["PartitionKey", "Organizer", "OfferingId"]):
            found[entity.get("OfferingId") or ""].add(entity.get("Organizer") or entity["PartitionKey"])
        return dict(found)

    def organizers(self, candidates: Iterable[str] | None = None) -> list[str]:
        """Organizers with queued rows (those a wake-up message should be sent for).

        `candidates`: every organizer that may have any (a run knows them: those it wrote rows for
        and those with rows before it); each is asked for one queued row instead of the whole table
        being listed, which after a first rollout holds every row the plan has just written.
        """
        if candidates is not None:
            names: dict[str, str] = {}
            for candidate in candidates:
                names.setdefault(partition(candidate), candidate)
            return sorted(name for key, name in names.items() if next(iter(self._table.query_entities(
                "PartitionKey eq @pk and State eq 'queued'", parameters={"pk": key}, select=["RowKey"],
                results_per_page=1)), None) is not None)
        found: dict[str, str] = {}
        for entity in self.rows(select=["PartitionKey", "Organizer", "State"]):
            if entity.get("State") == "queued":
                found.setdefault(entity["PartitionKey"], entity.get("Organizer") or entity["PartitionKey"])
        return sorted(found.values())

    def queued(self, organizer: str) -> int:
        return sum(1 for e in self.rows(organizer=organizer, select=["State"]) if e.get("State") == "queued")

    def next_due(self, organizer: str) -> datetime | None:
        """The earliest moment a queued row of this organizer that waits after a failure may be tried again."""
        waits = [e["NotBefore"] for e in self.rows(organizer=organizer, select=["State", "NotBefore"])
                 if e.get("State") == "queued" and e.get("NotBefore") is not None]
        return min(waits, default=None)

    def left_for_run(self, run_id: str, *, untried: bool = False) -> int:
        """A run's writes still queued (`untried`: only those no drain has failed to send yet)."""
        query_text = "RunId eq @run and State eq 'queued'" + (" and Attempts eq 0" if untried else "")
        query = self._table.query_entities(query_text, parameters={"run": run_id}, select=["RowKey"])
        return sum(1 for _ in query)

    def pending(self, offering_id: str) -> bool:
        """Any row (queued or parked) left for this offering, whichever organizer sends it."""
        query = self._table.query_entities("OfferingId eq @o", parameters={"o": offering_id},
                                           select=["RowKey"], results_per_page=1)
        return next(iter(query), None) is not None

    def clear(self, *, organizer: str | None = None, offering: str | None = None,
              state: WorkState | None = None) -> int:
        """Remove queued (and parked) rows; the next plan decides again about their offerings."""
        ops: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        removed = 0
        for entity in self.rows(organizer=organizer, offering=offering, select=["PartitionKey", "RowKey", "State"]):
            if state is not None and entity.get("State") != state:
                continue
            ops[entity["PartitionKey"]].append(("delete", {"PartitionKey": entity["PartitionKey"],
                                                           "RowKey": entity["RowKey"]}, {}))
            removed += 1
        self._submit(ops)
        return removed

    def summary(self, *, per_minute: int, per_day: int, send_log: SendLog | None = None,
                now: float | None = None, organizer: str | None = None) -> list[dict[str, Any]]:
        """Per organizer: queued and parked rows, the sessions they are for, what was sent against the
        budget in the last minute and day, and when the queue is expected to be empty.

        The estimate assumes the budget is the only limit (it is what the drain waits for): the
        queued rows at the per-minute rate, held back by the day's budget where that runs out.
        """
        import time

        now = time.time() if now is None else now
        per: dict[str, dict[str, Any]] = {}
        for entity in self.rows(organizer=organizer,
                                select=["PartitionKey", "Organizer", "State", "Start", "EnqueuedAt"]):
            name = entity.get("Organizer") or entity["PartitionKey"]
            entry = per.setdefault(entity["PartitionKey"], {
                "organizer": name, "queued": 0, "parked": 0, "nextSessionStart": None, "lastSessionStart": None,
                "oldestQueuedAt": None,
            })
            entry["parked" if entity.get("State") == "parked" else "queued"] += 1
            start, enqueued = entity.get("Start"), entity.get("EnqueuedAt")
            if isinstance(start, datetime):
                entry["nextSessionStart"] = _earliest(entry["nextSessionStart"], start)
                entry["lastSessionStart"] = _latest(entry["lastSessionStart"], start)
            if isinstance(enqueued, datetime):
                entry["oldestQueuedAt"] = _earliest(entry["oldestQueuedAt"], enqueued)
        result = []
        for entry in per.values():
            minute, day = _sent(send_log, entry["organizer"], now)
            entry.update({
                "sentLastMinute": minute, "sentLastDay": day, "perMinute": per_minute, "perDay": per_day,
            })
            minutes = _minutes_to_empty(entry["queued"], per_minute, per_day, day)
            entry["emptyInMinutes"] = minutes
            entry["expectedEmptyAt"] = _iso(datetime.fromtimestamp(now + minutes * 60, UTC)) if minutes else None
            for name in ("nextSessionStart", "lastSessionStart", "oldestQueuedAt"):
                entry[name] = _iso(entry[name]) if entry[name] is not None else None
            result.append(entry)
        return sorted(result, key=lambda e: e["organizer"])

    # -- rows ----------------------------------------------------------------------------------

    @staticmethod
    def _entity(item: WorkItem) -> dict[str, Any]:
        text = encode(item.action)
        entity: dict[str, Any] = {
            "PartitionKey": partition(item.organizer), "RowKey": item.row, "Organizer": item.organizer,
            "OfferingId": item.offering_id, "PlanId": item.plan_id, "RunId": item.run_id or "",
            "Attempts": item.attempts, "State": item.state, "Kind": type(item.action).__name__.lower(),
            "Chunks": max(1, math.ceil(len(text) / _CHUNK)),
        }
        for index in range(entity["Chunks"]):
            entity[f"Action{index}"] = text[index * _CHUNK:(index + 1) * _CHUNK]
        start = item.action.start_utc
        if start != _FAR_FUTURE:
            entity["Start"] = start
        for name, value in (("NotBefore", item.not_before), ("LastError", item.last_error),
                            ("EnqueuedAt", item.enqueued_at)):
            if value is not None:
                entity[name] = value
        return entity

    @staticmethod
    def _item(entity: Any) -> WorkItem:
        text = "".join(entity.get(f"Action{i}") or "" for i in range(int(entity.get("Chunks") or 1)))
        return WorkItem(
            organizer=entity.get("Organizer") or entity["PartitionKey"], action=decode(text),
            run_id=entity.get("RunId") or None, plan_id=entity.get("PlanId") or "",
            attempts=int(entity.get("Attempts") or 0), state=entity.get("State") or "queued",
            not_before=entity.get("NotBefore"), last_error=entity.get("LastError"),
            enqueued_at=entity.get("EnqueuedAt"), etag=entity.metadata.get("etag"), row=entity["RowKey"],
        )


def _sent(send_log: SendLog | None, organizer: str, now: float) -> tuple[int, int]:
    if send_log is None:
        return 0, 0
    buckets = send_log.load(organizer, now - DAY_SECONDS)
    minute = sum(b.count for b in buckets if (b.minute + 1) * 60 > now - 60)
    return minute, sum(b.count for b in buckets)


def _minutes_to_empty(queued: int, per_minute: int, per_day: int, sent_day: int) -> float:
    if queued <= 0:
        return 0.0
    today = max(0, per_day - sent_day)
    if queued <= today:
        return queued / per_minute
    later = queued - today  # what waits for the day's budget to come round again
    return max(today / per_minute, math.ceil(later / per_day) * 1440.0 + min(later, per_day) / per_minute)


def _earliest(current: datetime | None, value: datetime) -> datetime:
    return value if current is None or value < current else current


def _latest(current: datetime | None, value: datetime) -> datetime:
    return value if current is None or value > current else current


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offerings_of(items: Collection[WorkItem]) -> set[str]:
    return {item.offering_id for item in items}

"""Asking for a run: at most one follow-up waits while a planning run is in progress.

Whoever asks (the timer, POST /api/sync, a new feed, the CLI, the console), the rule is the
same. A run asked for while no run is waiting is recorded `queued` and its id goes on the run
queue; a run asked for while one is already waiting joins that one (the caller gets its id,
`coalesced: true`). A waiting run starts once the planning run in progress has ended, and
then plans from the state and feed of that moment, so one follow-up covers every request
made during the run: nothing asked for is dropped, and nothing is planned twice for nothing.

Concurrent callers agree on the waiting run through one `next` row in the runs table: it is
inserted only if absent and replaced only with the ETag it was read with, so exactly one
caller creates the follow-up and the others join it. A request joins a run with an ETag check
on the run's row that fails once the run has started, so a request never joins a run that
can no longer see it.

Dry runs change nothing and take no lease: each is a run of its own, never joined.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.errors import LearncalError
from shared.queue import names
from shared.store.lease import PLANNER
from shared.store.runs import Claimed, RunStore
from shared.store.tables import Tables

if TYPE_CHECKING:
    from shared.settings import Settings
    from shared.sync.service import SyncRequest

log = logging.getLogger("learncal.runs")

PLANNER_LEASE = PLANNER  # the lease a planning run holds (shared.store.lease)
RUNS_QUEUE = names.RUNS_QUEUE  # one message = {"runId": id}: perform that requested run
RETRY_SECONDS = 60  # a run that finds the planner lease held comes back after this long
STALE_SECONDS = 300  # a waiting run whose message is older than this gets another (a lost message)
POINTERS = "pointer"  # PartitionKey of the `next` and `current` rows in the runs table
_ATTEMPTS = 20


@dataclass(frozen=True)
class RunTicket:
    """What a caller gets back: the run that will serve its request."""

    run_id: str
    status: Literal["queued", "running"]
    coalesced: bool  # joined a run someone else had already asked for
    follow_up_of: str | None = None  # the run in progress this one waits for, when one was

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "status": self.status, "coalesced": self.coalesced,
                "followUpOf": self.follow_up_of}


class RunQueue(Protocol):
    def send(self, run_id: str, *, delay: float = 0) -> None: ...

    def poisoned(self) -> int: ...


class StorageRunQueue:
    """The `learncal-runs` Storage queue; the `run_worker` function is triggered by it.

    An installation with a table prefix of its own (tests, a second local install) gets a run
    queue of its own (shared/queue/names.py).
    """

    def __init__(self, settings: Settings, tables: Tables) -> None:
        self._settings = settings
        self.name = names.queue_name(tables, RUNS_QUEUE)
        self._client: Any = None

    def send(self, run_id: str, *, delay: float = 0) -> None:
        from azure.core.exceptions import ResourceExistsError

        if self._client is None:
            from shared.store.services import queue_client

            client = queue_client(self._settings, self.name)
            with contextlib.suppress(ResourceExistsError):
                client.create_queue()
            self._client = client
        # the queue's visibility timeout is at most 7 days; a delay here is seconds to minutes
        self._client.send_message(json.dumps({"runId": run_id}), visibility_timeout=max(0, int(delay)))


    def poisoned(self) -> int:
        """Run messages the host set aside after five failed attempts (`<queue>-poison`)."""
        from azure.core.exceptions import ResourceNotFoundError

        from shared.queue.wakeup import POISON_SUFFIX
        from shared.store.services import queue_client

        try:
            properties = queue_client(self._settings, self.name + POISON_SUFFIX).get_queue_properties()
        except ResourceNotFoundError:
            return 0
        return int(properties.approximate_message_count or 0)


class RunRequestContended(LearncalError):
    """So many callers asked at the same moment that no agreement was reached (try again)."""


def request_payload(request: SyncRequest) -> dict[str, Any]:
    """What a run was asked to do, as kept with the queued run."""
    return {"feed": request.feed, "dryRun": request.dry_run, "allowMassCancel": request.allow_mass_cancel,
            "givenBy": request.given_by}


def sync_request(payload: dict[str, Any], via: str) -> SyncRequest:
    from shared.sync.service import SyncRequest

    allowance = payload.get("allowMassCancel", False)
    if not isinstance(allowance, (bool, int)):
        allowance = False
    return SyncRequest(feed=payload.get("feed") or None, dry_run=bool(payload.get("dryRun")),
                       allow_mass_cancel=allowance, given_by=payload.get("givenBy") or None,
                       via=via)  # type: ignore[arg-type]  # a value written from a SyncRequest's own


def merged(waiting: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    """One more request folded into a waiting run: what the later caller asked for wins where it asked.

    A feed named by the later request replaces the earlier one (the later feed is the newer
    truth); an allowance for mass cancellations given by either is kept, the later one first.
    """
    result = dict(waiting)
    if newer.get("feed"):
        result["feed"] = newer["feed"]
    if newer.get("allowMassCancel") not in (None, False):
        result["allowMassCancel"] = newer["allowMassCancel"]
        result["givenBy"] = newer.get("givenBy")
    return result


@dataclass(frozen=True)
class Pointer:
    run_id: str
    etag: str


class Pointers:
    """The `next` (waiting) and `current` (planning) rows that name runs, ETag-checked."""

    def __init__(self, tables: Tables) -> None:
        self._table = tables["runs"]

    def get(self, name: str) -> Pointer | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            row = self._table.get_entity(POINTERS, name)
        except ResourceNotFoundError:
            return None
        return Pointer(str(row.get("RunId") or ""), row.metadata["etag"])

    def create(self, name: str, run_id: str) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._table.create_entity({"PartitionKey": POINTERS, "RowKey": name, "RunId": run_id})
        except ResourceExistsError:
            return False
        return True

    def replace(self, name: str, run_id: str, etag: str) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            self._table.update_entity({"PartitionKey": POINTERS, "RowKey": name, "RunId": run_id},
                                      mode=UpdateMode.REPLACE, etag=etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def put(self, name: str, run_id: str) -> None:
        self._table.upsert_entity({"PartitionKey": POINTERS, "RowKey": name, "RunId": run_id})

    def remove(self, name: str, pointer: Pointer) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            self._table.delete_entity(POINTERS, name, etag=pointer.etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True


class RunRequests:
    """Requests runs, hands a waiting run to whoever performs it, and passes on to the next."""

    def __init__(self, tables: Tables, runs: RunStore, queue: RunQueue,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._runs = runs
        self._queue = queue
        self._pointers = Pointers(tables)
        self._clock = clock

    @property
    def queue(self) -> RunQueue:
        return self._queue

    def request(self, request: SyncRequest, *, started_by: str, enqueue: bool = True) -> RunTicket:
        """A run for this request: a new one, or the one already waiting (never none).

        `enqueue=False` leaves the message out for a caller that performs the run itself at
        once (the synchronous CLI and the timer); it sends one when it cannot.
        """
        payload = request_payload(request)
        if request.dry_run:
            run_id = new_run_id()
            self._runs.create(run_id, request=payload, started_by=started_by, via=request.via, now=self._clock())
            if enqueue:
                self._queue.send(run_id)
            log.info("Dry run %s was requested by %s (via %s).", run_id, started_by, request.via)
            return RunTicket(run_id, "queued", False)
        for _attempt in range(_ATTEMPTS):
            pointer = self._pointers.get("next")
            if pointer is not None:
                enqueued = self._runs.join(pointer.run_id, lambda waiting: merged(waiting, payload))
                if enqueued is not None:
                    if enqueue and self._clock() - enqueued > timedelta(seconds=STALE_SECONDS):
                        self._send(pointer.run_id)  # its message may have been lost: a second one is harmless
                    log.info("A run requested by %s (via %s) joined run %s, which waits to start.", started_by,
                             request.via, pointer.run_id)
                    return RunTicket(pointer.run_id, "queued", True, self._in_progress())
                if self._runs.state(pointer.run_id) == "queued":
                    continue  # another request joined it at the same moment: join again
            follow_up_of = self._in_progress()
            run_id = new_run_id()
            self._runs.create(run_id, request=payload, started_by=started_by, via=request.via,
                              follow_up_of=follow_up_of, now=self._clock())
            won = (self._pointers.create("next", run_id) if pointer is None
                   else self._pointers.replace("next", run_id, pointer.etag))
            if not won:  # another caller created the waiting run first: join it instead
                self._runs.delete(run_id)
                continue
            if enqueue:
                self._queue.send(run_id)
            after = f", after run {follow_up_of}" if follow_up_of else ""
            log.info("Run %s was requested by %s (via %s); it starts when no run is planning%s.", run_id,
                     started_by, request.via, after)
            return RunTicket(run_id, "queued", False, follow_up_of)
        raise RunRequestContended("Many runs were requested at the same moment and this request could not be "
                                  "recorded; ask again (nothing was started for it).")

    def claim(self, run_id: str) -> Claimed | None:
        """Take a waiting run to perform it (for a real run: when no run holds the planner lease)."""
        claimed = self._runs.claim(run_id, now=self._clock())
        if claimed is None:
            return None
        pointer = self._pointers.get("next")
        if pointer is not None and pointer.run_id == run_id:
            self._pointers.remove("next", pointer)  # a request that replaced it meanwhile keeps its own
        if not claimed.request.get("dryRun"):
            self._abandoned(run_id)
            self._pointers.put("current", run_id)
        return claimed

    def finished(self, run_id: str) -> str | None:
        """A planning run has ended (its lease released): start the run waiting for it, if any."""
        current = self._pointers.get("current")
        if current is not None and current.run_id == run_id:
            self._pointers.remove("current", current)
        waiting = self._pointers.get("next")
        if waiting is None:
            return None
        self._send(waiting.run_id)
        return waiting.run_id

    def _abandoned(self, run_id: str) -> None:
        """The run named `current` before this one never ended (its process stopped): say so in its record.

        A run is claimed only when nobody holds the planner lease, so a run still `planning` under
        the `current` row has lost its process. Should it be alive after all (between its claim
        and its taking the lease), its own end overwrites this.
        """
        current = self._pointers.get("current")
        if current is None or current.run_id == run_id:
            return
        if self._runs.state(current.run_id) == "planning":  # a run that is sending has ended its planning
            message = ("The process performing this run stopped before the run ended (a crash or a restart); "
                       f"run {run_id} took over. What this run sent is kept; the next run plans the rest.")
            self._runs.update(current.run_id, State="failed", Status="failed", Progress=message)
            log.warning("Run %s did not end: %s", current.run_id, message)

    def unclaim(self, claimed: Claimed) -> None:
        """A claimed run met another run holding the planner lease: it waits again as the follow-up.

        Should another run have become the follow-up meanwhile, this one's request joins it and
        this run ends `skipped`, naming the run that serves its request.
        """
        self._runs.requeue(claimed.run_id)
        if self._pointers.create("next", claimed.run_id):
            return
        for _attempt in range(_ATTEMPTS):
            pointer = self._pointers.get("next")
            if pointer is None:
                if self._pointers.create("next", claimed.run_id):
                    return
                continue
            if pointer.run_id == claimed.run_id:
                return
            if self._runs.join(pointer.run_id, lambda waiting: merged(waiting, claimed.request)) is not None:
                message = (f"Another run took the planner lease as this one started; this run's request joined run "
                           f"{pointer.run_id}, which serves it.")
                self._runs.update(claimed.run_id, State="skipped", Status="skipped", Progress=message)
                log.info("Run %s: %s", claimed.run_id, message)
                return
        log.warning("Run %s waits again but could not be made the follow-up; its message retries it.",
                    claimed.run_id)

    def planning(self) -> bool:
        """Whether a run holds the planner lease now."""
        return lease_held(self._tables, PLANNER_LEASE, self._clock())

    def retry_later(self, run_id: str, delay: float = RETRY_SECONDS) -> None:
        """The planner lease is held: this run's message comes back after `delay` seconds."""
        self._send(run_id, delay=delay)

    def waiting(self) -> str | None:
        pointer = self._pointers.get("next")
        return pointer.run_id if pointer is not None else None

    def _send(self, run_id: str, delay: float = 0) -> None:
        self._queue.send(run_id, delay=delay)
        self._runs.enqueued(run_id, self._clock())

    def _in_progress(self) -> str | None:
        """The planning run in progress (its id), when the planner lease is held."""
        current = self._pointers.get("current")
        if current is None or not lease_held(self._tables, PLANNER_LEASE, self._clock()):
            return None
        return current.run_id


def lease_held(tables: Tables, name: str, now: datetime) -> bool:
    """Whether a lease is held now: a read of its row, never a take (which could fail a run starting).

    A lease left by a process of this machine that no longer exists is not held: the next run
    takes it over at once (shared/store/lease.py).
    """
    from shared.store.lease import LeaseStore

    return LeaseStore(tables).held(name, now=now)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]

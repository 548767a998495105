"""Entry points of response collection: the upkeep timer and the queue worker, built from settings.

Both talk to Graph through a `CollectionGraph` signed in the way the sync signs in
(shared/bootstrap.py), and close it when done.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from shared.queue.names import RESPONSES_QUEUE
from shared.responses.graph import CollectionGraph
from shared.responses.upkeep import UpkeepReport
from shared.settings import Settings
from shared.store.tables import Tables, table_service

log = logging.getLogger("learncal.responses")
T = TypeVar("T")
KINDS = ("changes", "catchup", "renew", "recreate")
COALESCE_SECONDS = 2  # a notification's read waits this long, so a burst of answers is read in one delta page

GraphFactory = Callable[[], CollectionGraph]


def collection_graph(settings: Settings, tables: Tables | None = None) -> CollectionGraph:
    from shared.bootstrap import effective_settings
    from shared.calendar.graph_client import build_graph_client

    effective = effective_settings(settings, tables)
    return CollectionGraph(build_graph_client(_credential(effective), effective.graph_url))


@lru_cache(maxsize=4)
def _credential(effective: Settings) -> Any:
    """One credential per configuration and process: each queue task would otherwise read the secret
    from Key Vault and ask Entra for a token again. A changed configuration is a new key; a rotated
    secret is re-read by the credential itself (shared/identity.py)."""
    from shared.bootstrap import client_secret
    from shared.identity import build_credential

    secret = None if effective.auth_mode == "federated" else client_secret(effective)
    return build_credential(effective, secret)


@dataclass(frozen=True)
class Task:
    """A queue message: what to do for which organizer, and when the notification behind it arrived."""

    organizer: str
    kind: str
    at: datetime

    def text(self) -> str:
        return json.dumps({"organizer": self.organizer, "kind": self.kind, "at": self.at.isoformat()})

    @classmethod
    def parse(cls, text: str) -> Task:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("organizer"), str) or data.get("kind") not in KINDS:
            raise ValueError("not a response-collection task: needs organizer and kind")
        at = datetime.fromisoformat(str(data.get("at"))) if data.get("at") else datetime.now(UTC)
        return cls(data["organizer"].lower(), str(data["kind"]), at if at.tzinfo else at.replace(tzinfo=UTC))


def _run(graph: CollectionGraph, work: Callable[[CollectionGraph], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await work(graph)
        finally:
            await graph.aclose()

    return asyncio.run(main())


def _tables(settings: Settings, tables: Tables | None) -> Tables:
    return tables or Tables(table_service(settings), prefix=settings.table_prefix)


def run_upkeep(settings: Settings | None = None, *, tables: Tables | None = None,
               graph_factory: GraphFactory | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> UpkeepReport:
    """The `responses_upkeep` timer. With collection off and no subscription left, Graph is not contacted."""
    from shared.responses.state import CollectionState
    from shared.responses.upkeep import collection_on, upkeep

    settings = settings or Settings.from_env()
    tables = _tables(settings, tables)
    on, _effective = collection_on(settings, tables)
    if not on and not CollectionState(tables).subscriptions():
        for delta in CollectionState(tables).deltas():
            CollectionState(tables).drop_delta(delta.organizer)
        return UpkeepReport(False)
    graph = (graph_factory or (lambda: collection_graph(settings, tables)))()
    report = _run(graph, lambda g: upkeep(settings, tables, g, clock=clock))
    log.info("response collection upkeep: %s", report.describe())
    return report


def handle_task(body: str, settings: Settings | None = None, *, tables: Tables | None = None,
                graph_factory: GraphFactory | None = None,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Any:
    """The queue worker: read an organizer's changes, renew or recreate its subscription.

    Nothing happens while collection is off (a late notification after switching off).
    """
    from shared.responses.reading import ResponseReader
    from shared.responses.upkeep import Subscriptions, collection_on

    task = Task.parse(body)
    settings = settings or Settings.from_env()
    tables = _tables(settings, tables)
    on, effective = collection_on(settings, tables)
    if not on:
        log.info("response collection is off; a %s task for %s is dropped", task.kind, task.organizer)
        return None
    graph = (graph_factory or (lambda: collection_graph(settings, tables)))()

    async def work(g: CollectionGraph) -> Any:
        if task.kind in ("changes", "catchup"):
            reader = ResponseReader(effective, tables, g, clock=clock)
            return await reader.read(task.organizer, unless_read_since=task.at if task.kind == "changes" else None)
        manager = Subscriptions(effective, tables, g, clock=clock)
        if task.kind == "renew":
            return await manager.renew(task.organizer)
        return await manager.create(task.organizer)

    return _run(graph, work)


@dataclass(frozen=True)
class ReadNow:
    """What a report's read found: the organizers read, the answers that changed, what failed."""

    organizers: tuple[str, ...]
    changed: int
    problems: tuple[str, ...] = ()


def read_now(settings: Settings | None = None, *, tables: Tables | None = None,
             graph_factory: GraphFactory | None = None,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> ReadNow | None:
    """Read every organizer's changed answers before a report is made; None while collection is off.

    In Azure notifications and the upkeep timer keep the table current within minutes, but a
    report asked for right after an answer, or on a machine the notifications cannot reach
    (`learncal serve`, the CLI), would show an older state. A read of an organizer already read
    once costs one delta page when nothing changed, and sends no message. The organizers are
    the pool in force and every one read before (earlier organizers join at the upkeep timer,
    which finds them among the live invitations). A failure is reported, never raised: the
    report then shows what was recorded before.
    """
    from shared.responses.reading import ResponseReader
    from shared.responses.state import CollectionState
    from shared.responses.upkeep import collection_on

    settings = settings or Settings.from_env()
    tables = _tables(settings, tables)
    on, effective = collection_on(settings, tables)
    if not on:
        return None
    organizers = tuple(dict.fromkeys([o.lower() for o in effective.organizers]
                                     + [row.organizer.lower() for row in CollectionState(tables).deltas()]))
    if not organizers:
        return ReadNow((), 0)
    try:
        graph = (graph_factory or (lambda: collection_graph(settings, tables)))()
    except Exception as error:  # a configuration or secret problem: say so, report what is recorded
        return ReadNow(organizers, 0, (f"could not sign in to read the calendars: {error}",))

    async def work(g: CollectionGraph) -> ReadNow:
        reader = ResponseReader(effective, tables, g, clock=clock)
        changed = 0
        problems: list[str] = []
        for organizer in organizers:
            try:
                changed += len((await reader.read(organizer)).changed)
            except Exception as error:  # one mailbox failing leaves the others' answers current
                log.warning("reading %s's answers before a report failed: %s", organizer, error)
                problems.append(f"{organizer}: {error}")
        return ReadNow(organizers, changed, tuple(problems))

    return _run(graph, work)


class TaskQueue:
    """Sends tasks to the `learncal-responses` queue (created on first use)."""

    def __init__(self, settings: Settings, tables: Tables) -> None:
        from shared.queue.wakeup import queue_name

        self.settings = settings
        self.name = queue_name(tables, RESPONSES_QUEUE)
        self._client: Any = None

    def send(self, task: Task, *, delay: int = 0) -> None:
        from shared.queue.wakeup import _created
        from shared.store.services import queue_client

        if self._client is None:
            self._client = _created(queue_client(self.settings, self.name))
        self._client.send_message(task.text(), visibility_timeout=max(0, delay))

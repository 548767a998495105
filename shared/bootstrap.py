"""Builds the services from settings; the one place the functions, the CLI and the tests start from.

Heavy clients (msgraph-sdk, azure-identity) are created only when a run actually talks to
Graph, which keeps the function app's cold start small and lets an inactive run make no
request at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.calendar.gateway import CalendarGateway
from shared.errors import LearncalError
from shared.queue.wakeup import WakeUps
from shared.queue.work import WorkStore
from shared.settings import Settings
from shared.store.allowance import AllowanceStore
from shared.store.lease import LeaseStore
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import TableSendLog
from shared.store.tables import Tables, table_service
from shared.sync.service import ProviderView, SyncService
from shared.sync.summary import RunSummary

if TYPE_CHECKING:
    from shared.runs.requests import RunQueue, RunRequests, RunTicket
    from shared.sync.service import SyncRequest
    from shared.templates.model import TemplateSet

log = logging.getLogger("learncal")


@dataclass
class App:
    settings: Settings
    tables: Tables
    sync: SyncService
    offerings: OfferingStore
    runs: RunStore
    mapping: TableMappingStore
    run_queue: RunQueue | None = None  # the `learncal-runs` queue unless a caller brings its own

    @property
    def requests(self) -> RunRequests:
        """Requests runs under the one coalescing rule (shared/runs/requests.py)."""
        from shared.runs.requests import RunRequests, StorageRunQueue

        if self.run_queue is None:
            self.run_queue = StorageRunQueue(self.settings, self.tables)
        return RunRequests(self.tables, self.runs, self.run_queue)

    def request_run(self, request: SyncRequest, *, started_by: str) -> RunTicket:
        return self.requests.request(request, started_by=started_by)


def client_secret(settings: Settings) -> str | None:
    """The client secret: Key Vault in production, the environment for local development."""
    if settings.key_vault_url:
        from shared.secrets import KeyVaultSecret

        return KeyVaultSecret.for_settings(settings).value()
    return settings.client_secret


def effective_settings(settings: Settings, tables: Tables | None) -> Settings:
    """The stored provider configuration wins once saved; until then the environment applies."""
    if tables is None:
        return settings
    from shared.provider.service import ProviderService

    return ProviderService(settings, tables).effective_settings()


def make_gateway_factory(settings: Settings, tables: Tables | None = None) -> Callable[[], CalendarGateway]:
    """Signs in with the tenant, app and auth mode in force when the run starts talking to Graph."""

    def factory() -> CalendarGateway:
        from shared.calendar.graph_client import build_graph_client
        from shared.calendar.graph_gateway import GraphCalendar
        from shared.identity import build_credential

        effective = effective_settings(settings, tables)
        secret = None if effective.auth_mode == "federated" else client_secret(effective)
        credential = build_credential(effective, secret)
        return GraphCalendar(build_graph_client(credential, effective.graph_url))

    return factory


def provider_view(settings: Settings, tables: Tables) -> Callable[[], ProviderView]:
    def view() -> ProviderView:
        from shared.errors import ConfigurationError
        from shared.provider.service import ProviderService

        service = ProviderService(settings, tables)
        problem = service.allowlists().problem()
        if problem:  # an empty list would mean everyone: never run with lists that share nobody
            raise ConfigurationError(problem)
        config = service.current()[0]
        effective = service.effective_settings()
        return ProviderView(effective.status, effective.organizer, effective.recipient_allowlist,
                            organizers=effective.organizers, default_language=config.default_language,
                            request_responses=effective.request_responses)

    return view


def templates_in_force(tables: Tables) -> Callable[[str], TemplateSet]:
    """The invitation templates a run renders with: the built-in texts under the newest stored versions."""

    def current(default_language: str) -> TemplateSet:
        from shared.store.templates import TemplateStore

        return TemplateStore(tables).current(default_language)

    return current


def build(
    settings: Settings | None = None,
    *,
    gateway_factory: Callable[[], CalendarGateway] | None = None,
    tables: Tables | None = None,
    progress: Callable[[str], None] | None = None,
    **overrides: Any,
) -> App:
    from shared.feed.dropfeeds import DropFeeds
    from shared.feed.reader import read_feed

    settings = settings or Settings.from_env()
    tables = tables or Tables(table_service(settings), prefix=settings.table_prefix)
    mapping = TableMappingStore(tables)
    offerings = OfferingStore(tables)
    runs = RunStore(tables)
    run_queue = overrides.pop("run_queue", None)
    service = SyncService(
        settings,
        mapping=mapping,
        offerings=offerings,
        runs=runs,
        leases=overrides.pop("leases", None) or LeaseStore(tables),
        gateway_factory=gateway_factory or make_gateway_factory(settings, tables),
        read_feed=read_feed,
        provider=overrides.pop("provider", None) or provider_view(settings, tables),
        progress=progress,
        send_log=overrides.pop("send_log", None) or TableSendLog(tables),
        allowances=overrides.pop("allowances", None) or AllowanceStore(tables),
        drop=overrides.pop("drop", None) or DropFeeds(settings, tables),
        work=WorkStore(tables),
        wakeups=overrides.pop("wakeups", None) or WakeUps(settings, tables),
        templates=overrides.pop("templates", None) or templates_in_force(tables),
        **overrides,
    )
    return App(settings, tables, service, offerings, runs, mapping, run_queue)


def request_run(request: SyncRequest, *, started_by: str, app: App | None = None) -> RunTicket:
    """Ask for a run through the run queue: a new run, or the follow-up already waiting (coalesced).

    `started_by` names who asked: a principal, or the trigger ("timer", "feed:<blob name>").
    The run itself is performed by the `run_worker` function (or `learncal serve`'s queue host).
    """
    return (app or build()).request_run(request, started_by=started_by)


class ScheduledRunFailed(LearncalError):
    """Raised by the timer so the Functions host marks the invocation failed (and Application Insights counts it)."""


def scheduled_run(settings: Settings | None = None, **options: Any) -> RunSummary | None:
    """One scheduled run with the records the alert rules select (shared.monitoring).

    While another run is planning, the scheduled run is coalesced like any request (it joins
    the follow-up run, which starts when that run ends) and None is returned. A failed run
    raises ScheduledRunFailed after logging; a run that completed with errors or rejections
    logs a warning with its counts. `options` go to build() (tests pass a clock).
    """
    from shared import monitoring
    from shared.runs.perform import run_now
    from shared.sync.service import SyncRequest

    try:
        app = build(settings, **options)
    except Exception as error:  # storage unreachable, settings malformed: no run could start
        monitoring.report_unstarted(error)
        raise
    ticket, summary = run_now(app, SyncRequest(via="timer"), started_by="timer")
    _check_secret_expiry(app)
    if summary is None:
        log.info("A run is in progress, so this scheduled run was coalesced into run %s, which starts when it "
                 "ends.", ticket.run_id)
        return None
    if summary.status == "failed" and summary.failure != "RunInProgress":
        raise ScheduledRunFailed(f"{monitoring.RUN_FAILED} run_id={summary.run_id}: {summary.message}")
    return summary


MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount


def send_queued(body: str, *, dequeue_count: int = 1, settings: Settings | None = None, **options: Any) -> Any:
    """The send worker: drain one organizer's queued work (the message names whom), then put the next
    wake-up on the queue for when the budget has room again, if work is left.

    A failure raises, so the host makes the message visible again and, after its fifth attempt,
    moves it to the poison queue (the last attempt logs the poison record first).
    """
    from shared import monitoring
    from shared.queue.wakeup import WakeUp

    try:
        wake = WakeUp.parse(body)
    except ValueError as error:
        monitoring.report_poison(None, run_id=None, dequeue_count=dequeue_count, error=error)
        raise
    try:
        app = build(settings, **options)
        result = app.sync.send_queued(wake.organizer, wake.run_id)
    except Exception as error:
        if dequeue_count >= MAX_DEQUEUE_COUNT:
            monitoring.report_poison(wake.organizer, run_id=wake.run_id, dequeue_count=dequeue_count, error=error)
        raise
    monitoring.report_drain(result, run_id=wake.run_id)
    return result


def report_run_records(app: App, summary: RunSummary) -> list[str]:
    """The alert records of one finished run (any entry point may log them; the timer does)."""
    from shared import monitoring

    if summary.dry_run:
        return []
    return monitoring.report_run(summary, applied_before=_feed_applied(app),
                                 earlier=_earlier_rejections(app, summary))


def _feed_applied(app: App) -> bool | None:
    """Whether any run has applied a feed: offering rows exist only after a completed run."""
    try:
        rows = app.tables["offerings"].query_entities("PartitionKey eq @pk", parameters={"pk": "offering"},
                                                      results_per_page=1, select=["PartitionKey"])
        return next(iter(rows), None) is not None
    except Exception:  # the run's own outcome is already logged; this only qualifies it
        log.warning("could not tell whether a feed was applied before", exc_info=True)
        return None


def _earlier_rejections(app: App, summary: RunSummary) -> set[str] | None:
    from shared import monitoring

    if not summary.rejected:
        return None
    try:
        return monitoring.previous_fingerprints(app.runs.recent(10), summary.run_id)
    except Exception:
        log.warning("could not read the previous run's rejections", exc_info=True)
        return None


def _check_secret_expiry(app: App) -> None:
    """Log the expiring-secret record when the Key Vault secret's recorded end date is near."""
    from shared import monitoring
    from shared.secrets import KeyVaultSecret, SecretUnavailable

    try:
        effective = effective_settings(app.settings, app.tables)
    except Exception:
        effective = app.settings
    if effective.auth_mode != "secret" or not effective.key_vault_url:
        return
    source = KeyVaultSecret.for_settings(effective)
    try:
        version = source.read(refresh=True)  # one read an hour; a rotated secret is seen at once
    except SecretUnavailable as error:
        log.warning("could not read the client secret's expiry: %s", error)
        return
    monitoring.report_secret_expiry(version.expires_on, datetime.now(UTC), where=source.where)

"""Builds the services from settings; the one place the functions, the CLI and the tests start from.

Heavy clients (msgraph-sdk, azure-identity) are created only when a run actually talks to
Graph, which keeps the function app's cold start small and lets an inactive run make no
request at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.calendar.gateway import CalendarGateway
from shared.settings import Settings
from shared.store.allowance import AllowanceStore
from shared.store.lease import LeaseStore
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import TableSendLog
from shared.store.tables import Tables, table_service
from shared.sync.service import ProviderView, SyncService


@dataclass
class App:
    settings: Settings
    tables: Tables
    sync: SyncService
    offerings: OfferingStore
    runs: RunStore
    mapping: TableMappingStore


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
        effective = service.effective_settings()
        return ProviderView(effective.status, effective.organizer, effective.recipient_allowlist)

    return view


def build(
    settings: Settings | None = None,
    *,
    gateway_factory: Callable[[], CalendarGateway] | None = None,
    tables: Tables | None = None,
    progress: Callable[[str], None] | None = None,
    **overrides: Any,
) -> App:
    from shared.feed.reader import read_feed

    settings = settings or Settings.from_env()
    tables = tables or Tables(table_service(settings), prefix=settings.table_prefix)
    mapping = TableMappingStore(tables)
    offerings = OfferingStore(tables)
    runs = RunStore(tables)
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
        **overrides,
    )
    return App(settings, tables, service, offerings, runs, mapping)

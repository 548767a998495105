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
from shared.store.lease import LeaseStore
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingStore
from shared.store.runs import RunStore
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


def make_gateway_factory(settings: Settings) -> Callable[[], CalendarGateway]:
    def factory() -> CalendarGateway:
        from shared.calendar.graph_client import build_graph_client
        from shared.calendar.graph_gateway import GraphCalendar
        from shared.identity import build_credential

        secret = None if settings.auth_mode == "federated" else client_secret(settings)
        credential = build_credential(settings, secret)
        return GraphCalendar(build_graph_client(credential, settings.graph_url))

    return factory


def provider_view(settings: Settings, tables: Tables) -> Callable[[], ProviderView]:
    """The stored provider configuration wins once saved; until then the environment applies."""

    def view() -> ProviderView:
        from shared.provider.store import ProviderStore

        stored = ProviderStore(tables).load()
        if stored is None:
            return ProviderView(settings.status, settings.organizer, settings.recipient_allowlist)
        return ProviderView(stored.status, stored.organizer, tuple(stored.recipient_allowlist))

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
        leases=LeaseStore(tables),
        gateway_factory=gateway_factory or make_gateway_factory(settings),
        read_feed=read_feed,
        provider=overrides.pop("provider", None) or provider_view(settings, tables),
        progress=progress,
        **overrides,
    )
    return App(settings, tables, service, offerings, runs, mapping)

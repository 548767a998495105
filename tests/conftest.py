"""Shared fixtures: real Azurite (Table Storage) and the real sandbox, started once per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.local.azurite import RunningAzurite, start_azurite
from shared.local.sandbox_process import sandbox_process as run_sandbox_process
from shared.settings import Settings
from shared.store.tables import Tables, table_service
from tests.support.world import World


@pytest.fixture(autouse=True)
def fresh_key_vault_challenges() -> None:
    """Each test meets its Key Vault's sign-in challenge afresh.

    azure-keyvault caches every vault's challenge (which tenant to sign in to) by host and port for
    the life of the process. A sandbox started by a later test module can be given a port an earlier
    one used, with a tenant of its own; the stale challenge would send the client to the wrong tenant.
    """
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()


@pytest.fixture(scope="session")
def azurite() -> Iterator[RunningAzurite]:
    with start_azurite() as running:
        yield running


@pytest.fixture
def tables(azurite: RunningAzurite) -> Tables:
    """A fresh set of tables per test (a unique prefix), so tests never see each other's rows."""
    settings = Settings.from_env({"AzureWebJobsStorage": azurite.connection_string})
    return Tables(table_service(settings), prefix="T" + uuid.uuid4().hex[:10])


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`learncal sandbox` as its own process; its start line (URLs, credentials, CA file)."""
    with run_sandbox_process(tmp_path_factory.mktemp("sandbox")) as info:
        yield info


@pytest.fixture
def world(sandbox_process: dict[str, Any], azurite: RunningAzurite, tmp_path: Path) -> World:
    """A fresh installation over a reset sandbox: empty calendars, default limits, empty tables."""
    created = World(sandbox_process, azurite.connection_string, tmp_path)
    created.reset_sandbox()
    return created

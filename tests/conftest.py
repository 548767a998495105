"""Shared fixtures: real Azurite (Table Storage) and the real sandbox, started once per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.local.azurite import RunningAzurite, start_azurite
from shared.settings import Settings
from shared.store.tables import Tables, table_service


@pytest.fixture(scope="session")
def azurite() -> Iterator[RunningAzurite]:
    with start_azurite() as running:
        yield running


@pytest.fixture
def tables(azurite: RunningAzurite) -> Tables:
    """A fresh set of tables per test (a unique prefix), so tests never see each other's rows."""
    settings = Settings.from_env({"AzureWebJobsStorage": azurite.connection_string})
    return Tables(table_service(settings), prefix="T" + uuid.uuid4().hex[:10])

"""Integration fixtures: one sandbox for the session, reset before each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest_sandbox import Harness, harness_for


@pytest.fixture(scope="session")
def sandbox_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from harness_for(tmp_path_factory)


@pytest.fixture
def sandbox(sandbox_harness: Harness) -> Harness:
    """Empty mailboxes, the default tenant, app and limits; ids and the client secret stay."""
    sandbox_harness.admin.reset()
    return sandbox_harness

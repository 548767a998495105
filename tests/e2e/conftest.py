"""End-to-end fixtures: `learncal sandbox` as its own process (as users and acceptance suites run it)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.local.azurite import RunningAzurite
from tests.support.world import ROOT, World


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("sandbox")
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "sandbox", "--data", str(data), "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("learncal sandbox exited before printing its first line")
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def world(sandbox_process: dict[str, Any], azurite: RunningAzurite, tmp_path: Path) -> Iterator[World]:
    """A fresh installation over a reset sandbox: empty calendars, empty tables."""
    created = World(sandbox_process, azurite.connection_string, tmp_path)
    created.reset_sandbox()
    yield created
    created.inspector.close()

"""Runs `learncal sandbox` as its own process, the way users and acceptance suites run it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[2]


@contextmanager
def sandbox_process(data: Path, *, port: int = 0, profile: Path | None = None,
                    organizers: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield the sandbox's start line (URLs, credentials, CA file); stop the process afterwards.

    `profile`: a tenant profile (`learncal sandbox --profile FILE`) whose realism is in force.
    """
    extra = ["--profile", str(profile)] if profile is not None else []
    if organizers is not None:
        extra += ["--organizers", str(organizers)]
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "sandbox", "--data", str(data), "--port", str(port), *extra],
        cwd=_REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"learncal sandbox exited (code {process.wait()}) before printing its start line")
        yield dict(json.loads(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

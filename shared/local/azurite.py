"""Starts Azurite's table service (the Azure Storage emulator) on a free port, and stops it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from shared.errors import ConfigurationError
from shared.local.ports import free_port, wait_for_port
from shared.settings import DEVELOPMENT_STORAGE

_REPO = Path(__file__).resolve().parents[2]


def azurite_command() -> str:
    """Azurite from LEARNCAL_AZURITE, the project's node_modules, or PATH."""
    candidates = [
        os.environ.get("LEARNCAL_AZURITE"),
        str(Path.cwd() / "node_modules" / ".bin" / "azurite-table"),
        str(_REPO / "node_modules" / ".bin" / "azurite-table"),
        shutil.which("azurite-table"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "Azurite (the local Azure Storage emulator) was not found. Run `npm ci` in the project folder "
        "(`make demo` and `make test` do this), or set LEARNCAL_AZURITE to the azurite-table command."
    )


@dataclass
class RunningAzurite:
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def connection_string(self) -> str:
        return DEVELOPMENT_STORAGE.replace("127.0.0.1:10002", f"127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RunningAzurite:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_azurite(*, port: int | None = None, timeout: float = 30.0) -> RunningAzurite:
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="learncal-azurite-"))
    process = subprocess.Popen(
        [
            azurite_command(), "--tableHost", "127.0.0.1", "--tablePort", str(port),
            "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--disableTelemetry",
        ],
        cwd=workdir,  # Azurite writes its debug and extent files under the working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = RunningAzurite(process, port, workdir)
    try:
        wait_for_port(port, timeout=timeout, alive=lambda: process.poll() is None)
    except BaseException:
        running.stop()
        raise
    return running

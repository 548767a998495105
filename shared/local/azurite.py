"""Starts Azurite (the Azure Storage emulator: blob, queue and table services) on free ports, and stops it."""

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
    """Azurite (all three services) from LEARNCAL_AZURITE, the project's node_modules, or PATH."""
    candidates = [
        os.environ.get("LEARNCAL_AZURITE"),
        str(Path.cwd() / "node_modules" / ".bin" / "azurite"),
        str(_REPO / "node_modules" / ".bin" / "azurite"),
        shutil.which("azurite"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "Azurite (the local Azure Storage emulator) was not found. Run `npm ci` in the project folder "
        "(`make demo` and `make test` do this), or set LEARNCAL_AZURITE to the azurite command."
    )


@dataclass
class RunningAzurite:
    process: subprocess.Popen[bytes]
    port: int  # the table service's
    workdir: Path
    queue_port: int = 0
    blob_port: int = 0

    @property
    def connection_string(self) -> str:
        """Azurite's well-known development account, with this instance's three endpoints."""
        return (
            DEVELOPMENT_STORAGE.replace("127.0.0.1:10002", f"127.0.0.1:{self.port}")
            .replace("127.0.0.1:10001", f"127.0.0.1:{self.queue_port}")
            .replace("127.0.0.1:10000", f"127.0.0.1:{self.blob_port}")
        )

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
    """Azurite on loopback; `port` fixes the table service's port (the others are always free ones)."""
    port = port or free_port()
    queue_port, blob_port = free_port(), free_port()
    while len({port, queue_port, blob_port}) < 3:  # free_port may hand out one port twice before it is bound
        queue_port, blob_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="learncal-azurite-"))
    process = subprocess.Popen(
        [
            azurite_command(),
            "--tableHost", "127.0.0.1", "--tablePort", str(port),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
            "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
            "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
        ],
        cwd=workdir,  # Azurite writes its debug and extent files under the working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = RunningAzurite(process, port, workdir, queue_port=queue_port, blob_port=blob_port)
    try:
        for each in (port, queue_port, blob_port):
            wait_for_port(each, timeout=timeout, alive=lambda: process.poll() is None)
    except BaseException:
        running.stop()
        raise
    return running

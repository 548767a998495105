"""A client that connects and never speaks must not stall anyone else (killed runs leave such sockets)."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import httpx

from shared import sandbox


def test_an_idle_connection_does_not_block_other_clients(tmp_path: Path) -> None:
    with sandbox.start(tmp_path) as running:
        port = int(running.info["graphUrl"].rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)):
            started = time.perf_counter()
            response = httpx.get(
                running.info["graphUrl"].rsplit("/v1.0", 1)[0] + "/_sandbox/stats",
                verify=ssl.create_default_context(cafile=running.info["caFile"]),
                timeout=10,
            )
            assert response.status_code == 200
            assert time.perf_counter() - started < 2.0

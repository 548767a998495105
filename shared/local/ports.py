"""Free loopback ports and waiting for a server to listen."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, alive: object = None) -> None:
    """Return once something accepts connections on the port; fail clearly after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and callable(alive) and not alive():
            raise RuntimeError(f"The server meant to listen on port {port} exited before it started.")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"Nothing listened on 127.0.0.1:{port} within {timeout:.0f} s.")

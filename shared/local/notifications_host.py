"""The function app's notification endpoints on this machine, over HTTPS, for Graph (the sandbox) to call.

Microsoft Graph delivers change notifications only to an https notificationUrl
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so the local stand-in
serves the app's registered HTTP functions (shared/local/serve.py's host, the same routes the
Functions host answers) with TLS, on loopback, and runs the `learncal-responses` queue function
under the local queue host, as the Functions host would. The tests and the benchmark use it
with the sandbox's certificate (issued for 127.0.0.1 by the CA the sandbox trusts).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from shared.settings import Settings


@dataclass
class NotificationHost:
    url: str  # https://127.0.0.1:PORT: LEARNCAL_PUBLIC_URL for this host
    queue_host: Any | None = None


def server_context(certificate_chain: Path) -> ssl.SSLContext:
    """A TLS server context from a PEM file holding the private key followed by the certificate chain."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate_chain))
    return context


@contextmanager
def notifications_host(
    certificate_chain: Path, *, settings: Settings | None = None,
    worker: Callable[[Any], None] | None = None, polling: float = 0.5,
) -> Iterator[NotificationHost]:
    """Serve the function app's HTTP routes over HTTPS on 127.0.0.1, and (with `settings`) the
    responses queue function; yields the base URL. `worker` replaces the responses_worker consumer
    of shared/local/functions.py (the benchmark passes one of its own)."""
    from shared.local.serve import load_function_app, make_host

    app = load_function_app()
    host = make_host(app.app)
    server = make_server("127.0.0.1", 0, host, threaded=True, ssl_context=server_context(certificate_chain))
    thread = threading.Thread(target=server.serve_forever, name="learncal-notifications", daemon=True)
    thread.start()
    queue_host = None
    try:
        if settings is not None:
            from shared.local.functions import local_functions
            from shared.local.queue_host import HostOptions, QueueHost
            from shared.queue.names import RESPONSES_QUEUE, queue_name

            name = queue_name(settings.table_prefix, RESPONSES_QUEUE)
            handler = worker or local_functions(settings)[name]
            queue_host = QueueHost(settings, {name: handler},
                                   HostOptions(max_polling_interval=polling, min_polling_interval=0.05))
            queue_host.start()
        yield NotificationHost(f"https://127.0.0.1:{server.port}", queue_host)
    finally:
        if queue_host is not None:
            queue_host.stop()
        with contextlib.suppress(Exception):
            server.shutdown()

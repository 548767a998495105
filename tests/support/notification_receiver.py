"""A subscriber's endpoint for the sandbox's change notifications, served over HTTPS in a test.

It answers the validation handshake as learn.microsoft.com/graph/change-notifications-delivery-webhooks
asks (200, text/plain, the decoded token) or, on purpose, wrongly or too slowly, and records every
notification it receives. Its certificate is issued by the sandbox's own CA, which the sandbox trusts.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.sandbox.certs import issue_certificate


@dataclass
class Receiver:
    base_url: str = ""
    validation: str = "echo"  # echo | wrong | plain-json (right token, wrong content type)
    validation_delay: float = 0.0
    notification_delay: float = 0.0
    fail_next: int = 0  # answer this many notifications with 500 first
    validations: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)  # {"path", "body"}
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/notify") -> str:
        return self.base_url + path

    def app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            with self._lock:
                self.validations.append({"path": request.path, "token": token,
                                         "contentType": request.headers.get("Content-Type", "")})
            time.sleep(self.validation_delay)
            if self.validation == "wrong":
                return Response("not the token", mimetype="text/plain")(environ, start_response)
            if self.validation == "plain-json":
                return Response(json.dumps(token), mimetype="application/json")(environ, start_response)
            return Response(token, mimetype="text/plain")(environ, start_response)
        time.sleep(self.notification_delay)
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("busy", status=500)(environ, start_response)
            self.received.append({"path": request.path, "body": json.loads(request.get_data() or b"{}")})
        return Response(status=202)(environ, start_response)

    def notifications(self, path: str = "/notify") -> list[dict[str, Any]]:
        with self._lock:
            return [item for r in self.received if r["path"] == path for item in r["body"]["value"]]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@contextmanager
def receiver(sandbox_data_dir: Path | None, workdir: Path) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1: HTTPS with a certificate from the sandbox's CA, or plain HTTP when no data dir."""
    found = Receiver()
    context = None
    if sandbox_data_dir is not None:
        cert = issue_certificate(sandbox_data_dir, ["127.0.0.1", "localhost"], workdir / "receiver.pem")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert))
    server = make_server("127.0.0.1", 0, found.app, threaded=True, ssl_context=context)
    found.base_url = f"{'https' if context else 'http'}://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""The HTTPS server: one port, paths keep sign-in, Graph, Key Vault and /_sandbox apart.

Runs werkzeug's threaded server with the data directory's certificate, either in a
background thread (`start`, for tests and the demo) or in the foreground until SIGINT or
SIGTERM (`serve`, for `learncal sandbox`). The first stdout line of `serve` is the JSON that
clients configure themselves from.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from shared.sandbox.admin import Admin
from shared.sandbox.authority import Authority
from shared.sandbox.batch import BatchRunner
from shared.sandbox.certs import ensure_certificates
from shared.sandbox.core import Endpoints, Sandbox
from shared.sandbox.graph_api import GraphService
from shared.sandbox.graph_http import JSON_TYPE, GraphRequest
from shared.sandbox.inspection import Inspection
from shared.sandbox.keyvault import KeyVaultApi
from shared.sandbox.profile import load_profile
from shared.sandbox.web import BadInput, json_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("shared.sandbox")

DEFAULT_DATA_DIR = Path(".learncal") / "sandbox"
CERT_NAMES = ["127.0.0.1", "localhost", "::1"]

_ROUTES = Map([
    Rule("/_sandbox/info", endpoint="info", methods=["GET"]),
    Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
    Rule("/_sandbox/stats/reset", endpoint="reset_stats", methods=["POST"]),
    Rule("/_sandbox/reset", endpoint="reset", methods=["POST"]),
    Rule("/_sandbox/config", endpoint="config", methods=["GET", "PUT", "PATCH"]),
    Rule("/_sandbox/mailboxes", endpoint="mailboxes", methods=["GET"]),
    Rule("/_sandbox/mailboxes/<address>/calendar", endpoint="calendar", methods=["GET"]),
    Rule("/_sandbox/mailboxes/<address>/messages", endpoint="messages", methods=["GET"]),
    Rule("/_sandbox/mailboxes/<address>/respond", endpoint="respond", methods=["POST"]),
    Rule("/_sandbox/subscriptions", endpoint="subscriptions", methods=["GET"]),
    Rule("/_sandbox/subscriptions/<subscription_id>", endpoint="remove_subscription", methods=["DELETE"]),
    Rule("/_sandbox/subscriptions/<subscription_id>/lifecycle", endpoint="lifecycle", methods=["POST"]),
    Rule("/_sandbox/users", endpoint="users", methods=["GET"]),
    Rule("/_sandbox/users/<address>", endpoint="user", methods=["PUT", "PATCH", "DELETE"]),
    Rule("/_sandbox/apps", endpoint="apps", methods=["GET"]),
    Rule("/_sandbox/apps/<client_id>", endpoint="app", methods=["PUT", "PATCH"]),
    Rule("/_sandbox/apps/<client_id>/secrets", endpoint="add_secret", methods=["POST"]),
    Rule("/_sandbox/vault/secrets/<name>", endpoint="vault_secret", methods=["PUT"]),
    Rule("/_sandbox/federated-assertion", endpoint="federated_assertion", methods=["POST"]),
    Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
    Rule("/<tenant>/discovery/v2.0/keys", endpoint="keys", methods=["GET"]),
    Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
], strict_slashes=False)


class SandboxApp:
    """The WSGI application: dispatch by path, answer in JSON, log one line per request."""

    def __init__(self, sandbox: Sandbox, log_stream: IO[str] | None = None) -> None:
        self.sandbox = sandbox
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        authority = Authority(sandbox)
        inspection = Inspection(sandbox)
        admin = Admin(sandbox, authority)
        self._graph = GraphService(sandbox)
        self._batches = BatchRunner(self._graph)
        self._keyvault = KeyVaultApi(sandbox)
        self._handlers: dict[str, Callable[..., Response]] = {
            "info": inspection.info, "stats": inspection.stats, "mailboxes": inspection.mailboxes,
            "calendar": inspection.calendar, "messages": inspection.messages,
            "reset_stats": admin.reset_stats, "reset": admin.reset, "config": admin.config, "users": admin.users,
            "user": admin.user, "apps": admin.apps, "app": admin.app, "add_secret": admin.add_secret,
            "vault_secret": admin.vault_secret, "federated_assertion": admin.federated_assertion,
            "respond": admin.respond, "subscriptions": inspection.subscriptions,
            "remove_subscription": admin.remove_subscription, "lifecycle": admin.lifecycle,
            "discovery": authority.discovery, "keys": authority.keys, "token": authority.token,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        try:
            response = self._dispatch(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = json_response(500, {"error": "internal error in the sandbox; see its log"})
        self._log(request, response.status_code, time.monotonic() - started)
        return response(environ, start_response)

    def close(self) -> None:
        self._batches.close()

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path == "/v1.0" or path.startswith("/v1.0/"):
            return self._graph_http(request)
        if path == "/secrets" or path.startswith("/secrets/"):
            return self._keyvault(request)
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
            return self._handlers[str(endpoint)](request, **args)
        except BadInput as error:
            return json_response(400, {"error": str(error)})
        except HTTPException as error:
            return json_response(error.code or 404, {"error": error.description or error.name})

    def _graph_http(self, request: Request) -> Response:
        graph_request = GraphRequest(
            method=request.method, path=request.path[len("/v1.0"):] or "/", query=request.args.to_dict(),
            headers=request.headers, body=request.get_data(), base_url=request.host_url.rstrip("/") + "/v1.0")
        if graph_request.path == "/$batch" and request.method == "POST":
            self.sandbox.stats.add("batches")
            result = self._batches.run(graph_request)
        else:
            result = self._graph.handle(graph_request)
        headers = {"OData-Version": "4.0", **result.headers}
        if result.body is None:
            return Response(status=result.status, headers=headers)
        return Response(result.payload(), status=result.status, headers=headers, content_type=JSON_TYPE)

    def _log(self, request: Request, status: int, seconds: float) -> None:
        # The path only: query strings and bodies may carry personal data, and bodies carry secrets.
        if self._log_stream is None:
            return
        stamp = time.strftime("%H:%M:%S")
        with self._log_lock:
            self._log_stream.write(f"{stamp} {request.method} {request.path} {status} {seconds * 1000:.0f}ms\n")
            self._log_stream.flush()


class _QuietHandler(WSGIRequestHandler):
    """Request lines are logged by SandboxApp; werkzeug's own lines would repeat them.

    Nagle's algorithm is off: headers and body go out in separate small writes, and waiting
    for the client's delayed ACK in between costs several milliseconds per request.
    """

    disable_nagle_algorithm = True
    timeout = 30  # a client that connects and never speaks frees its thread after this long

    def setup(self) -> None:
        # The TLS handshake happens here, on this connection's own thread: done on the
        # accepting thread, one idle client would stall every other connection.
        self.request.settimeout(self.timeout)
        try:
            self.request.do_handshake()
        except (OSError, ValueError):
            self.request.close()
            raise
        super().setup()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class RunningSandbox:
    """A sandbox serving from a background thread; `info` is the start line as a dict."""

    def __init__(self, sandbox: Sandbox, app: SandboxApp, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self.sandbox = sandbox
        self._app = app
        self.info: dict[str, Any] = sandbox.info()
        self._server = server
        self._thread = thread
        self._stopped = False

    @property
    def base_url(self) -> str:
        return self.sandbox.endpoints.base_url

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._app.close()
        self.sandbox.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def _quiet_disconnects(original: Any) -> Any:
    """A client that hangs up mid-handshake is normal (timeouts, killed runs), not a server error."""

    def handle_error(request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return
        original(request, client_address)

    return handle_error


def start(data_dir: Path, port: int = 0, host: str = "127.0.0.1", *,
          log_stream: IO[str] | None = None, profile: Path | None = None,
          organizers: int | None = None) -> RunningSandbox:
    """Serve the sandbox from a background thread until `.stop()`.

    `profile`: a tenant profile whose `realism` is applied as `PATCH /_sandbox/config` would
    (raises ProfileError, naming the file and key, before anything starts). `organizers`: how
    many organizer mailboxes the tenant has (kept in the data directory, restored by a reset).
    """
    data_dir = Path(data_dir)
    realism = load_profile(profile) if profile is not None else None
    advertised = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    names = CERT_NAMES + ([advertised] if advertised not in CERT_NAMES else [])
    certificates = ensure_certificates(data_dir, names)
    sandbox = Sandbox(data_dir)
    try:
        if realism is not None:
            sandbox.apply_profile(realism)
        if organizers is not None:
            sandbox.directory.set_organizer_pool(organizers)
        app = SandboxApp(sandbox, log_stream)
        server = make_server(host, port, app, threaded=True,
                             request_handler=_QuietHandler)
        context = certificates.server_context()
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.ssl_context = context
        server.handle_error = _quiet_disconnects(server.handle_error)  # type: ignore[method-assign]
    except BaseException:
        sandbox.close()
        raise
    sandbox.endpoints = Endpoints(advertised, server.server_port)
    # A short poll interval keeps stop() quick; the loop is idle-cheap either way.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="learncal-sandbox", daemon=True)
    thread.start()
    return RunningSandbox(sandbox, app, server, thread)


def serve(data_dir: Path = DEFAULT_DATA_DIR, port: int = 0, host: str = "127.0.0.1", *,
          profile: Path | None = None, organizers: int | None = None) -> None:
    """Serve in the foreground: print the start line, log requests to stderr, stop on SIGINT or SIGTERM."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    running = start(data_dir, port, host, log_stream=sys.stderr, profile=profile, organizers=organizers)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sys.stdout.write(json.dumps(running.info) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""`learncal serve`: the function app's HTTP routes and the console on this machine.

Azure Functions Core Tools cannot be installed everywhere, so this host runs the registered
HTTP functions on werkzeug: it turns each request into an `azure.functions.HttpRequest` the
way the host does (route values from the route template, query values, headers, body) and
the function's `HttpResponse` back. The routes come from the app's decorators
(shared/local/routes.py). Queue-triggered functions run through the local queue host when it
is available. Local sign-in (shared/local/signin.py) stands in for App Service Authentication;
the admin code trusts it only because this process sets LEARNCAL_LOCAL_SIGN_IN=true, which
the product ignores on an App Service. It listens on loopback only.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import azure.functions as func
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.local.routes import HttpRoute, http_routes, queue_functions, route_prefix, url_map
from shared.local.signin import COOKIE, USERS, LocalUser, Sessions, login_page, me, principal_headers, safe_redirect

log = logging.getLogger("learncal.serve")
REPO = Path(__file__).resolve().parents[2]

HOST = "127.0.0.1"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
STRIPPED_PREFIXES = ("x-ms-client-principal", "x-ms-token-")
SIGN_IN_PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@dataclass
class FunctionHost:
    """A WSGI application answering the app's HTTP routes, with local sign-in in front."""

    routes: list[HttpRoute]
    prefix: str = "api"
    sessions: Sessions = field(default_factory=Sessions)
    secure_cookie: bool = False
    _map: Map = field(init=False)

    def __post_init__(self) -> None:
        self._map = url_map(self.routes, self.prefix)
        self.console_path = f"/{self.prefix}/console/" if self.prefix else "/console/"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self.respond(request)
        except HTTPException as error:
            response = Response(json.dumps({"status": error.code, "title": error.name}), status=error.code or 500,
                                mimetype="application/problem+json")
            if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
        return response(environ, start_response)

    # -- requests ------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        # A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) would be same-origin with
        # this server; answering only loopback names keeps such a page from signing in and driving the API.
        if request.host.rsplit(":", 1)[0].strip("[]").lower() not in LOOPBACK_NAMES:
            return Response("This local server answers only to 127.0.0.1 and localhost.", status=421,
                            mimetype="text/plain")
        path = request.path
        if path == "/" and request.method in ("GET", "HEAD"):
            return _redirect(self.console_path)
        if path.startswith("/.auth/"):
            return self._auth(request)
        adapter = self._map.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        route = self.routes[int(endpoint)]
        user = self.sessions.read(request.cookies.get(COOKIE))
        if user is None and self._is_console_page(request):
            return _redirect("/.auth/login?post_login_redirect_uri=" + quote(request.full_path.rstrip("?"), safe=""))
        return self._call(route, request, {k: str(v) for k, v in values.items()}, user)

    def _is_console_page(self, request: Request) -> bool:
        """A console page (not its static assets) asked for without a session: App Service redirects it."""
        console = self.console_path.rstrip("/")
        return request.method == "GET" and (request.path == console or request.path.startswith(console + "/")) \
            and not request.path.startswith(self.console_path + "static/")

    def _call(self, route: HttpRoute, request: Request, route_params: dict[str, str],
              user: LocalUser | None) -> Response:
        headers = {k: v for k, v in request.headers.items() if not k.lower().startswith(STRIPPED_PREFIXES)}
        if user is not None:
            headers.update(principal_headers(user))
        params = {key: request.args.get(key, "") for key in request.args}
        http_request = func.HttpRequest(request.method, request.url, headers=headers, params=params,
                                        route_params=route_params, body=request.get_data())
        try:
            result = route.handler(http_request)
        except Exception:
            # the host answers 500 for a function that raised, and logs the error; so does this
            log.exception("function %s raised", route.function_name)
            return Response(json.dumps({"status": 500, "title": f"The function {route.function_name} failed; see the "
                                        "serve log."}), status=500, mimetype="application/problem+json")
        return to_werkzeug(result)

    def _auth(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/.auth/login" and request.method == "GET":
            target = safe_redirect(request.args.get("post_login_redirect_uri"), self.console_path)
            page = login_page(target, self.console_path + "static/console.css")
            return Response(page, mimetype="text/html", headers=_page_headers())
        if path == "/.auth/login/local" and request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and origin != request.host_url.rstrip("/"):
                return Response("Sign-in from another site is refused.", status=403, mimetype="text/plain")
            user = USERS.get(request.form.get("user", ""))
            if user is None:
                return Response("Choose one of the people on the sign-in page.", status=400, mimetype="text/plain")
            response = _redirect(safe_redirect(request.form.get("post_login_redirect_uri"), self.console_path))
            response.set_cookie(COOKIE, self.sessions.issue(user), httponly=True, samesite="Strict", path="/",
                                secure=self.secure_cookie)
            return response
        if path == "/.auth/logout":
            response = _redirect("/.auth/login")
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
            return response
        if path == "/.auth/me" and request.method == "GET":
            user = self.sessions.read(request.cookies.get(COOKIE))
            if user is None:
                return Response("[]", status=401, mimetype="application/json")
            return Response(json.dumps(me(user)), mimetype="application/json", headers={"Cache-Control": "no-store"})
        return Response("Not found.", status=404, mimetype="text/plain")


def _page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": SIGN_IN_PAGE_CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})


def to_werkzeug(result: func.HttpResponse) -> Response:
    """The host's translation of a function's HttpResponse: status, headers, body, content type."""
    headers = [(k, v) for k, v in result.headers.items()]
    response = Response(result.get_body(), status=result.status_code, headers=headers)
    if not any(k.lower() == "content-type" for k, _ in headers):
        mimetype = result.mimetype or "text/plain"
        textual = mimetype.startswith("text/") or mimetype.endswith(("json", "javascript", "xml"))
        response.headers["Content-Type"] = f"{mimetype}; charset={result.charset or 'utf-8'}" if textual else mimetype
    return response


# -- the environment: the sandbox and Azurite when nothing is configured --------------------------

def nothing_configured(env: Mapping[str, str]) -> bool:
    return not any(env.get(name) for name in ("LEARNCAL_TENANT_ID", "LEARNCAL_GRAPH_URL", "AzureWebJobsStorage",
                                               "AzureWebJobsStorage__tableServiceUri"))


VAULT_READER = "5b0f5c1e-0000-4000-8000-0000005e2fe0"


@contextmanager
def sandbox_world(workdir: Path, say: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """Azurite and the sandbox, as `learncal demo` starts them; the environment that points at both.

    The provider is left for the administrator to enter in the console (or `learncal provider
    set`): the sandbox's tenant, app and organizer are printed. The secret is kept in the
    sandbox's Key Vault, read by an identity of its own, as the function app's managed identity
    does in Azure.
    """
    from shared import sandbox
    from shared.feed.examples import SAMPLE, write_upcoming
    from shared.local.azurite import start_azurite
    from shared.sandbox.client import SandboxClient

    with start_azurite() as azurite, sandbox.start(workdir / "sandbox") as running:
        info = running.info
        reader = SandboxClient(info).put_app(VAULT_READER, displayName="Function app identity", roles=[],
                                             vaultAccess=True)
        feed = write_upcoming(SAMPLE, workdir)
        say(f"  Azure Storage emulator (Azurite) on 127.0.0.1:{azurite.port}")
        say(f"  Microsoft 365 sandbox at {info['graphUrl']}")
        say("  Enter on the console's Provider page (or with `learncal provider set`):")
        say(f"    tenant {info['tenantId']}, app (client) {info['clientId']}, organizer {info['organizer']}")
        say("    (the sandbox's Key Vault already holds the app's client secret)")
        say(f"  Feed: the bundled sample, moved to the coming weeks ({feed})")
        yield {
            "LEARNCAL_GRAPH_URL": info["graphUrl"],
            "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
            "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
            "LEARNCAL_CLIENT_SECRET_NAME": info["clientSecretName"],
            "LEARNCAL_STATUS": "inactive",
            "LEARNCAL_SEND_PER_MINUTE": "600",
            "LEARNCAL_FEED": str(feed),
            "AzureWebJobsStorage": azurite.connection_string,
            "AZURE_TENANT_ID": info["tenantId"],
            "AZURE_CLIENT_ID": VAULT_READER,
            "AZURE_CLIENT_SECRET": str(reader["secrets"][0]),
            "SSL_CERT_FILE": info["caFile"],
            "REQUESTS_CA_BUNDLE": info["caFile"],
        }


@contextmanager
def queue_host(app: func.FunctionApp, say: Callable[[str], None]) -> Iterator[None]:
    """The local queue host running the app's queue-triggered functions (shared/local/functions.py).

    Each trigger's queue name is resolved as the Functions host resolves it (`%LEARNCAL_SEND_QUEUE%`
    from the app settings; unset locally, the installation's own name); a trigger without a local
    consumer is named, so it is never silently left out.
    """
    from shared.local.functions import local_functions
    from shared.local.queue_host import QueueHost
    from shared.queue.names import resolve
    from shared.settings import Settings

    settings = Settings.from_env()
    consumers = local_functions(settings)
    functions: dict[str, Any] = {}
    for each in queue_functions(app):
        name = resolve(each.queue_name, settings.table_prefix)
        if name in consumers:
            functions[name] = consumers[name]
        else:
            say(f"  Queue function {each.function_name} ({name}) does not run here: it has no local consumer.")
    if not functions:
        yield
        return
    host = QueueHost(settings, functions=functions)
    host.start()
    say(f"  Queue functions run locally: {', '.join(sorted(functions))}")
    try:
        yield
    finally:
        host.stop()


def load_function_app() -> Any:
    """function_app.py of this checkout (it sits beside the package, outside it, as the host expects)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("function_app")


def make_host(app: func.FunctionApp) -> FunctionHost:
    return FunctionHost(http_routes(app), route_prefix())


def run(*, port: int, sandbox: bool, say: Callable[[str], None], ready: Callable[[str], None] | None = None,
        stop: threading.Event | None = None) -> int:
    """Serve until interrupted (Ctrl+C, SIGTERM) or `stop` is set. Returns the exit code."""
    from shared.local.stopping import sigterm_interrupts

    with sigterm_interrupts(), ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="learncal-serve-")))
        if sandbox or nothing_configured(os.environ):
            say("Starting the Microsoft 365 sandbox and Azurite (nothing leaves this machine):")
            os.environ.update(stack.enter_context(sandbox_world(workdir, say)))
        os.environ["LEARNCAL_LOCAL_SIGN_IN"] = "true"
        function_app = load_function_app()

        host = make_host(function_app.app)
        say(f"  HTTP functions: {', '.join(sorted(r.function_name for r in host.routes))}")
        stack.enter_context(queue_host(function_app.app, say))
        server = make_server(HOST, port, host, threaded=True)
        url = f"http://{HOST}:{server.port}"
        say(f"Console: {url}{host.console_path}  (local sign-in; the admin API under {url}/{host.prefix}/)")
        say("Stop with Ctrl+C.")
        if ready is not None:
            ready(url)
        thread = threading.Thread(target=server.serve_forever, name="learncal-serve", daemon=True)
        thread.start()
        try:
            if stop is None:
                thread.join()
            else:
                stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            with contextlib.suppress(Exception):
                server.shutdown()
    return 0

"""`learncal serve` answers exactly the function app's HTTP routes, as the Functions host would call them."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import azure.functions as func
from werkzeug.test import Client

import function_app
from shared.local.routes import HttpRoute, http_routes, rule_paths
from shared.local.serve import FunctionHost
from shared.local.signin import COOKIE

ROOT = Path(__file__).resolve().parents[2]


def declared_routes() -> dict[str, tuple[str, frozenset[str]]]:
    """Each `@app.route(route=..., methods=[...])` in function_app.py, read from its source text."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for node in ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", None) == "route":
                options = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords
                           if k.arg in ("route", "methods")}
                found[node.name] = (options["route"], frozenset(m.upper() for m in options["methods"]))
    return found


def test_serve_answers_the_registered_http_functions_and_nothing_else() -> None:
    routes = http_routes(function_app.app)
    served = {r.function_name: (r.template, frozenset(r.methods)) for r in routes}
    assert served == declared_routes()
    assert "console" in served and served["console"][0] == "console/{*path}"
    # asking twice gives the same answer (the SDK refuses a second get_functions() unless reset)
    assert {r.function_name for r in http_routes(function_app.app)} == set(served)


def test_route_templates_become_rules_with_the_hosts_parameters() -> None:
    assert rule_paths("offerings/{offeringId}/reconcile", "api") == [("/api/offerings/<offeringId>/reconcile", {})]
    assert rule_paths("console/{*path}", "api") == [("/api/console/<path:path>", {}), ("/api/console/", {"path": ""})]
    assert rule_paths("runs/{id:guid}", "") == [("/runs/<id>", {})]


class Recorder:
    """A stand-in HTTP function that keeps the request it was called with."""

    def __init__(self) -> None:
        self.requests: list[func.HttpRequest] = []

    def __call__(self, req: func.HttpRequest) -> func.HttpResponse:
        self.requests.append(req)
        return func.HttpResponse(json.dumps({"ok": True}), status_code=201, headers={"X-Answer": "yes"},
                                 mimetype="application/json")


def host_with(recorder: Recorder) -> Client:
    routes = [HttpRoute("item", "things/{thingId}/parts/{*rest}", ("GET", "POST"), recorder),
              HttpRoute("plain", "plain", ("GET",), recorder)]
    return Client(FunctionHost(routes, "api"))


def principal_of(req: func.HttpRequest) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(req.headers["x-ms-client-principal"])))


def test_a_request_reaches_the_function_as_the_host_builds_it() -> None:
    recorder = Recorder()
    client = host_with(recorder)
    answer = client.post("/api/things/T-1/parts/a/b?size=2&colour=red", data=b'{"x": 1}',
                         headers={"Content-Type": "application/json", "X-Custom": "kept"})
    assert answer.status_code == 201
    assert answer.headers["X-Answer"] == "yes"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.get_json() == {"ok": True}
    req = recorder.requests[-1]
    assert req.method == "POST"
    assert dict(req.route_params) == {"thingId": "T-1", "rest": "a/b"}
    assert dict(req.params) == {"size": "2", "colour": "red"}
    assert req.get_body() == b'{"x": 1}'
    assert req.headers["x-custom"] == "kept"
    assert client.get("/api/things/T-1/parts/").status_code == 201
    assert recorder.requests[-1].route_params["rest"] == ""
    assert client.delete("/api/plain").status_code == 405
    assert client.get("/api/nowhere").status_code == 404


def test_forged_principal_headers_are_dropped_and_the_local_session_is_injected() -> None:
    recorder = Recorder()
    client = host_with(recorder)
    forged = base64.b64encode(json.dumps({"claims": [{"typ": "roles", "val": "LearningCalendar.Admin"}]}).encode())
    client.get("/api/plain",
               headers={"X-MS-CLIENT-PRINCIPAL": forged.decode(), "X-MS-CLIENT-PRINCIPAL-NAME": "mallory"})
    assert not any(k.lower().startswith("x-ms-client-principal") for k in recorder.requests[-1].headers)

    signed_in = client.post("/.auth/login/local", data={"user": "reader", "post_login_redirect_uri": "/api/plain"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/api/plain"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and cookie.startswith(COOKIE + "=")
    client.get("/api/plain", headers={"X-MS-CLIENT-PRINCIPAL": forged.decode()})
    claims = principal_of(recorder.requests[-1])["claims"]
    assert {c["val"] for c in claims if c["typ"] == "roles"} == {"LearningCalendar.Reader"}
    assert recorder.requests[-1].headers["x-ms-client-principal-name"] == "riley.reader@contoso.example"


def test_a_tampered_session_cookie_signs_nobody_in() -> None:
    recorder = Recorder()
    client = host_with(recorder)
    signed_in = client.post("/.auth/login/local", data={"user": "norole"})
    value = signed_in.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    mac = value.split(".")[1]
    admin = base64.urlsafe_b64encode(json.dumps({"u": "admin", "exp": 4102444800}).encode()).decode().rstrip("=")
    client.set_cookie(COOKIE, f"{admin}.{mac}")
    client.get("/api/plain")
    assert "x-ms-client-principal" not in recorder.requests[-1].headers
    assert client.get("/.auth/me").status_code == 401


def test_sign_in_never_redirects_to_another_site() -> None:
    client = host_with(Recorder())
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = client.post("/.auth/login/local", data={"user": "admin", "post_login_redirect_uri": target})
        assert answer.headers["Location"] == "/api/console/"
    assert client.post("/.auth/login/local", data={"user": "admin"},
                       headers={"Origin": "https://evil.example"}).status_code == 403


def test_console_pages_ask_for_sign_in_and_carry_a_strict_content_security_policy() -> None:
    client = Client(FunctionHost(http_routes(function_app.app), "api"))
    first = client.get("/api/console/runs")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/.auth/login?post_login_redirect_uri=%2Fapi%2Fconsole%2Fruns")
    client.post("/.auth/login/local", data={"user": "admin"})
    page = client.get("/api/console/runs")
    assert page.status_code == 200 and b'<script type="module" src="static/app.js">' in page.data
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = client.get("/api/console/static/app.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert client.get("/api/console/static/../../assets.py").status_code == 404
    assert client.get("/api/console/static/.hidden.js").status_code == 404
    assert client.get("/api/console").headers["Location"].endswith("/api/console/")


def test_only_loopback_host_names_are_answered() -> None:
    """A rebinding site's name pointed at 127.0.0.1 gets nothing, not even the sign-in page."""
    client = host_with(Recorder())
    assert client.get("/.auth/login", headers={"Host": "attacker.example:7071"}).status_code == 421
    assert client.post("/.auth/login/local", data={"user": "admin"},
                       headers={"Host": "attacker.example", "Origin": "http://attacker.example"}).status_code == 421
    assert client.get("/.auth/login", headers={"Host": "127.0.0.1:7071"}).status_code == 200
    assert client.get("/.auth/login", headers={"Host": "localhost:7071"}).status_code == 200


def test_a_function_that_raises_answers_500_without_its_error_text() -> None:
    def broken(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("secret-looking detail")

    client = Client(FunctionHost([HttpRoute("broken", "broken", ("GET",), broken)], "api"))
    answer = client.get("/api/broken")
    assert answer.status_code == 500
    assert b"secret-looking detail" not in answer.data and b"broken" in answer.data

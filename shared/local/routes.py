"""The function app's HTTP routes, read from its registered functions, as werkzeug rules.

`learncal serve` must answer exactly the routes the Functions host would: the source is the
app's own decorators (`FunctionApp.get_functions()`), never a second table kept by hand. Route
templates follow ASP.NET Core's syntax, which the Functions host uses ("Customize the HTTP
endpoint", learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger):
`{name}`, `{name:constraint}`, `{name?}` and the catch-all `{*name}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from werkzeug.routing import Map, Rule

_ROOT = Path(__file__).resolve().parents[2]
_PARAMETER = re.compile(r"\{(?P<star>\*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(?P<optional>\?)?\}")


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function: its name, route template, methods and the Python function."""

    function_name: str
    template: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]


@dataclass(frozen=True)
class QueueFunction:
    function_name: str
    queue_name: str
    handler: Callable[..., Any]


def registered_functions(app: func.FunctionApp) -> list[Any]:
    """`app.get_functions()`, callable more than once in a process.

    get_functions remembers the names it returned in `functions_bindings` and refuses them
    the next time (its duplicate-name check); clearing that record first makes the call repeatable.
    """
    app.functions_bindings = None
    return list(app.get_functions())


def http_routes(app: func.FunctionApp) -> list[HttpRoute]:
    routes: list[HttpRoute] = []
    for function in registered_functions(app):
        for binding in function.get_bindings():
            if binding.type == "httpTrigger":
                methods = tuple(str(getattr(m, "value", m)).upper() for m in (binding.methods or ())) or (
                    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
                route = binding.route or function.get_function_name()
                routes.append(HttpRoute(function.get_function_name(), route, methods, function.get_user_function()))
    return routes


def queue_functions(app: func.FunctionApp) -> list[QueueFunction]:
    found: list[QueueFunction] = []
    for function in registered_functions(app):
        for binding in function.get_bindings():
            if binding.type == "queueTrigger":
                found.append(QueueFunction(function.get_function_name(), str(binding.queue_name),
                                           function.get_user_function()))
    return found


def route_prefix(host_json: Path = _ROOT / "host.json") -> str:
    """host.json's `extensions.http.routePrefix` ("api" when unset, as the host does)."""
    try:
        data = json.loads(host_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "api"
    value = data.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(value).strip("/")


def rule_paths(template: str, prefix: str) -> list[tuple[str, dict[str, str]]]:
    """The werkzeug rule paths (with defaults) that match what the host matches for `template`.

    A catch-all or optional last parameter may be empty, so it yields a second rule without it.
    """
    base = "/" + "/".join(part for part in (prefix, template.strip("/")) if part)
    optional: list[str] = []

    def convert(match: re.Match[str]) -> str:
        name = match["name"]
        if match["star"] or match["optional"]:
            optional.append(name)
        return f"<path:{name}>" if match["star"] else f"<{name}>"

    converted = _PARAMETER.sub(convert, base)
    paths: list[tuple[str, dict[str, str]]] = [(converted, {})]
    last = converted[converted.rfind("<"):]
    if optional and last in (f"<{optional[-1]}>", f"<path:{optional[-1]}>"):
        shorter = converted[: converted.rfind("<")]
        paths.append((shorter or "/", {optional[-1]: ""}))
    return paths


def url_map(routes: Sequence[HttpRoute], prefix: str) -> Map:
    rules = []
    for index, route in enumerate(routes):
        for path, defaults in rule_paths(route.template, prefix):
            rules.append(Rule(path, endpoint=index, methods=list(route.methods), defaults=defaults or None,
                              strict_slashes=False))
    return Map(rules, redirect_defaults=False, merge_slashes=False)

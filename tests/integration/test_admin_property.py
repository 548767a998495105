"""Property-based test of the admin API: requests generated from its own OpenAPI document never get a 5xx.

Schemathesis generates valid and invalid requests for every operation and sends them through
a small WSGI adapter that calls the decorated function objects, routed by the routes the
functions declare (so a path the document names but no function serves would show up too).
The tenant is the sandbox; the tables are Azurite's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import azure.functions as func
import conftest_admin
import pytest
import schemathesis
from conftest_admin import ADMIN_HEADERS, World
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

import function_app
from shared.admin.context import using
from shared.admin.openapi import document

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

ADMIN_FUNCTIONS = ("provider", "provider_validate", "offering_reconcile", "sync_now", "runs", "run", "queue",
                   "feed", "feeds", "openapi", "audit_trail", "offerings", "offering", "jobs", "job", "allowance", "me",
                   "templates", "template", "template_preview", "rollout")
schema = schemathesis.openapi.from_dict(document())


class FunctionsApp:
    """WSGI in front of the function objects: /api/<route> -> the user function, as the host would call it."""

    def __init__(self) -> None:
        rules = []
        for name in ADMIN_FUNCTIONS:
            trigger = getattr(function_app, name).build().get_trigger()
            path = "/api/" + str(trigger.route).replace("{", "<").replace("}", ">")
            rules.append(Rule(path, endpoint=name))
        self._routes = Map(rules)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            name, params = self._routes.bind_to_environ(environ).match()
        except HTTPException as error:
            return error(environ, start_response)
        # the caller is a signed-in administrator (as the console is): every generated request reaches the handler
        req = func.HttpRequest(request.method, request.url, headers={**dict(request.headers), **ADMIN_HEADERS},
                               params=dict(request.args), route_params=params, body=request.get_data())
        answer = conftest_admin.function(str(name))(req)
        response = Response(answer.get_body(), status=answer.status_code, headers=list(answer.headers.items()),
                            content_type=answer.mimetype)
        return response(environ, start_response)


class NoManagedIdentity:
    """Outside Azure there is no managed identity; never let a generated `federated` request probe for one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.identity import CredentialUnavailableError

        raise CredentialUnavailableError("No managed identity in this test.")

    def close(self) -> None:
        pass


@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionsApp]:
    import azure.identity

    monkeypatch.setattr(azure.identity, "ManagedIdentityCredential", NoManagedIdentity)
    with using(world.services()):
        yield FunctionsApp()


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(app: FunctionsApp, case: schemathesis.Case) -> None:
    case.call_and_validate(app=app, checks=[not_a_server_error])

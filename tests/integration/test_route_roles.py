"""Every HTTP route the function app registers, called without sign-in, as a Reader and as an Admin.

The routes come from the function app itself (`app.get_functions()`), not from a list kept
here, so a route added later without an entry below fails this test instead of slipping
through. The expected roles are written here, independently of the product's code: the
health route is anonymous, read routes need LearningCalendar.Reader, everything else
LearningCalendar.Admin.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import azure.functions as func
import conftest_admin
import pytest
from conftest_admin import ADMIN_ROLE, World, principal

ROOT = Path(__file__).resolve().parents[2]
READER = "LearningCalendar.Reader"
NONE = "anonymous"
SIGNED_IN = "any signed-in caller"

# route -> method -> the role it needs
EXPECTED: dict[str, dict[str, str]] = {
    "health": {"GET": NONE},
    "me": {"GET": SIGNED_IN},
    "provider": {"GET": ADMIN_ROLE, "PUT": ADMIN_ROLE},
    "provider/validate": {"POST": ADMIN_ROLE},
    "offerings/{offeringId}/reconcile": {"POST": ADMIN_ROLE},
    "sync": {"POST": ADMIN_ROLE},
    "runs": {"GET": READER},
    "runs/{runId}": {"GET": READER},
    "openapi.json": {"GET": READER},
    "audit": {"GET": READER},
    "offerings": {"GET": READER},
    "offerings/{offeringId}": {"GET": READER},
    "jobs": {"POST": ADMIN_ROLE},
    "jobs/{jobId}": {"GET": ADMIN_ROLE},
    "allowance": {"POST": ADMIN_ROLE},
    "feeds": {"GET": READER},
    "feed": {"PUT": ADMIN_ROLE},
    "queue": {"GET": ADMIN_ROLE, "DELETE": ADMIN_ROLE},
    "responses": {"GET": READER},
    "responses/counts": {"GET": READER},
    # Microsoft Graph's change notifications carry no token: excluded from sign-in, each notification is
    # trusted only when its clientState matches the subscription's (shared/responses/notifications.py)
    "notifications": {"POST": NONE},
    "notifications/lifecycle": {"POST": NONE},
    # the console's static pages hold no data (every figure comes from the routes above); in Azure,
    # App Service Authentication signs people in before they reach them
    "console/{*path}": {"GET": NONE},
}

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


def registered_http_routes() -> list[tuple[str, str, Any]]:
    """(route, method, user function) for every HTTP trigger, from a fresh copy of function_app.

    `get_functions()` may be called once per app object, so the module is loaded anew here
    rather than taken from the copy other tests import.
    """
    spec = importlib.util.spec_from_file_location("function_app_route_roles", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    routes = []
    for function in module.app.get_functions():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        assert trigger.auth_level == func.AuthLevel.ANONYMOUS, (
            f"{trigger.route}: the host must not ask for a function key (browsers cannot send one); the code "
            "authorizes")
        for method in trigger.methods:
            routes.append((str(trigger.route), str(getattr(method, "value", method)), function.get_user_function()))
    return routes


ROUTES = registered_http_routes()


def call(user_function: Any, route: str, method: str, headers: dict[str, str]) -> func.HttpResponse:
    params = {part.strip("{}*"): "NOPE" for part in route.split("/") if part.startswith("{")}
    path = "/".join("NOPE" if part.startswith("{") else part for part in route.split("/"))
    body = b"" if method == "GET" else b"{"  # a write that passes authorization stops at the body (400)
    request = func.HttpRequest(method, f"http://localhost:7071/api/{path}", body=body, headers=headers,
                               route_params=params)
    response: func.HttpResponse = user_function(request)
    return response


def test_every_registered_route_has_an_expected_role() -> None:
    unknown = [(route, method) for route, method, _ in ROUTES if method not in EXPECTED.get(route, {})]

    assert ROUTES and not unknown, f"routes without a decided role (add them to EXPECTED): {unknown}"


@pytest.mark.parametrize(("route", "method", "user_function"), ROUTES, ids=[f"{m} {r}" for r, m, _ in ROUTES])
def test_each_route_admits_exactly_its_role(world: World, route: str, method: str, user_function: Any) -> None:
    needed = EXPECTED.get(route, {}).get(method, ADMIN_ROLE)
    write = {} if method == "GET" else {"X-Learncal-Request": "1"}

    with conftest_admin.using(world.services()):
        anonymous = call(user_function, route, method, write)
        nobody = call(user_function, route, method, {**principal([], "no.role@contoso.example"), **write})
        reader = call(user_function, route, method, {**principal([READER], "rea.der@contoso.example"), **write})
        admin = call(user_function, route, method, {**principal([ADMIN_ROLE]), **write})

    if needed == NONE:
        assert anonymous.status_code not in (401, 403)
        return
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    if needed == SIGNED_IN:
        assert nobody.status_code == 200 and reader.status_code == 200 and admin.status_code == 200
        return
    assert nobody.status_code == 403
    if needed == READER:
        assert reader.status_code not in (401, 403), reader.get_body()
    else:
        assert reader.status_code == 403 and ADMIN_ROLE.encode() in reader.get_body()
    assert admin.status_code not in (401, 403), admin.get_body()

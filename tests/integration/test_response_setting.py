"""The response-collection switch in the provider configuration: GET/PUT /api/provider, the
environment's default, and what a run then asks of new invitations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import conftest_admin
from conftest_admin import World, payload, provider_body, request

from shared.bootstrap import provider_view
from shared.provider.store import ProviderStore

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


def put(world: World, **changes: Any) -> dict[str, Any]:
    response = world.call("provider", request("PUT", "provider", provider_body(world, **changes)))
    assert response.status_code == 200, response.get_body()
    return dict(payload(response))


def get(world: World) -> dict[str, Any]:
    return dict(payload(world.call("provider", request("GET", "provider"))))


def test_the_environment_decides_until_a_saved_configuration_says_otherwise(world: World) -> None:
    shown = get(world)
    assert (shown["requestResponses"], shown["requestResponsesInForce"]) == (None, False)
    on = world.services(request_responses=True)  # LEARNCAL_REQUEST_RESPONSES=true
    with_env = dict(payload(world.call("provider", request("GET", "provider"), on)))
    assert (with_env["requestResponses"], with_env["requestResponsesInForce"]) == (None, True)

    saved = put(world, requestResponses=False)  # the stored value wins over the environment's
    assert (saved["requestResponses"], saved["requestResponsesInForce"]) == (False, False)
    assert not provider_view(replace(world.settings, request_responses=True), world.tables)().request_responses


def test_switching_on_is_kept_when_left_out_and_says_what_it_costs(world: World) -> None:
    saved = put(world, requestResponses=True)
    assert saved["requestResponsesInForce"] is True
    [notice] = [n for n in saved["notices"] if "Response collection is on" in n]
    assert "learncal rollout --dry-run" in notice and "LEARNCAL_PUBLIC_URL" in notice
    assert ProviderStore(world.tables).load().request_responses is True  # type: ignore[union-attr]
    assert provider_view(world.settings, world.tables)().request_responses

    kept = put(world, status="inactive")  # a later save without the field keeps it
    assert kept["requestResponses"] is True
    assert not any("Response collection" in n for n in kept["notices"])

    off = put(world, requestResponses=False)
    assert any("Response collection is off" in n for n in off["notices"])
    back_to_env = put(world, requestResponses=None)
    assert (back_to_env["requestResponses"], back_to_env["requestResponsesInForce"]) == (None, False)


def test_a_switch_that_is_not_a_boolean_is_refused_naming_the_field(world: World) -> None:
    response = world.call("provider", request("PUT", "provider", provider_body(world, requestResponses="yes")))
    assert response.status_code == 422
    fields = [e["field"] for e in payload(response)["errors"]]
    assert fields == ["requestResponses"]

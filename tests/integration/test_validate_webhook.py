"""Validate's response-webhook check against the sandbox's Key Vault: shown only with a webhook configured,
failing with the fix for an unusable address or an unreadable key, never posting anything."""

from __future__ import annotations

from typing import Any

import conftest_admin
from conftest_admin import World, payload, request

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

HOOK = "https://lms.contoso.example/hooks/responses"


def webhook_check(world: World, **settings: Any) -> dict[str, Any] | None:
    response = world.call("provider_validate", request("POST", "provider/validate"), world.services(**settings))
    assert response.status_code == 200, response.get_body()
    found = [c for c in payload(response)["checks"] if c["name"] == "response-webhook"]
    return found[0] if found else None


def test_without_a_webhook_there_is_nothing_to_check(world: World) -> None:
    assert webhook_check(world) is None


def test_a_plain_http_address_elsewhere_fails_naming_the_setting(world: World) -> None:
    check = webhook_check(world, response_webhook_url="http://lms.contoso.example/hooks")

    assert check is not None and check["status"] == "fail"
    assert "LEARNCAL_RESPONSE_WEBHOOK_URL must be an https URL" in check["fix"]


def test_the_key_in_key_vault_passes_and_a_missing_one_fails_with_the_fix(world: World) -> None:
    missing = webhook_check(world, response_webhook_url=HOOK)
    assert missing is not None and missing["status"] == "fail"
    assert "lms.contoso.example" in missing["detail"] and "cannot be read" in missing["detail"]
    assert "az keyvault secret set" in missing["fix"] and "learncal-response-webhook-secret" in missing["fix"]

    world.sandbox.put_vault_secret("learncal-response-webhook-secret", "k-" + "7" * 40)
    stored = webhook_check(world, response_webhook_url=HOOK)
    assert stored is not None and stored["status"] == "pass"
    assert "learncal-response-webhook-secret" in stored["detail"] and "7777" not in stored["detail"]


def test_a_key_from_the_environment_is_only_a_warning(world: World) -> None:
    check = webhook_check(world, response_webhook_url=HOOK, response_webhook_secret="local-key-123")

    assert check is not None and check["status"] == "warn"
    assert "local-key-123" not in check["detail"] + check["fix"]

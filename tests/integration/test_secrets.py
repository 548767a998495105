"""The client secret: Key Vault as its only home, rotation without restart, and never a trace of it.

Also the secretless mode: the managed identity's token is the client assertion, and the
token endpoint accepts it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import conftest_admin
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from conftest_admin import (
    SAMPLE_FEED,
    World,
    assert_secret_absent,
    payload,
    provider_body,
    request,
)

import shared.identity as identity
from shared.bootstrap import client_secret
from shared.calendar.graph_client import GRAPH_SCOPE
from shared.identity import TOKEN_EXCHANGE_SCOPE, RotatingSecretCredential, build_credential, vault_credential
from shared.secrets import KeyVaultSecret, SecretUnavailable
from shared.validate.runner import Validator
from shared.validate.tokens import claims_of

MI_SUBJECT = "microsoft:azure:managed-identity:learncal-func"

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
secret_watch = conftest_admin.secret_watch
world = conftest_admin.world


def rotate(world: World, *, revoke_old: bool = True, update_vault: bool = True) -> str:
    """What an administrator does: a new app secret, the old one revoked, the vault updated."""
    new = world.sandbox.add_client_secret(world.info["clientId"])
    if revoke_old:
        world.sandbox.put_app(world.info["clientId"], secrets=[new])
    if update_vault:
        world.sandbox.put_vault_secret(world.info["clientSecretName"], new)
    return new


def test_the_secret_is_read_from_key_vault_once_and_then_cached(world: World) -> None:
    vault = KeyVaultSecret.for_settings(world.settings)

    first = vault.read()
    world.sandbox.put_vault_secret(world.info["clientSecretName"], "changed-meanwhile")

    assert first.value == world.secret
    assert first.updated_on is not None
    assert vault.value() == world.secret  # cached
    assert vault.value(refresh=True) == "changed-meanwhile"


def test_a_rotated_secret_is_picked_up_without_a_restart(world: World) -> None:
    stale = client_secret(world.settings)  # cached by the first run
    new = rotate(world)
    assert client_secret(world.settings) == stale  # still the cached, now revoked, secret

    credential = build_credential(world.settings, client_secret(world.settings))
    token = credential.get_token(GRAPH_SCOPE)

    assert isinstance(credential, RotatingSecretCredential)
    assert claims_of(token.token)["appid"] == world.info["clientId"]
    assert client_secret(world.settings) == new  # the cache holds the new secret for the next run


def test_a_run_after_rotation_sends_with_the_new_secret(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED)
    client_secret(world.settings)
    rotate(world)

    summary = world.sync({}, services)

    assert (summary["status"], summary["sent"]) == ("completed", 15), summary


def test_a_refused_secret_that_was_not_rotated_is_reported_once(world: World) -> None:
    client_secret(world.settings)
    rotate(world, update_vault=False)  # revoked in Entra, but nobody stored the new one
    reads: list[int] = []
    vault = KeyVaultSecret.for_settings(world.settings)

    def reread() -> str:
        reads.append(1)
        return vault.value(refresh=True)

    credential = RotatingSecretCredential(world.settings, world.secret, reread)
    with pytest.raises(ClientAuthenticationError) as raised:
        credential.get_token(GRAPH_SCOPE)

    assert "AADSTS7000215" in str(raised.value)
    assert reads == [1]
    assert world.secret not in str(raised.value)


def test_key_vault_errors_name_the_fix_not_the_secret(world: World) -> None:
    world.sandbox.put_app("5b0f5c1e-0000-4000-8000-00000000c0de", vaultAccess=False)

    with pytest.raises(SecretUnavailable) as raised:
        KeyVaultSecret.for_settings(world.settings).value(refresh=True)

    assert "Key Vault Secrets User" in str(raised.value)
    assert world.secret not in str(raised.value)


def test_a_refused_write_names_the_read_only_deployment_and_the_one_secret_role(world: World) -> None:
    # Key Vault answers 403 Forbidden to an identity without a data role that allows setting
    # secrets (https://learn.microsoft.com/azure/key-vault/general/rbac-guide); the sandbox's
    # vault refuses this app the same way.
    world.sandbox.put_app("5b0f5c1e-0000-4000-8000-00000000c0de", vaultAccess=False)

    with pytest.raises(SecretUnavailable) as raised:
        KeyVaultSecret.for_settings(world.settings).store("a-new-secret-value")

    problem, fix = raised.value.problem, raised.value.fix
    name = world.info["clientSecretName"]
    # What the deployment grants: read only, unless the opt-in is on.
    assert "read only (Key Vault Secrets User) unless ALLOW_CONSOLE_SECRET_WRITE is on" in problem
    # How to turn it on (the two commands, in order), with the secret created first.
    enable, provision = fix.index("azd env set ALLOW_CONSOLE_SECRET_WRITE true"), fix.index("azd provision")
    assert fix.index("create-client-secret.sh") < enable < provision
    # Or the role assignment by hand, scoped to this one secret and not the vault.
    command = fix[fix.index("az role assignment create"):]
    assert '--role "Key Vault Secrets Officer"' in command
    assert "--assignee-object-id <AZURE_MANAGED_IDENTITY_PRINCIPAL_ID>" in command
    scope = command[command.index("--scope ") + len("--scope "):].split('". ', 1)[0] + '"'
    # A sandbox vault has no Azure name (https://<name>.vault.azure.net/ in Azure), so the name is left to fill in.
    assert scope == f'"$(az keyvault show --name <vault name> --query id -o tsv)/secrets/{name}"', scope
    assert "a-new-secret-value" not in str(raised.value) and world.secret not in str(raised.value)


def test_the_vault_credential_is_the_managed_identity_when_one_is_configured(world: World) -> None:
    from dataclasses import replace

    from azure.identity import EnvironmentCredential, ManagedIdentityCredential

    assert isinstance(vault_credential(world.settings), EnvironmentCredential)
    configured = replace(world.settings, managed_identity_client_id="11111111-2222-3333-4444-555555555555")
    assert isinstance(vault_credential(configured), ManagedIdentityCredential)


def test_no_response_log_record_or_error_carries_a_secret(world: World, secret_watch: pytest.LogCaptureFixture) -> None:
    new = world.sandbox.add_client_secret(world.info["clientId"])
    services = world.services(feed=SAMPLE_FEED)
    bodies: list[bytes] = []
    for name, req in (
        ("provider", request("PUT", "provider", provider_body(world, clientSecret=new))),
        ("provider", request("GET", "provider")),
        ("provider_validate", request("POST", "provider/validate")),
        ("provider_validate", request("POST", "provider/validate", {"clientSecret": new + "-wrong"})),
        ("provider", request("PUT", "provider", provider_body(world, clientSecret=new, tenantId="nope"))),
        ("sync_now", request("POST", "sync", {})),
        ("runs", request("GET", "runs")),
    ):
        bodies.append(world.call(name, req, services).get_body())
    rotate(world)
    bodies.append(world.call("sync_now", request("POST", "sync", {}), services).get_body())

    assert any(r.name.startswith(("azure", "msal")) and r.levelno == 10 for r in secret_watch.records)
    for secret in (world.secret, new, world.vault_reader_secret):
        assert_secret_absent(secret, *bodies, caplog=secret_watch)


# -- federated (secretless) mode -------------------------------------------------------------

class FakeManagedIdentity:
    """Stands in for the function app's managed identity: hands out the sandbox's federated assertion."""

    instances: list[FakeManagedIdentity] = []  # noqa: RUF012

    def __init__(self, client_id: str | None = None, **kwargs: Any) -> None:
        self.client_id = client_id
        self.scopes: list[str] = []
        self.assertion = ""
        FakeManagedIdentity.instances.append(self)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.assertion, int(time.time()) + 3600)

    def close(self) -> None:
        pass


@pytest.fixture
def federated(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    import azure.identity

    world.sandbox.put_app(world.info["clientId"], federatedSubjects=[MI_SUBJECT], secrets=[])
    FakeManagedIdentity.instances = []
    monkeypatch.setattr(azure.identity, "ManagedIdentityCredential", FakeManagedIdentity)
    world.settings = replace(world.settings, auth_mode="federated", key_vault_url=None,
                             managed_identity_client_id="0e1d2c3b-4a59-4867-8765-43210fedcba9")
    return world


def test_federated_mode_sends_the_managed_identity_token_as_client_assertion(federated: World) -> None:
    credential = build_credential(federated.settings)
    (managed,) = FakeManagedIdentity.instances
    managed.assertion = federated.sandbox.federated_assertion(MI_SUBJECT)

    token = credential.get_token(GRAPH_SCOPE)

    assert managed.client_id == "0e1d2c3b-4a59-4867-8765-43210fedcba9"
    assert managed.scopes == [TOKEN_EXCHANGE_SCOPE]
    claims = claims_of(token.token)
    assert (claims["appid"], claims["appidacr"]) == (federated.info["clientId"], "2")  # 2: signed in by assertion
    assert "roles" in claims


def test_federated_mode_validates_without_any_secret(federated: World) -> None:
    services = federated.services()

    def with_assertion(settings: Any, secret: str | None) -> Any:
        assert secret is None
        credential = identity.federated_credential(settings)
        FakeManagedIdentity.instances[-1].assertion = federated.sandbox.federated_assertion(MI_SUBJECT)
        return credential

    services.validator = Validator(federated.tables, credential=with_assertion)
    checks = {c["name"]: c for c in payload(federated.call("provider_validate",
                                                           request("POST", "provider/validate"), services))["checks"]}

    assert checks["sign-in"]["status"] == "pass"
    assert checks["calendar-write"]["status"] == "pass"
    assert checks["key-vault"]["status"] == "pass"
    assert "federated" in checks["key-vault"]["detail"]


def test_an_untrusted_managed_identity_is_refused_with_its_code(federated: World) -> None:
    credential = build_credential(federated.settings)
    FakeManagedIdentity.instances[0].assertion = federated.sandbox.federated_assertion("someone-else")

    with pytest.raises(ClientAuthenticationError) as raised:
        credential.get_token(GRAPH_SCOPE)

    assert "AADSTS700213" in str(raised.value)

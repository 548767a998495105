"""Key Vault secrets through the real SecretClient and its challenge-based sign-in."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from conftest_sandbox import Harness, claims_of


def test_the_client_secret_is_in_the_vault_under_its_default_name(sandbox: Harness) -> None:
    client = SecretClient(sandbox.info["keyVaultUrl"], sandbox.credential)

    secret = client.get_secret(sandbox.info["clientSecretName"])

    assert secret.value == sandbox.info["clientSecret"]
    assert secret.properties.vault_url == sandbox.info["keyVaultUrl"]


def test_first_request_is_challenged_with_the_tenant_authority_and_vault_resource(sandbox: Harness) -> None:
    response = sandbox.raw("GET", "/secrets/graph-client-secret?api-version=7.6")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{sandbox.info["authorityUrl"]}/{sandbox.info["tenantId"]}", '
        f'resource="{sandbox.info["keyVaultResource"]}"')


def test_setting_a_secret_adds_a_version_and_moves_updated(sandbox: Harness) -> None:
    client = SecretClient(sandbox.info["keyVaultUrl"], sandbox.credential)
    first = client.set_secret("rotating", "one")
    time.sleep(1.05)  # attributes are whole seconds, as in Key Vault

    second = client.set_secret("rotating", "two")

    assert client.get_secret("rotating").value == "two"
    assert first.properties.version is not None
    assert client.get_secret("rotating", first.properties.version).value == "one"
    assert first.properties.updated_on is not None and second.properties.updated_on is not None
    assert second.properties.updated_on > first.properties.updated_on
    assert [p.version for p in client.list_properties_of_secret_versions("rotating")] == [
        first.properties.version, second.properties.version]


def test_unknown_secret_is_not_found(sandbox: Harness) -> None:
    client = SecretClient(sandbox.info["keyVaultUrl"], sandbox.credential)

    with pytest.raises(ResourceNotFoundError, match="SecretNotFound"):
        client.get_secret("missing")


def test_an_app_without_a_vault_role_is_forbidden(sandbox: Harness) -> None:
    app = sandbox.admin.put_app("0c0c0c0c-1111-2222-3333-444444444444", vaultAccess=False)
    client = SecretClient(sandbox.info["keyVaultUrl"], sandbox.credential_for(app["clientId"], app["secrets"][0]))

    with pytest.raises(HttpResponseError) as raised:
        client.get_secret("graph-client-secret")

    assert raised.value.status_code == 403


def test_a_graph_token_is_not_accepted_by_the_vault(sandbox: Harness) -> None:
    token = sandbox.token()
    assert claims_of(token)["aud"] == "https://graph.microsoft.com"

    response = sandbox.raw("GET", "/secrets/graph-client-secret?api-version=7.6", token=token)

    assert response.status_code == 401
    assert "AKV10022" in response.json()["error"]["message"]

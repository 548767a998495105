"""Sign-in through the real azure-identity credential against the sandbox authority."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential, ClientSecretCredential
from conftest_sandbox import GRAPH_SCOPE, Harness, claims_of
from msgraph.generated.models.o_data_errors.o_data_error import ODataError


def test_app_token_carries_the_granted_application_roles(sandbox: Harness) -> None:
    claims = claims_of(sandbox.token())

    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == sandbox.info["tenantId"]
    assert claims["appid"] == claims["azp"] == sandbox.info["clientId"]
    assert claims["idtyp"] == "app"
    assert sorted(claims["roles"]) == ["Calendars.ReadWrite", "User.Read.All"]
    assert "scp" not in claims


def test_wrong_secret_is_refused_with_aadsts7000215_and_the_secret_is_not_echoed(sandbox: Harness) -> None:
    wrong = "wrongQ~" + "x" * 33
    credential = sandbox.credential_for(sandbox.info["clientId"], wrong)

    with pytest.raises(ClientAuthenticationError) as raised:
        credential.get_token(GRAPH_SCOPE)

    assert "AADSTS7000215" in str(raised.value)
    assert wrong not in str(raised.value)
    assert sandbox.info["clientSecret"] not in str(raised.value)


def test_unknown_client_is_refused_with_aadsts700016(sandbox: Harness) -> None:
    credential = sandbox.credential_for("11111111-2222-3333-4444-555555555555", sandbox.info["clientSecret"])

    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        credential.get_token(GRAPH_SCOPE)


def test_unknown_tenant_fails_discovery_with_aadsts90002(sandbox: Harness) -> None:
    tenant = "00000000-0000-0000-0000-00000000dead"
    credential = ClientSecretCredential(tenant, sandbox.info["clientId"], sandbox.info["clientSecret"],
                                        authority=sandbox.info["authorityUrl"], disable_instance_discovery=True)

    # MSAL reports a failed OpenID discovery in its own words (as against Entra); the code is in the body.
    with pytest.raises(ClientAuthenticationError, match="tenant name or GUID"):
        credential.get_token(GRAPH_SCOPE)
    response = sandbox.raw("GET", f"/{tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_description"].startswith(f"AADSTS90002: Tenant '{tenant}' not found.")


def test_tenant_domain_name_works_like_the_tenant_id(sandbox: Harness) -> None:
    credential = ClientSecretCredential("contoso.example", sandbox.info["clientId"], sandbox.info["clientSecret"],
                                        authority=sandbox.info["authorityUrl"], disable_instance_discovery=True)

    assert claims_of(credential.get_token(GRAPH_SCOPE).token)["tid"] == sandbox.info["tenantId"]


def test_refusals_have_entra_error_shape(sandbox: Harness) -> None:
    response = sandbox.raw("POST", f"/{sandbox.info['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": sandbox.info["clientId"], "client_secret": "nope",
        "scope": GRAPH_SCOPE}, headers={"client-request-id": "corr-123"})

    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]
    assert body["correlation_id"] == "corr-123"
    assert body["trace_id"] and body["timestamp"]
    assert "nope" not in response.text


def test_scope_without_default_suffix_is_refused(sandbox: Harness) -> None:
    response = sandbox.raw("POST", f"/{sandbox.info['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": sandbox.info["clientId"],
        "client_secret": sandbox.info["clientSecret"], "scope": "https://graph.microsoft.com/Calendars.ReadWrite"})

    assert response.status_code == 400
    assert response.json()["error_codes"] == [1002012]


def test_delegated_only_app_gets_scp_and_no_roles_and_graph_denies_it(sandbox: Harness) -> None:
    app = sandbox.admin.put_app("0f0f0f0f-1111-2222-3333-444444444444", delegatedOnly=True)
    credential = sandbox.credential_for(app["clientId"], app["secrets"][0])

    claims = claims_of(sandbox.token(credential))

    assert "roles" not in claims
    assert claims["scp"] == "Calendars.ReadWrite User.Read"
    with pytest.raises(ODataError) as raised:
        sandbox.graph(lambda graph: graph.users.by_user_id(sandbox.organizer).events.get(), credential)
    assert raised.value.response_status_code == 403
    assert raised.value.error is not None
    assert raised.value.error.code == "ErrorAccessDenied"
    assert raised.value.error.message == "Access is denied. Check credentials and try again."


def test_a_second_secret_works_beside_the_first(sandbox: Harness) -> None:
    extra = sandbox.admin.add_client_secret(sandbox.info["clientId"])

    claims = claims_of(sandbox.token(sandbox.credential_for(sandbox.info["clientId"], extra)))

    assert claims["appid"] == sandbox.info["clientId"]


def test_federated_assertion_signs_in_an_app_that_trusts_its_subject(sandbox: Harness) -> None:
    subject = "microsoft:azure:managed-identity:sandbox"
    sandbox.admin.put_app(sandbox.info["clientId"], federatedSubjects=[subject])
    credential = ClientAssertionCredential(sandbox.info["tenantId"], sandbox.info["clientId"],
                                           lambda: sandbox.admin.federated_assertion(subject),
                                           authority=sandbox.info["authorityUrl"], disable_instance_discovery=True)

    claims = claims_of(credential.get_token(GRAPH_SCOPE).token)

    assert claims["appid"] == sandbox.info["clientId"]
    assert claims["appidacr"] == "2"


def test_assertion_with_an_untrusted_subject_is_refused(sandbox: Harness) -> None:
    credential = ClientAssertionCredential(sandbox.info["tenantId"], sandbox.info["clientId"],
                                           lambda: sandbox.admin.federated_assertion("someone-else"),
                                           authority=sandbox.info["authorityUrl"], disable_instance_discovery=True)

    with pytest.raises(ClientAuthenticationError, match="AADSTS700213"):
        credential.get_token(GRAPH_SCOPE)

"""Sign-in as code: App Service Authentication, the sign-in app registration, its roles, and the hook's advice.

The expectations are written from Microsoft's documentation ("Configure Microsoft Entra
authentication" for App Service, the authsettingsV2 template reference) and the product's
own routes, not read back from the Bicep.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
EXCLUDED = ["/api/health", "/runtime/webhooks/blobs", "/api/notifications", "/api/notifications/lifecycle"]


def parse(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = BicepParser().parse(file_path=path)
    return parsed


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    return config["config"] if {"condition", "config"} <= set(config) else config


def test_app_service_authentication_requires_entra_sign_in_except_the_self_authenticating_paths() -> None:
    parsed = parse(INFRA / "modules" / "auth.bicep")
    auth = parsed["resources"]["authSettings"]
    assert auth["type"] == "Microsoft.Web/sites/config" and auth["config"]["name"] == "authsettingsV2"
    props = auth["config"]["properties"]

    assert props["platform"]["enabled"] is True
    validation = props["globalValidation"]
    assert validation["requireAuthentication"] is True
    assert validation["unauthenticatedClientAction"] == "RedirectToLoginPage"
    assert parsed["parameters"][validation["excludedPaths"]]["default"] == EXCLUDED
    assert props["httpSettings"]["requireHttps"] is True
    aad = props["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True
    assert aad["registration"]["openIdIssuer"].endswith("${tenantId}/v2.0")
    assert aad["registration"]["clientSecretSettingName"] == "clientSecretSettingName"
    assert parsed["parameters"]["clientSecretSettingName"]["default"] == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
    assert {"identifierUri", "clientId"} <= set(aad["validation"]["allowedAudiences"])


def test_the_excluded_paths_are_routes_that_authenticate_themselves_and_no_admin_route() -> None:
    import function_app  # the admin routes come from the function app, under the host's /api prefix

    admin_routes = {"/api/" + str(getattr(function_app, name).build().get_trigger().route)
                    for name in ("provider", "sync_now", "runs", "audit_trail", "offerings", "jobs", "allowance")}

    assert not admin_routes & set(EXCLUDED)
    assert "/api/" + str(function_app.health.build().get_trigger().route) in EXCLUDED


def test_the_sign_in_app_has_the_two_roles_for_people_and_automation_and_no_secret() -> None:
    parsed = parse(INFRA / "signin-app.bicep")
    res = parsed["resources"]
    app = res["signInApplication"]["config"]

    roles = {r["value"]: r for r in app["appRoles"]}
    assert set(roles) == {"LearningCalendar.Admin", "LearningCalendar.Reader"}
    for role in roles.values():
        assert role["allowedMemberTypes"] == ["User", "Application"] and role["isEnabled"] is True
    assert "addresses" in roles["LearningCalendar.Reader"]["description"]  # Readers see learners' addresses
    assert len({r["id"] for r in roles.values()}) == 2
    assert app["web"]["redirectUris"] == ["https://${hostName}/.auth/login/aad/callback"]
    assert app["web"]["implicitGrantSettings"]["enableIdTokenIssuance"] is True
    assert app["signInAudience"] == "AzureADMyOrg"
    assert "passwordCredentials" not in app  # no client secret
    fic = unwrap(next(r for k, r in res.items() if "federatedIdentityCredentials" in r["type"])["config"])
    assert fic["audiences"] == ["api://AzureADTokenExchange"] and fic["subject"] == "authIdentityPrincipalId"
    assert "authIdentityPrincipalId" in str(next(r for r in res.values()
                                                 if "federatedIdentityCredentials" in r["type"])["config"]["condition"])
    assert res["signInServicePrincipal"]["config"]["appRoleAssignmentRequired"] is True
    deployer = res["deployerIsAdmin"]
    assert deployer["type"] == "Microsoft.Graph/appRoleAssignedTo"
    assert unwrap(deployer["config"])["appRoleId"] == "adminRoleId"


def test_the_function_app_carries_the_sign_in_identity_and_its_setting() -> None:
    text = (INFRA / "modules" / "function-app.bicep").read_text()
    main = parse(INFRA / "main.bicep")
    modules = main["modules"]

    assert re.search(r"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: authIdentityClientId", text)
    assert "items(union(appSettings, signInSettings))" in text
    assert "'${authIdentityId}': {}" in text
    assert modules["authIdentity"]["detail"]["path"] == "modules/identity.bicep"
    assert modules["signInApp"]["detail"]["path"] == "signin-app.bicep"
    assert modules["auth"]["detail"]["path"] == "modules/auth.bicep"
    params = unwrap(modules["signInApp"]["config"])["params"]
    assert "defaultHostName" in str(params["hostName"]) and "functionApp" in str(params["hostName"])
    assert set(main["outputs"]) >= {"AZURE_CONSOLE_URL", "AZURE_SIGNIN_CLIENT_ID", "AZURE_SIGNIN_APP_ID_URI"}
    credential = main["parameters"]["signInCredential"]
    assert credential["default"] == "managedIdentity"
    allowed = next(d["argument"] for d in credential["decorators"] if d["type"] == "allowed")
    assert allowed == ["managedIdentity", "keyVaultSecret"]  # a Key Vault reference where no identity can be used
    assert "@Microsoft.KeyVault(SecretUri=" in (INFRA / "main.bicep").read_text()


def test_the_deployer_gets_the_table_data_role_the_cli_needs() -> None:
    res = parse(INFRA / "modules" / "deployer-access.bicep")["resources"]
    assignment = res["deployerTableData"]
    variables = parse(INFRA / "modules" / "deployer-access.bicep")["variables"]

    assert assignment["type"] == "Microsoft.Authorization/roleAssignments"
    role = assignment["config"]["properties"]["roleDefinitionId"]
    assert "storageTableDataContributor" in str(role)
    assert variables["storageTableDataContributor"]["value"] == "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def test_the_postprovision_hook_prints_the_console_and_an_entra_token_never_a_function_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCAL_", "AZURE_", "MAILBOX_"))}
    env.update({"AZURE_CONSOLE_URL": "https://func-x.azurewebsites.net/api/console/",
                "AZURE_SIGNIN_APP_ID_URI": "api://tenant/learning-calendar-sync-dev-signin",
                "AZURE_SIGNIN_CLIENT_ID": "99999999-2222-3333-4444-555555555555"})

    bash = subprocess.run(["bash", str(INFRA / "scripts" / "postprovision.sh")], env=env, capture_output=True,
                          text=True, timeout=30)
    ps1 = (INFRA / "scripts" / "postprovision.ps1").read_text()

    assert bash.returncode == 0, bash.stderr
    assert "https://func-x.azurewebsites.net/api/console/" in bash.stdout
    assert "az account get-access-token --resource api://tenant/learning-calendar-sync-dev-signin" in bash.stdout
    assert "appRoleAssignedTo" in bash.stdout and "Readers see learners' addresses" in bash.stdout
    for text in (bash.stdout, ps1):
        assert "functionapp keys" not in text and "x-functions-key" not in text.lower()
    assert "AZURE_CONSOLE_URL" in ps1 and "get-access-token --resource" in ps1

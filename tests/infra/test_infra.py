"""Checks of the infrastructure as code, its scripts and the setup guide.

- every Bicep file parses (pycep-parser; the Bicep CLI is not needed);
- main.bicep passes each module the parameters it declares, and reads only outputs it has;
- checkov (its own tool environment, .venv-checkov, made by `make infra-tools`) finds no
  failed check in the Azure-resource Bicep files, and every suppression gives its reason;
- the function app's settings in Bicep are exactly the configuration names the code reads
  (shared.settings.SETTINGS, under the rule in `settings_set_in_azure`) plus the Functions
  host's own names;
- the Microsoft Graph extension resources and the identity's role assignments are there;
- the shell scripts pass shellcheck, never print the client secret, and are idempotent;
- docs/setup.md covers each of the eight steps of the reference setup.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import SETTINGS, Setting

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SCRIPTS = INFRA / "scripts"
GRAPH_BICEP = INFRA / "graph-app.bicep"
SIGNIN_BICEP = INFRA / "signin-app.bicep"
EXTENSION_BICEP = {GRAPH_BICEP, SIGNIN_BICEP}  # the app registrations (Microsoft Graph extension)
# Every Bicep file with Azure resources; the app registrations use the `extension` statement,
# which the pycep-parser that checkov pins cannot read.
AZURE_BICEP = sorted(p for p in INFRA.rglob("*.bicep") if p not in EXTENSION_BICEP)
ALL_BICEP = sorted(INFRA.rglob("*.bicep"))

# Names the Functions host and Application Insights read; the product's code does not.
HOST_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
)

# Names agreed for the event-driven sending and the feed drop that Bicep sets whether or not the
# registry in shared/settings.py lists them yet: the blob trigger's connection LEARNCAL_FEED_STORAGE
# (identity-based; read by the Functions host, and by the product for `blob:` feeds), the feeds'
# keep period, and the organizer pool. Once the registry lists them, the union changes nothing.
DECIDED_SETTINGS = frozenset(
    {
        "LEARNCAL_ORGANIZERS",
        "LEARNCAL_FEED_STORAGE__blobServiceUri",
        "LEARNCAL_FEED_STORAGE__queueServiceUri",
        "LEARNCAL_FEED_STORAGE__credential",
        "LEARNCAL_FEED_STORAGE__clientId",
        "LEARNCAL_FEED_KEEP_DAYS",
    }
)

ROLE_GUIDS = {
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
CALENDARS_READ_WRITE = "ef54d2bf-783f-4e0f-bca1-3210c0444d99"


def settings_set_in_azure(settings: tuple[Setting, ...]) -> set[str]:
    """The rule: which configuration names the code reads are app settings in Azure.

    Every LEARNCAL_* name except secrets (LEARNCAL_CLIENT_SECRET is for local development
    only; in Azure the secret lives in Key Vault or is replaced by the federated
    credential), and every identity-based AzureWebJobsStorage__* name. The plain
    AzureWebJobsStorage connection string is local only: the storage account refuses
    shared keys.
    """
    return {
        s.name
        for s in settings
        if not s.secret and (s.name.startswith("LEARNCAL_") or s.name.startswith("AzureWebJobsStorage__"))
    }


# --------------------------------------------------------------------------- helpers


def _parser() -> Any:
    try:
        from pycep import BicepParser
    except ImportError:  # pragma: no cover - message for a missing tool
        pytest.fail("pycep-parser is not installed: pip install -r requirements-infra.txt")
    return BicepParser()


_PARSED: dict[Path, dict[str, Any]] = {}


def parse(path: Path) -> dict[str, Any]:
    if path not in _PARSED:
        _PARSED[path] = _parser().parse(file_path=path)
    return _PARSED[path]


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    """A conditional resource or module (`= if (...) {...}`) nests its body once more."""
    if set(config) == {"condition", "config"}:
        return config["config"]
    return config


def resources(path: Path) -> dict[str, dict[str, Any]]:
    return parse(path).get("resources", {})


def app_settings() -> dict[str, Any]:
    return parse(INFRA / "modules" / "function-app.bicep")["variables"]["appSettings"]["value"]


def tool(name: str) -> str:
    """A console script installed beside the running interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements-infra.txt")
    return found


def checkov_binary() -> str:
    configured = os.environ.get("CHECKOV")
    candidate = Path(configured) if configured else ROOT / ".venv-checkov" / "bin" / "checkov"
    if not candidate.exists():
        pytest.fail(
            f"checkov not found at {candidate}. Run `make infra-tools` (creates .venv-checkov from "
            "infra/requirements-checkov.txt), or set CHECKOV to a checkov binary."
        )
    return str(candidate)


# --------------------------------------------------------------------------- Bicep


@pytest.mark.parametrize("path", ALL_BICEP, ids=lambda p: str(p.relative_to(INFRA)))
def test_bicep_file_parses(path: Path) -> None:
    parsed = parse(path)
    assert parsed.get("resources") or parsed.get("modules"), f"{path.name} declares nothing"


def test_only_the_app_registrations_use_the_graph_extension() -> None:
    for path in ALL_BICEP:
        uses = "extensions" in parse(path) or re.search(r"^\s*extension\s", path.read_text(), re.M) is not None
        assert uses == (path in EXTENSION_BICEP), path.name


def test_modules_are_wired_consistently() -> None:
    main = INFRA / "main.bicep"
    text = main.read_text()
    modules = parse(main)["modules"]
    assert {"identity", "monitoring", "storage", "keyVault", "rbac", "graphApp", "functionApp"} <= set(modules)
    for symbol, module in modules.items():
        target = (INFRA / module["detail"]["path"]).resolve()
        assert target.exists(), f"module {symbol}: {target} missing"
        declared = parse(target).get("parameters", {})
        passed = set(unwrap(module["config"]).get("params", {}))
        assert passed <= set(declared), f"module {symbol} passes undeclared {sorted(passed - set(declared))}"
        required = {name for name, p in declared.items() if p.get("default") is None}
        assert required <= passed, f"module {symbol} misses required {sorted(required - passed)}"
        outputs = set(parse(target).get("outputs", {}))
        used = set(re.findall(rf"\b{symbol}\.outputs\.(\w+)", text))
        assert used <= outputs, f"main.bicep reads missing outputs {sorted(used - outputs)} of {symbol}"


def test_parameters_file_matches_main_bicep() -> None:
    params = parse(INFRA / "main.bicep")["parameters"]
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(values) <= set(params), sorted(set(values) - set(params))
    required = {name for name, p in params.items() if p.get("default") is None}
    assert required <= set(values), sorted(required - set(values))
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    assert "LEARNCAL_CLIENT_SECRET}" not in (INFRA / "main.parameters.json").read_text()
    # `${NAME=default}`: the default azd uses while the environment has no value for NAME.
    by_name = {s.name: s for s in SETTINGS}
    for entry in values.values():
        match = re.fullmatch(r"\$\{(\w+)=(.*)\}", str(entry["value"]))
        if match and match.group(1) in by_name and by_name[match.group(1)].default is not None:
            assert match.group(2) == by_name[match.group(1)].default, match.group(1)


def test_main_bicep_defaults_match_the_code_defaults() -> None:
    """main.bicep's defaults for the tunables are the code's own defaults."""
    by_name = {s.name: s for s in SETTINGS}
    params = parse(INFRA / "main.bicep")["parameters"]
    function_app_params = unwrap(parse(INFRA / "main.bicep")["modules"]["functionApp"]["config"])["params"]
    settings = app_settings()
    checked = 0
    for setting_name, module_param in settings.items():
        if not setting_name.startswith("LEARNCAL_") or setting_name not in by_name:
            continue
        if by_name[setting_name].default is None:
            continue
        source = function_app_params.get(module_param)
        source = re.sub(r"^effective(\w)", lambda m: m.group(1).lower(), source) if isinstance(source, str) else source
        if source in params:
            assert params[source]["default"] == by_name[setting_name].default, setting_name
            checked += 1
    assert checked >= 10


def test_flex_consumption_function_app() -> None:
    res = resources(INFRA / "modules" / "function-app.bicep")
    plan = res["plan"]["config"]
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = res["functionApp"]["config"]
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    props = site["properties"]
    assert props["httpsOnly"] is True
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["type"] == "blobContainer"
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert set(config["scaleAndConcurrency"]) == {"maximumInstanceCount", "instanceMemoryMB"}
    settings = app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


def test_storage_key_vault_and_monitoring_are_locked_down() -> None:
    storage = resources(INFRA / "modules" / "storage.bicep")
    account = storage["storage"]["config"]["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["supportsHttpsTrafficOnly"] is True
    assert "deploymentContainer" in storage
    vault = resources(INFRA / "modules" / "keyvault.bicep")["vault"]["config"]["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert vault["enablePurgeProtection"] is True
    monitoring = resources(INFRA / "modules" / "monitoring.bicep")
    insights = monitoring["applicationInsights"]["config"]["properties"]
    assert insights["DisableLocalAuth"] is True
    assert "WorkspaceResourceId" in insights
    assert monitoring["logAnalytics"]["type"] == "Microsoft.OperationalInsights/workspaces"


def test_alerts_mail_the_deployment_address_for_each_problem() -> None:
    path = INFRA / "modules" / "alerts.bicep"
    parsed = parse(path)
    res = resources(path)
    group = res["actionGroup"]
    assert group["type"] == "Microsoft.Insights/actionGroups"
    (receiver,) = group["config"]["properties"]["emailReceivers"]
    assert receiver["emailAddress"] == "alertEmail"
    assert parsed["parameters"]["alertEmail"].get("default") is None  # given at deployment
    rules = res["alertRules"]
    assert rules["type"] == "Microsoft.Insights/scheduledQueryRules"
    props = rules["config"]["config"]["properties"]  # one rule per entry of `rules` (a loop)
    assert props["scopes"] == ["applicationInsightsId"]
    (target,) = props["actions"]["actionGroups"]
    assert target["operator"]["operands"] == {"operand_1": "actionGroup", "operand_2": "id"}
    by_key = {r["key"]: r for r in parsed["variables"]["rules"]["value"]}
    assert set(by_key) == {"run-failed", "feed-rejections", "run-errors", "no-success", "mass-cancellation",
                           "secret-expiring", "instructor-declined", "webhook-failed"}
    for rule in by_key.values():
        assert rule["query"].startswith("traces | where message startswith \"learncal."), rule["key"]
    # Once per new problem: stateful rules notify once until resolved; rejections are new by construction.
    # New by construction too: a declined instructor is logged once, when the answer changes.
    stateless = {"feed-rejections", "instructor-declined"}
    assert all(by_key[k]["autoMitigate"] is False for k in stateless)
    assert all(r["autoMitigate"] is True for k, r in by_key.items() if k not in stateless)
    assert by_key["run-failed"]["dimension"] == "kind"
    # No successful run: only once a feed has been applied, over a two-day look-back.
    assert "everApplied > 0" in by_key["no-success"]["query"]
    assert by_key["no-success"]["overrideQueryTimeRange"] == "P2D"
    hours = parsed["parameters"]["noSuccessHours"]
    assert hours["default"] == 6 and {"type": "max_value", "argument": 47} in hours["decorators"]
    main = parse(INFRA / "main.bicep")
    assert unwrap(main["modules"]["alerts"]["config"])["params"]["alertEmail"] == "alertEmail"
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["alertEmail"]["value"] == "${AZURE_ALERT_EMAIL}"


def test_role_assignments_for_the_identity() -> None:
    path = INFRA / "modules" / "rbac.bicep"
    variables = {name: v["value"] for name, v in parse(path)["variables"].items()}
    granted: dict[str, str] = {}
    for resource in resources(path).values():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        props = unwrap(resource["config"])["properties"]
        role = props["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        granted[variables.get(role, role)] = props["principalId"]
    for name, guid in ROLE_GUIDS.items():
        assert granted.get(guid) == "identityPrincipalId", f"{name} ({guid}) is not assigned to the identity"


def test_graph_extension_resources() -> None:
    config = json.loads((INFRA / "bicepconfig.json").read_text())
    assert config["extensions"]["microsoftGraphV1"] == "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"
    parsed = parse(GRAPH_BICEP)
    assert "microsoftGraphV1" in parsed["extensions"]
    res = parsed["resources"]
    variables = {name: v["value"] for name, v in parsed["variables"].items()}

    app = res["application"]
    assert (app["type"], app["api_version"]) == ("Microsoft.Graph/applications", "v1.0")
    assert "uniqueName" in app["config"]
    roles = app["config"]["appRoles"]
    # sign-in moved to signin-app.bicep; the old role stays declared, disabled, so Entra can drop it
    assert [(r["value"], r["isEnabled"]) for r in roles] == [("LearningCalendar.Admin", False)]
    assert res["servicePrincipal"]["type"] == "Microsoft.Graph/servicePrincipals"

    graph_sp = res["graphServicePrincipal"]
    assert graph_sp["existing"] is True
    assert variables[graph_sp["config"]["appId"]] == GRAPH_APP_ID

    grants = {k: r for k, r in res.items() if r["type"] == "Microsoft.Graph/appRoleAssignedTo"}
    by_role = {variables[unwrap(r["config"])["appRoleId"]]: r for r in grants.values()}
    assert set(by_role) == {USER_READ_ALL, CALENDARS_READ_WRITE}
    assert "condition" not in by_role[USER_READ_ALL]["config"]
    # With Exchange RBAC for Applications the Entra Calendars.ReadWrite grant must not be made.
    calendars = by_role[CALENDARS_READ_WRITE]["config"]
    assert calendars["condition"] == "grantCalendarsInEntra"
    assert re.search(
        r"var grantCalendarsInEntra = mailboxRestriction != 'rbacForApplications'", GRAPH_BICEP.read_text()
    )
    decorators = parsed["parameters"]["mailboxRestriction"]["decorators"]
    allowed = next(d["argument"] for d in decorators if d["type"] == "allowed")
    assert allowed == ["rbacForApplications", "applicationAccessPolicy", "none"]
    assert parsed["parameters"]["mailboxRestriction"]["default"] == "rbacForApplications"

    fic = next(r for k, r in res.items() if "federatedIdentityCredentials" in r["type"])
    assert fic["config"]["condition"]["operator"]["operands"] == {"operand_1": "authMode", "operand_2": "federated"}
    body = fic["config"]["config"]
    assert body["audiences"] == ["api://AzureADTokenExchange"]
    assert body["subject"] == "managedIdentityPrincipalId"
    assert body["issuer"].endswith("${tenantId}/v2.0") and "loginEndpoint" in body["issuer"]

    graph_module = parse(INFRA / "main.bicep")["modules"]["graphApp"]
    assert graph_module["detail"]["path"] == "graph-app.bicep"


# --------------------------------------------------------------------------- settings


def test_app_settings_are_exactly_the_settings_the_code_reads() -> None:
    in_bicep = set(app_settings())
    expected = settings_set_in_azure(SETTINGS) | HOST_SETTINGS | DECIDED_SETTINGS
    assert in_bicep - expected == set(), f"set in Bicep but not read by the code: {sorted(in_bicep - expected)}"
    assert expected - in_bicep == set(), f"read by the code but not set in Bicep: {sorted(expected - in_bicep)}"


def test_no_secret_setting_or_connection_string_in_azure() -> None:
    names = set(app_settings())
    for setting in SETTINGS:
        if setting.secret:
            assert setting.name not in names
    assert "AzureWebJobsStorage" not in names
    for path in [*ALL_BICEP, INFRA / "main.parameters.json"]:
        assert "LEARNCAL_CLIENT_SECRET:" not in path.read_text(), path.name
        assert "AccountKey=" not in path.read_text(), path.name


def test_no_secret_values_in_infra_and_docs() -> None:
    # Microsoft Entra client secrets contain "Q~" after three characters (e.g. abc8Q~...).
    secret_shape = re.compile(r"\b[A-Za-z0-9_\-.]{3}\dQ~[A-Za-z0-9_\-.~]{30,}")
    files = [p for p in INFRA.rglob("*") if p.is_file()] + [ROOT / "docs" / "setup.md", ROOT / "azure.yaml"]
    for path in files:
        assert not secret_shape.search(path.read_text(errors="replace")), f"{path} holds something like a client secret"


# --------------------------------------------------------------------------- checkov


def test_checkov_finds_no_failed_check() -> None:
    files = [str(p.relative_to(INFRA)) for p in AZURE_BICEP]
    completed = subprocess.run(
        [checkov_binary(), "--skip-download", "--framework", "bicep", "--output", "json", "-f", *files],
        cwd=INFRA,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ANSI_COLORS_DISABLED": "1"},
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}")
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, completed.stdout
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert summary["passed"] >= 20
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= 20, f"{skipped['check_id']} in {skipped['file_path']} is skipped without a reason"


# --------------------------------------------------------------------------- scripts


SHELL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))
POWERSHELL_SCRIPTS = sorted(SCRIPTS.glob("*.ps1"))


def test_shell_scripts_pass_shellcheck() -> None:
    assert SHELL_SCRIPTS
    completed = subprocess.run(
        [tool("shellcheck"), "--severity=style", *map(str, SHELL_SCRIPTS)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for script in SHELL_SCRIPTS:
        text = script.read_text()
        assert "set -euo pipefail" in text, script.name
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_have_help(script: Path) -> None:
    completed = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0
    assert "Usage:" in completed.stdout and "--dry-run" in completed.stdout


@pytest.mark.parametrize("script", POWERSHELL_SCRIPTS, ids=lambda p: p.name)
def test_powershell_scripts_have_help_and_dry_run(script: Path) -> None:
    text = script.read_text()
    help_block = re.search(r"<#(.*?)#>", text, re.S)
    assert help_block, f"{script.name} has no comment-based help"
    assert ".SYNOPSIS" in help_block.group(1) and ".EXAMPLE" in help_block.group(1)
    param_block = re.search(r"\bparam\s*\((.*?)\n\)", text, re.S | re.I)
    assert param_block
    declared = set(re.findall(r"\]\s*\$(\w+)", param_block.group(1)))
    documented = set(re.findall(r"^\.PARAMETER (\w+)", help_block.group(1), re.M))
    assert declared == documented, f"{script.name}: parameters {declared} documented {documented}"
    assert "DryRun" in declared


def test_restrict_mailbox_access_covers_both_modes() -> None:
    text = (SCRIPTS / "Restrict-MailboxAccess.ps1").read_text()
    assert "SupportsShouldProcess" in text
    for needed in [
        "'RbacForApplications', 'ApplicationAccessPolicy'",
        "New-ServicePrincipal",
        "ObjectId",
        "New-ManagementScope",
        "RecipientRestrictionFilter",
        "New-ManagementRoleAssignment",
        "'Application Calendars.ReadWrite'",
        "CustomResourceScope",
        "Test-ServicePrincipalAuthorization",
        "New-DistributionGroup",
        "Type               = 'Security'",
        "New-ApplicationAccessPolicy",
        "AccessRight        = 'RestrictAccess'",
        "Test-ApplicationAccessPolicy",
        "Write-Skip",
    ]:
        assert needed in text, needed
    mailbox = (SCRIPTS / "New-OrganizerMailbox.ps1").read_text()
    assert "Shared             = $true" in mailbox and "New-Mailbox" in mailbox
    assert "'Learning Coordinator'" in mailbox
    assert "Get-EXORecipient" in mailbox


FAKE_AZ = r"""#!/usr/bin/env bash
# Records every call; plays the parts of az that create-client-secret.sh uses.
printf '%s\n' "$*" >> "$FAKE_AZ_LOG"
case "$*" in
  "keyvault secret show"*)
    if [[ -n "${FAKE_EXPIRES:-}" ]]; then echo "$FAKE_EXPIRES"; else echo "(SecretNotFound)" >&2; exit 3; fi ;;
  "ad app credential reset"*)
    echo "$FAKE_SECRET" ;;
  "keyvault secret set"*)
    previous=""
    for arg in "$@"; do
      if [[ "$previous" == "--file" ]]; then cat "$arg" > "$FAKE_STORE"; fi
      previous="$arg"
    done ;;
esac
"""


@pytest.fixture
def fake_az(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_LOG": str(tmp_path / "az.log"),
        "FAKE_STORE": str(tmp_path / "stored"),
        "FAKE_SECRET": "abc8Q~not-a-real-secret-but-shaped-like-one-0123",
        "LEARNCAL_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AZURE_KEY_VAULT_NAME": "kv-test",
    }


def _run_secret_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "create-client-secret.sh"), *args], env=env, capture_output=True, text=True, timeout=30
    )


def _az_calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_AZ_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def test_create_client_secret_stores_the_secret_without_printing_it(fake_az: dict[str, str]) -> None:
    completed = _run_secret_script(fake_az)
    assert completed.returncode == 0, completed.stderr
    secret = fake_az["FAKE_SECRET"]
    assert secret not in completed.stdout and secret not in completed.stderr
    assert Path(fake_az["FAKE_STORE"]).read_text() == secret
    calls = _az_calls(fake_az)
    assert all(secret not in call for call in calls), "the secret was passed on a command line"
    reset = next(c for c in calls if c.startswith("ad app credential reset"))
    assert "--append" in reset and "--display-name" in reset and "--end-date" in reset
    stored = next(c for c in calls if c.startswith("keyvault secret set"))
    assert "--name graph-client-secret" in stored and "--output none" in stored
    # The credential's end date becomes the Key Vault secret's expiry, which the product reads.
    end_date = re.search(r"--end-date (\d{4}-\d{2}-\d{2})", reset)
    assert end_date and f"--expires {end_date.group(1)}T00:00:00Z" in stored


def test_create_client_secret_is_idempotent(fake_az: dict[str, str]) -> None:
    completed = _run_secret_script({**fake_az, "FAKE_EXPIRES": "2999-01-01T00:00:00+00:00"})
    assert completed.returncode == 0, completed.stderr
    assert "nothing to do" in completed.stdout
    assert not any(c.startswith("ad app credential reset") for c in _az_calls(fake_az))


def test_create_client_secret_dry_run_changes_nothing(fake_az: dict[str, str]) -> None:
    completed = _run_secret_script(fake_az, "--dry-run")
    assert completed.returncode == 0, completed.stderr
    assert _az_calls(fake_az) == []
    assert "az ad app credential reset" in completed.stdout and "az keyvault secret set" in completed.stdout


def test_postprovision_hook_prints_the_next_steps() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCAL_", "AZURE_", "MAILBOX_"))}
    env.update({"LEARNCAL_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "LEARNCAL_ORGANIZER": "lc@contoso.com"})
    completed = subprocess.run(
        ["bash", str(SCRIPTS / "postprovision.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    for expected in ["New-OrganizerMailbox.ps1", "-Mode RbacForApplications", "create-client-secret.sh", "validate"]:
        assert expected in completed.stdout


def test_azd_project_files() -> None:
    azure_yaml = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^services:\n  api:\n(    .*\n)*?    language: python\n", azure_yaml, re.M)
    assert "    host: function" in azure_yaml
    assert "postprovision.sh" in azure_yaml
    ignored = (ROOT / ".funcignore").read_text().split()
    for entry in ["tests", "infra", ".venv", "local.settings.json"]:
        assert entry in ignored
    for kept in ["function_app.py", "shared", "host.json", "requirements.txt"]:
        assert kept not in ignored


# --------------------------------------------------------------------------- setup guide

# The reference setup's eight steps and words each heading of docs/setup.md must carry.
REFERENCE_STEPS = {
    1: ["tenant"],
    2: ["app registration"],
    3: ["client secret"],
    4: ["User.Read.All", "Calendars.ReadWrite"],
    5: ["admin consent"],
    6: ["organizer mailbox"],
    7: ["provider configuration"],
    8: ["hourly", "schedule"],
}


def test_setup_guide_covers_each_reference_step() -> None:
    text = (ROOT / "docs" / "setup.md").read_text()
    headings = re.findall(r"^##+ (.+)$", text, re.M)
    for number, words in REFERENCE_STEPS.items():
        heading = next((h for h in headings if re.match(rf"Step {number}\b", h)), None)
        assert heading, f"docs/setup.md has no heading for step {number}"
        for word in words:
            assert word.lower() in heading.lower(), f"step {number} heading {heading!r} lacks {word!r}"
    # The mapping table: one row per reference step.
    for number in REFERENCE_STEPS:
        assert re.search(rf"^\| {number} \|", text, re.M), f"mapping table has no row for step {number}"
    for needed in [
        "azd up",
        "azd down --purge",
        "learncal validate",
        "GET /api/provider",
        "PUT /api/provider",
        "POST /api/provider/validate",
        "learncal provider show",
        "learncal provider set",
        "LEARNCAL_SYNC_SCHEDULE",
        "Privileged Role Administrator",
        "Exchange Administrator",
        "Key Vault Secrets Officer",
        "federated",
    ]:
        assert needed in text, needed

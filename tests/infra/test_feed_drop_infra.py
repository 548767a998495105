"""Checks of the feed drop's infrastructure: the Bicep that stores feeds and announces them, and
the azd hooks that connect the announcement to the function and tell the operator what to do.

- the private `feeds` container, its clean-up policy, and the Event Grid system topic, on the
  app's storage account or, with the SFTP option, on a separate SFTP account (HNS, local user);
- the identity's queue and blob data roles, and the deployer's role scoped to the container;
- the app settings of the `LEARNCAL_FEED_STORAGE` connection, with no key or connection string;
- the postdeploy hook (with a stand-in `az` on PATH): waits for the blobs_extension key, makes the
  subscription with the documented endpoint and filters, and never shows the key;
- the postprovision hook ends with "drop your first feed" and prints no key.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SCRIPTS = INFRA / "scripts"
MODULES = INFRA / "modules"

# Built-in role definition GUIDs, from
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"

# What Microsoft documents for a blob-triggered function with the Event Grid source.
WEBHOOK = "https://func-test.azurewebsites.net/runtime/webhooks/blobs?functionName=Host.Functions.feed_arrived&code="
SUBJECT = "/blobServices/default/containers/feeds/blobs/"
BLOB_APIS = ["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose"]


_PARSED: dict[Path, dict[str, Any]] = {}


def parse(path: Path) -> dict[str, Any]:
    from pycep import BicepParser

    if path not in _PARSED:
        parser: Any = BicepParser()
        _PARSED[path] = parser.parse(file_path=path)
    return _PARSED[path]


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's body; a conditional one (`= if (...)`) nests it once more."""
    config = resource["config"]
    return config["config"] if set(config) == {"condition", "config"} else config


def condition(resource: dict[str, Any]) -> Any:
    return resource["config"].get("condition") if set(resource["config"]) == {"condition", "config"} else None


def role_of(resource: dict[str, Any], variables: dict[str, Any]) -> str:
    name = body(resource)["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    return str(variables[name]["value"])


def dotted(expr: Any) -> str:
    """`a.b.c` for pycep's nested property accessors, to compare with what main.bicep says."""
    if isinstance(expr, dict) and expr.get("operator", {}).get("type") == "property_accessor":
        operands = expr["operator"]["operands"]
        return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
    return str(expr)


def module_params(name: str) -> dict[str, Any]:
    return dict(body(parse(INFRA / "main.bicep")["modules"][name])["params"])


FEED_DROP = MODULES / "feed-drop.bicep"
SFTP = MODULES / "sftp-storage.bicep"


# --------------------------------------------------------------------------- storage


def test_feeds_container_is_private_on_a_locked_account() -> None:
    res = parse(FEED_DROP)["resources"]
    container = res["feedsContainer"]
    assert container["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert body(container)["name"] == "containerName"
    assert body(container)["properties"]["publicAccess"] == "None"
    assert parse(FEED_DROP)["parameters"]["containerName"]["default"] == "feeds"
    assert re.search(r"^var feedContainerName = 'feeds'$", (INFRA / "main.bicep").read_text(), re.M)
    assert module_params("feedDrop")["containerName"] == "feedContainerName"
    for path, symbol in [(MODULES / "storage.bicep", "storage"), (SFTP, "account")]:
        props = body(parse(path)["resources"][symbol])["properties"]
        assert props["allowBlobPublicAccess"] is False, path.name
        assert props["allowSharedKeyAccess"] is False, path.name


def test_lifecycle_policy_deletes_feeds_after_the_keep_period_and_a_margin() -> None:
    policy = body(parse(FEED_DROP)["resources"]["lifecycle"])
    assert parse(FEED_DROP)["resources"]["lifecycle"]["type"] == "Microsoft.Storage/storageAccounts/managementPolicies"
    assert policy["name"] == "default"  # the one policy an account has
    (rule,) = policy["properties"]["policy"]["rules"]
    assert rule["enabled"] is True and rule["type"] == "Lifecycle"
    assert rule["definition"]["filters"] == {"blobTypes": ["blockBlob"], "prefixMatch": ["${containerName}/"]}
    days = rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"]
    assert days["operator"] == {"type": "add", "operands": {"operand_1": "keepDays", "operand_2": "deleteMarginDays"}}
    params = parse(FEED_DROP)["parameters"]
    assert params["deleteMarginDays"]["default"] >= 1
    # The keep period is LEARNCAL_FEED_KEEP_DAYS, the same value the function app reads.
    keep_days = module_params("feedDrop")["keepDays"]["function"]["parameters"]["value_to_convert"]
    assert keep_days == "effectiveFeedKeepDays"
    assert module_params("functionApp")["feedKeepDays"] == "effectiveFeedKeepDays"
    text = (INFRA / "main.bicep").read_text()
    assert re.search(r"^var effectiveFeedKeepDays = empty\(feedKeepDays\) \? '30' : feedKeepDays$", text, re.M)
    assert parse(INFRA / "main.bicep")["parameters"]["feedKeepDays"]["default"] == "30"
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["feedKeepDays"]["value"] == "${LEARNCAL_FEED_KEEP_DAYS=30}"


def test_event_grid_system_topic_watches_the_feed_drop_account() -> None:
    topic = parse(FEED_DROP)["resources"]["systemTopic"]
    assert topic["type"] == "Microsoft.EventGrid/systemTopics"
    props = body(topic)["properties"]
    assert props["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert props["source"]["operator"]["operands"] == {"operand_1": "account", "operand_2": "id"}
    assert body(topic)["location"] == "location"
    # The feed drop (and so its topic) is on the app's account, or on the SFTP account when on.
    text = (INFRA / "main.bicep").read_text()
    chosen = r"^var feedStorageAccountName = feedSftp \? sftpStorageAccountName : storageAccountName$"
    assert re.search(chosen, text, re.M)
    assert module_params("feedDrop")["storageAccountName"] == "feedStorageAccountName"
    assert module_params("storage")["name"] == "storageAccountName"
    outputs = parse(INFRA / "main.bicep")["outputs"]
    assert "AZURE_FEED_SYSTEM_TOPIC_NAME" in outputs and "AZURE_FEED_STORAGE_ACCOUNT_NAME" in outputs


def test_work_queues_are_created() -> None:
    res = parse(MODULES / "storage.bicep")["resources"]
    assert res["queues"]["type"] == "Microsoft.Storage/storageAccounts/queueServices/queues"
    names = parse(MODULES / "storage.bicep")["parameters"]["queueNames"]["default"]
    assert sorted(names) == ["learncal-jobs", "learncal-responses", "learncal-runs", "learncal-send",
                            "learncal-webhooks"]


# --------------------------------------------------------------------------- roles


def test_identity_has_queue_and_blob_data_roles_on_every_account_it_reads() -> None:
    rbac = parse(MODULES / "rbac.bicep")
    granted = {
        role_of(r, rbac["variables"]): body(r)
        for r in rbac["resources"].values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
    }
    for role in (QUEUE_DATA_CONTRIBUTOR, BLOB_DATA_OWNER):
        assert granted[role]["properties"]["principalId"] == "identityPrincipalId"
        assert granted[role]["scope"] == "storage"
    # On the SFTP account the feed drop module grants the same two roles.
    drop = parse(FEED_DROP)
    on_drop = {
        role_of(r, drop["variables"]): r
        for r in drop["resources"].values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
    }
    for role in (QUEUE_DATA_CONTRIBUTOR, BLOB_DATA_OWNER):
        assert body(on_drop[role])["properties"]["principalId"] == "identityPrincipalId"
        assert body(on_drop[role])["scope"] == "account"
        assert condition(on_drop[role]) == "grantIdentityRoles"
    assert module_params("feedDrop")["grantIdentityRoles"] == "feedSftp"
    assert dotted(module_params("feedDrop")["identityPrincipalId"]) == "identity.outputs.principalId"


def test_deployer_gets_blob_data_contributor_on_the_feeds_container_only() -> None:
    drop = parse(FEED_DROP)
    (deployer,) = [
        r
        for r in drop["resources"].values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
        and body(r)["properties"]["principalId"] == "deployerPrincipalId"
    ]
    assert role_of(deployer, drop["variables"]) == BLOB_DATA_CONTRIBUTOR
    assert body(deployer)["scope"] == "feedsContainer"  # not the account
    assert module_params("feedDrop")["deployerPrincipalId"] == "deployerPrincipalId"
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["deployerPrincipalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


# --------------------------------------------------------------------------- SFTP option


def test_sftp_option_is_off_by_default() -> None:
    main = parse(INFRA / "main.bicep")
    assert main["parameters"]["feedSftp"]["default"] is False
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["feedSftp"]["value"] == "${FEED_SFTP_ENABLED=false}"
    sftp_module = main["modules"]["sftpStorage"]
    assert sftp_module["config"]["condition"] == "feedSftp"
    assert module_params("feedDrop")["sftpEnabled"] == "feedSftp"
    # The host storage never gets a hierarchical namespace.
    host = body(parse(MODULES / "storage.bicep")["resources"]["storage"])["properties"]
    assert host.get("isHnsEnabled", False) is False and host.get("isSftpEnabled", False) is False


def test_sftp_option_adds_an_hns_account_a_container_bound_local_user_and_a_topic() -> None:
    account = body(parse(SFTP)["resources"]["account"])["properties"]
    assert account["isHnsEnabled"] is True
    assert account["isSftpEnabled"] is True
    assert account["isLocalUserEnabled"] is True
    # Geo-redundancy is not offered with SFTP.
    sku = parse(SFTP)["parameters"]["sftpSkuName"]
    allowed = next(d["argument"] for d in sku["decorators"] if d["type"] == "allowed")
    assert set(allowed) <= {"Standard_LRS", "Standard_ZRS"}
    user = parse(FEED_DROP)["resources"]["sftpUser"]
    assert user["type"] == "Microsoft.Storage/storageAccounts/localUsers"
    assert condition(user) == "sftpEnabled"
    props = body(user)["properties"]
    assert props["homeDirectory"] == "containerName"
    (scope,) = props["permissionScopes"]
    assert scope["service"] == "blob" and scope["resourceName"] == "containerName"
    assert set(scope["permissions"]) <= set("cwl"), "the delivery user must not read or delete feeds"
    assert {"c", "w"} <= set(scope["permissions"])
    assert props["hasSharedKey"] is False
    # A public key, or an Azure-made password: nothing secret is a parameter default or an output.
    assert props["sshAuthorizedKeys"]["operator"]["operands"]["false_value"][0]["key"] == "sftpPublicKey"
    for path in [INFRA / "main.bicep", FEED_DROP, SFTP]:
        for name in parse(path).get("outputs", {}):
            assert not re.search(r"password|secret(?!_name)|key$", name, re.I), f"{path.name} outputs {name}"
    # With SFTP on, the feed drop (topic included) moves to the SFTP account: see the topic test.
    assert module_params("sftpStorage")["name"] == "sftpStorageAccountName"


# --------------------------------------------------------------------------- app settings


def _settings() -> dict[str, Any]:
    return dict(parse(MODULES / "function-app.bicep")["variables"]["appSettings"]["value"])


def test_feed_connection_settings_are_identity_based_and_point_at_the_feed_drop() -> None:
    settings = _settings()
    assert settings["LEARNCAL_FEED_STORAGE__credential"] == "managedidentity"
    assert settings["LEARNCAL_FEED_STORAGE__clientId"] == "identityClientId"
    assert settings["LEARNCAL_FEED_STORAGE__blobServiceUri"] == "feedBlobEndpoint"
    assert settings["LEARNCAL_FEED_STORAGE__queueServiceUri"] == "feedQueueEndpoint"
    assert settings["AzureWebJobsStorage__queueServiceUri"] == "queueEndpoint"
    assert settings["AzureWebJobsStorage__blobServiceUri"] == "blobEndpoint"
    assert settings["LEARNCAL_FEED_KEEP_DAYS"] == "feedKeepDays"
    params = module_params("functionApp")
    for name, output in [("feedBlobEndpoint", "blobEndpoint"), ("feedQueueEndpoint", "queueEndpoint")]:
        assert dotted(params[name]) == f"feedDrop.outputs.{output}"
    # blob:feeds is the deployment's default feed.
    assert parse(INFRA / "main.bicep")["parameters"]["feed"]["default"] == "blob:feeds"
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["feed"]["value"] == "${LEARNCAL_FEED=blob:feeds}"


def test_no_key_sas_or_connection_string_in_the_settings() -> None:
    settings = _settings()
    assert "LEARNCAL_FEED_STORAGE" not in settings  # a connection string would go there
    assert "AzureWebJobsStorage" not in settings
    for name, value in settings.items():
        text = json.dumps(value)
        for shape in ("AccountKey=", "SharedAccessSignature", "sig=", "?sv="):
            assert shape not in text, f"{name} holds {shape}"
    for path in [FEED_DROP, SFTP, INFRA / "main.bicep"]:
        assert "listKeys" not in path.read_text() and "listServiceSas" not in path.read_text(), path.name


# --------------------------------------------------------------------------- postdeploy hook


FAKE_AZ = r"""#!/usr/bin/env bash
# Records every call (and the content of @FILE arguments, as az reads them); plays the parts of
# az that postdeploy.sh uses.
{
  printf 'CALL'
  for arg in "$@"; do printf '\t%s' "$arg"; done
  printf '\n'
  for arg in "$@"; do
    if [[ "$arg" == @* && -f "${arg#@}" ]]; then
      printf 'FILE\t%s\t%s\n' "$(stat -c %a "${arg#@}")" "$(cat "${arg#@}")"
    fi
  done
} >> "$FAKE_AZ_LOG"
case "$1 $2 $3" in
  "functionapp keys list")
    if [[ -n "${FAKE_KEYS_ERROR:-}" ]]; then echo "$FAKE_KEYS_ERROR" >&2; exit 1; fi
    count=$(( $(cat "$FAKE_AZ_COUNT" 2>/dev/null || echo 0) + 1 ))
    echo "$count" > "$FAKE_AZ_COUNT"
    if (( count > ${FAKE_KEY_AFTER:-0} )); then echo "$FAKE_KEY"; fi ;;
  "eventgrid system-topic event-subscription")
    if [[ -n "${FAKE_CREATE_FAILS:-}" ]]; then
      for arg in "$@"; do
        if [[ "$arg" == @* ]]; then echo "Webhook validation handshake failed for $(cat "${arg#@}")" >&2; fi
      done
      exit 1
    fi ;;
esac
"""


@pytest.fixture
def hook_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "LEARNCAL_"))}
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "TMPDIR": str(tmp_path),
            "FAKE_AZ_LOG": str(tmp_path / "az.log"),
            "FAKE_AZ_COUNT": str(tmp_path / "count"),
            "FAKE_KEY": "bX3-not-a-real-blobs-extension-key-0123456789==",
            "AZURE_RESOURCE_GROUP": "rg-test",
            "AZURE_FUNCTION_APP_NAME": "func-test",
            "AZURE_FUNCTION_APP_URL": "https://func-test.azurewebsites.net",
            "AZURE_FEED_SYSTEM_TOPIC_NAME": "evgt-sttest",
            "AZURE_FEED_STORAGE_ACCOUNT_NAME": "sttest",
            "AZURE_FEED_CONTAINER_NAME": "feeds",
            "LEARNCAL_KEY_WAIT_SECONDS": "0",
        }
    )
    return env


def _postdeploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "postdeploy.sh"), *args], env=env, capture_output=True, text=True, timeout=60
    )


def _log(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["FAKE_AZ_LOG"])
    return [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []


def _option(call: list[str], name: str) -> list[str]:
    """The values after `name` up to the next option."""
    start = call.index(name) + 1
    end = next((i for i in range(start, len(call)) if call[i].startswith("--")), len(call))
    return call[start:end]


def test_postdeploy_waits_for_the_key_and_subscribes_feed_arrived(hook_env: dict[str, str]) -> None:
    env = {**hook_env, "FAKE_KEY_AFTER": "2"}  # the key appears on the third look
    completed = _postdeploy(env)
    assert completed.returncode == 0, completed.stderr
    log = _log(env)
    calls = [entry[1:] for entry in log if entry[0] == "CALL"]
    key_calls = [c for c in calls if c[:3] == ["functionapp", "keys", "list"]]
    assert len(key_calls) == 3
    assert _option(key_calls[0], "--query") == ["systemKeys.blobs_extension"]
    (create,) = [c for c in calls if c[:4] == ["eventgrid", "system-topic", "event-subscription", "create"]]
    assert _option(create, "--system-topic-name") == ["evgt-sttest"]
    assert _option(create, "--resource-group") == ["rg-test"]
    assert _option(create, "--endpoint-type") == ["webhook"]
    assert _option(create, "--included-event-types") == ["Microsoft.Storage.BlobCreated"]
    assert _option(create, "--subject-begins-with") == [SUBJECT]
    assert _option(create, "--advanced-filter") == ["data.api", "StringIn", *BLOB_APIS]
    # The endpoint comes from a private file, so the key is on no command line.
    (endpoint_arg,) = _option(create, "--endpoint")
    assert endpoint_arg.startswith("@")
    (file_entry,) = [entry for entry in log if entry[0] == "FILE"]
    assert file_entry[1] == "600"
    assert file_entry[2] == WEBHOOK + env["FAKE_KEY"]
    assert not Path(endpoint_arg[1:]).exists(), "the endpoint file is left behind"
    key = env["FAKE_KEY"]
    assert key not in completed.stdout and key not in completed.stderr
    assert all(key not in "\t".join(c) for c in calls)
    # It ends with what to do next.
    assert "learncal feed push FILE" in completed.stdout
    assert "az storage blob upload --auth-mode login --account-name" in completed.stdout
    assert "learncal runs" in completed.stdout


def test_postdeploy_adds_sftp_commit_when_sftp_delivery_is_on(hook_env: dict[str, str]) -> None:
    env = {**hook_env, "AZURE_FEED_SFTP_ENABLED": "true"}
    completed = _postdeploy(env)
    assert completed.returncode == 0, completed.stderr
    (create,) = [e[1:] for e in _log(env) if e[0] == "CALL" and e[1] == "eventgrid"]
    assert _option(create, "--advanced-filter") == ["data.api", "StringIn", *BLOB_APIS, "SftpCommit"]


def test_postdeploy_stops_with_the_reason_when_the_key_never_appears(hook_env: dict[str, str]) -> None:
    env = {**hook_env, "FAKE_KEY_AFTER": "99", "LEARNCAL_KEY_ATTEMPTS": "3"}
    completed = _postdeploy(env)
    assert completed.returncode != 0
    assert "blobs_extension" in completed.stderr and "azd hooks run postdeploy" in completed.stderr
    calls = [e[1:] for e in _log(env) if e[0] == "CALL"]
    assert len(calls) == 3 and all(c[0] == "functionapp" for c in calls)


def test_postdeploy_passes_on_why_az_could_not_read_the_key(hook_env: dict[str, str]) -> None:
    refusal = "ERROR: Please run 'az login' to setup account."
    env = {**hook_env, "FAKE_KEYS_ERROR": refusal, "LEARNCAL_KEY_ATTEMPTS": "2"}
    completed = _postdeploy(env)
    assert completed.returncode != 0
    assert "Please run 'az login'" in completed.stderr
    assert not any(e[1] == "eventgrid" for e in _log(env) if e[0] == "CALL")


def test_postdeploy_dry_run_changes_nothing_and_shows_no_key(hook_env: dict[str, str]) -> None:
    completed = _postdeploy(hook_env, "--dry-run")
    assert completed.returncode == 0, completed.stderr
    assert _log(hook_env) == []
    assert "Host.Functions.feed_arrived&code=<blobs_extension key>" in completed.stdout
    assert "event-subscription create" in completed.stdout


def test_postdeploy_powershell_matches_the_shell_hook() -> None:
    text = (SCRIPTS / "postdeploy.ps1").read_text()
    for needed in [
        "systemKeys.blobs_extension",
        "runtime/webhooks/blobs?functionName=Host.Functions.feed_arrived",
        "'Microsoft.Storage.BlobCreated'",
        "/blobServices/default/containers/$container/blobs/",
        "'PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose'",
        "$apis += 'SftpCommit'",
        '--endpoint "@$endpointFile"',
        "Remove-Item -LiteralPath $endpointFile",
        ".Replace($key, '<blobs_extension key>')",
        "learncal feed push FILE",
    ]:
        assert needed in text, needed
    unmasked = r"Write-(Host|Output)[^\n]*\$key(?!, '<blobs_extension key>')"
    assert not re.search(unmasked, text), "the PowerShell hook prints the key"


def test_azure_yaml_runs_the_postdeploy_hook_on_both_shells() -> None:
    hooks = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]
    assert hooks["postdeploy"]["posix"]["run"] == "bash ./infra/scripts/postdeploy.sh"
    assert hooks["postdeploy"]["windows"]["run"] == "./infra/scripts/postdeploy.ps1"
    assert hooks["postdeploy"]["posix"]["continueOnError"] is False
    assert os.stat(SCRIPTS / "postdeploy.sh").st_mode & stat.S_IXUSR


# --------------------------------------------------------------------------- postprovision hook


def test_postprovision_ends_with_the_first_feed_and_prints_no_key(hook_env: dict[str, str]) -> None:
    completed = subprocess.run(
        ["bash", str(SCRIPTS / "postprovision.sh")], env=hook_env, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert _log(hook_env) == []  # it only prints
    first_feed = out.index("Drop your first feed")
    assert first_feed > out.index("learncal validate")
    tail = out[first_feed:]
    for expected in ["learncal feed push FILE", "--auth-mode login --account-name sttest", "--container-name feeds",
                     "within a minute", "learncal runs"]:
        assert expected in tail, expected
    # The admin routes refuse the default function key: the hook must not offer it, nor any key.
    for text in (out, (SCRIPTS / "postprovision.ps1").read_text()):
        assert "functionKeys" not in text and "keys list" not in text
    assert "/api/console/" in out and "get-access-token" in out  # people sign in; automation uses Entra tokens
    sftp = subprocess.run(
        ["bash", str(SCRIPTS / "postprovision.sh")], env={**hook_env, "AZURE_FEED_SFTP_ENABLED": "true"},
        capture_output=True, text=True, timeout=30,
    ).stdout
    assert "user sttest.feeddrop" in sftp and "local-user regenerate-password" in sftp
    assert "local-user" not in out


# --------------------------------------------------------------------------- setup guide


def test_setup_guide_ends_the_setup_with_the_first_feed_and_documents_the_drop() -> None:
    text = (ROOT / "docs" / "setup.md").read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings.index("Drop your first feed") == headings.index("Step 8 – Hourly schedule") + 1
    section = text[text.index("## Drop your first feed"):text.index("## The feed drop")]
    for needed in ["learncal feed push", "az storage blob upload --auth-mode login", "--container-name feeds",
                   "within a minute", "learncal runs", "no feed yet", "azd hooks run postdeploy"]:
        assert needed in section, needed
    drop = text[text.index("## The feed drop"):text.index("## Alerts")]
    for needed in ["Storage Queue Data Contributor", "Storage Blob Data Owner", "Storage Blob Data Contributor",
                   "Microsoft.Storage.BlobCreated", "SftpCommit", "FlushWithClose", "blobs_extension",
                   "Host.Functions.feed_arrived", "LEARNCAL_FEED_STORAGE__blobServiceUri", "LEARNCAL_FEED_KEEP_DAYS",
                   "FEED_SFTP_ENABLED", "local-user regenerate-password",
                   "Azure-Samples/functions-quickstart-python-azd-eventgrid-blob"]:
        assert needed in drop, needed
    # Every Microsoft statement there names its page.
    assert len(re.findall(r"https://learn\.microsoft\.com/", drop)) >= 10
    # The admin API takes an Entra sign-in; the guide must not offer the default function key.
    assert "functionKeys.default" not in text


def test_postprovision_names_the_whole_organizer_pool(hook_env: dict[str, str]) -> None:
    pool = "lc1@contoso.com,lc2@contoso.com"
    env = {**hook_env, "LEARNCAL_ORGANIZERS": pool, "LEARNCAL_ORGANIZER": "lc1@contoso.com"}
    out = subprocess.run(
        ["bash", str(SCRIPTS / "postprovision.sh")], env=env, capture_output=True, text=True, timeout=30
    ).stdout
    assert "-PrimarySmtpAddress lc1@contoso.com,lc2@contoso.com" in out
    assert "-Organizer lc1@contoso.com,lc2@contoso.com" in out
    assert "Choose the organizer" not in out


def test_postdeploy_masks_the_key_in_a_refusal_that_quotes_the_endpoint(hook_env: dict[str, str]) -> None:
    completed = _postdeploy({**hook_env, "FAKE_CREATE_FAILS": "1"})
    assert completed.returncode != 0
    assert "Webhook validation handshake failed for " + WEBHOOK + "<blobs_extension key>" in completed.stderr
    assert hook_env["FAKE_KEY"] not in completed.stderr + completed.stdout
    assert not list(Path(hook_env["TMPDIR"]).glob("tmp.*")), "a temporary file with the key is left behind"


def test_the_queues_follow_the_table_prefix_in_every_place() -> None:
    """The storage account's queues and the triggers' settings are the names the product sends to, for any prefix."""
    from shared.queue.names import QUEUE_SETTINGS

    main = (INFRA / "main.bicep").read_text()
    app = (MODULES / "function-app.bicep").read_text()
    for queue in QUEUE_SETTINGS:
        suffix = queue.base.removeprefix("learncal-")
        expression = "'${toLower(tablePrefix)}-" + suffix + "'"
        assert f"{queue.setting}: {expression}" in app, queue.setting
        assert re.search(r"queueNames: \[[^\]]*" + re.escape(expression), main), suffix
    function_app = (ROOT / "function_app.py").read_text()
    triggers = re.findall(r'queue_trigger\([^)]*queue_name="([^"]+)"', function_app)
    assert sorted(triggers) == sorted(f"%{q.setting}%" for q in QUEUE_SETTINGS)

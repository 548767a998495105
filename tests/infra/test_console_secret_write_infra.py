"""The opt-in that lets the console save the client secret: one role, on one secret, only when asked.

Expectations come from Microsoft's documentation, not from the Bicep: Azure RBAC for Key Vault
assigns data-plane roles at the scope of an individual secret ("Secret scope role assignment",
https://learn.microsoft.com/azure/key-vault/general/rbac-guide), and Key Vault Secrets Officer is
the built-in role b86a8fe4-44ce-4948-aee5-eccb2c155cd7
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-officer).

Without the Bicep CLI the templates are not compiled, so `deployed_assignments` plays the part of
Resource Manager for the one thing checked here: which role assignments a provision with given
parameters creates from main.bicep's modules (a conditional module deploys only when its
condition holds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

_PARSED: dict[Path, dict[str, Any]] = {}


def parse(path: Path) -> dict[str, Any]:
    if path not in _PARSED:
        _PARSED[path] = BicepParser().parse(file_path=path)
    return _PARSED[path]


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    return config["config"] if set(config) == {"condition", "config"} else config


def evaluate(expression: Any, params: dict[str, Any]) -> Any:
    """The small part of Bicep's expression language main.bicep's module conditions use."""
    if isinstance(expression, (bool, int)):
        return expression
    if isinstance(expression, str):
        if expression in params:
            return params[expression]
        variables = parse(INFRA / "main.bicep")["variables"]
        if expression in variables:
            return evaluate(variables[expression]["value"], params)
        return expression  # a string literal
    if "function" in expression:
        function = expression["function"]
        assert function["type"] == "empty", f"condition calls {function['type']}, which this check does not evaluate"
        return not evaluate(function["parameters"]["item_to_test"], params)
    operator = expression["operator"]
    operands = [evaluate(o, params) for o in operator["operands"].values()]
    kinds = {
        "and": lambda: all(operands),
        "or": lambda: any(operands),
        "equals": lambda: operands[0] == operands[1],
        "not_equals": lambda: operands[0] != operands[1],
        "not": lambda: not operands[0],
    }
    assert operator["type"] in kinds, f"condition uses {operator['type']}, which this check does not evaluate"
    return kinds[operator["type"]]()


def provision_parameters(**overrides: Any) -> dict[str, Any]:
    """main.bicep's parameter defaults, as azd passes them when the environment sets nothing else."""
    params = {name: p.get("default") for name, p in parse(INFRA / "main.bicep")["parameters"].items()}
    params.update(overrides)
    return params


def deployed_assignments(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every role assignment the provision creates: module, resource symbol, its body and its module's params."""
    found = []
    for symbol, module in parse(INFRA / "main.bicep")["modules"].items():
        config = module["config"]
        if "condition" in config and not evaluate(config["condition"], params):
            continue
        path = INFRA / module["detail"]["path"]
        for name, resource in parse(path).get("resources", {}).items():
            if resource["type"] != "Microsoft.Authorization/roleAssignments":
                continue
            found.append({"module": symbol, "resource": name, "body": unwrap(resource["config"]),
                          "path": path, "params": unwrap(config)["params"]})
    return found


def role_of(assignment: dict[str, Any]) -> str:
    variables = {n: v["value"] for n, v in parse(assignment["path"]).get("variables", {}).items()}
    role = assignment["body"]["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    return str(variables.get(role, role))


def officer_assignments(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in deployed_assignments(params) if role_of(a) == SECRETS_OFFICER]


def test_the_opt_in_is_off_unless_the_azd_environment_turns_it_on() -> None:
    param = parse(INFRA / "main.bicep")["parameters"]["allowConsoleSecretWrite"]
    assert param["type"] == "bool" and param["default"] is False
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["allowConsoleSecretWrite"]["value"] == "${ALLOW_CONSOLE_SECRET_WRITE=false}"


def test_off_by_default_the_function_identity_gets_no_write_role() -> None:
    officers = officer_assignments(provision_parameters(deployerPrincipalId="deployer-object-id"))

    # The deploying person keeps Secrets Officer (create-client-secret.sh); the function app gets none.
    assert [a["body"]["properties"]["principalId"] for a in officers] == ["deployerPrincipalId"]
    readers = [a for a in deployed_assignments(provision_parameters()) if role_of(a) == SECRETS_USER]
    assert [a["body"]["properties"]["principalId"] for a in readers] == ["identityPrincipalId"]


def test_on_it_grants_secrets_officer_on_the_one_client_secret_to_the_function_identity() -> None:
    officers = officer_assignments(provision_parameters(allowConsoleSecretWrite=True))

    mine = [a for a in officers if a["body"]["properties"]["principalId"] == "identityPrincipalId"]
    assert len(mine) == 1, mine
    assignment = mine[0]
    body = assignment["body"]
    # Principal: the module's identityPrincipalId is the function app's managed identity.
    passed = assignment["params"]["identityPrincipalId"]["operator"]["operands"]
    assert passed["operand_1"] == "identity"
    assert passed["operand_2"]["operator"]["operands"] == {"operand_1": "outputs", "operand_2": "principalId"}
    # Scope: the secret named LEARNCAL_CLIENT_SECRET_NAME in this deployment's vault, not the vault.
    target = parse(assignment["path"])["resources"][body["scope"]]
    assert target["type"] == "Microsoft.KeyVault/vaults/secrets" and target["existing"] is True
    assert target["config"]["name"] == "clientSecretName"
    assert assignment["params"]["clientSecretName"] == "clientSecretName"
    parent = parse(assignment["path"])["resources"][target["config"]["parent"]]
    assert parent["type"] == "Microsoft.KeyVault/vaults" and parent["config"]["name"] == "keyVaultName"
    assert assignment["params"]["keyVaultName"]["operator"]["operands"]["operand_1"] == "keyVault"
    assert body["properties"]["principalType"] == "ServicePrincipal"


def test_federated_mode_has_no_secret_to_write() -> None:
    officers = officer_assignments(provision_parameters(allowConsoleSecretWrite=True, authMode="federated"))

    assert all(a["body"]["properties"]["principalId"] != "identityPrincipalId" for a in officers)


def test_the_guides_name_the_opt_in_and_the_order() -> None:
    readme = (INFRA / "README.md").read_text()
    assert "ALLOW_CONSOLE_SECRET_WRITE" in readme and "allowConsoleSecretWrite" in readme
    setup = (ROOT / "docs" / "setup.md").read_text()
    assert "azd env set ALLOW_CONSOLE_SECRET_WRITE true" in setup
    assert setup.index("create-client-secret.sh") < setup.index("azd env set ALLOW_CONSOLE_SECRET_WRITE true")

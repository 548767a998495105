"""The deployed tables from an administrator's machine: their Azure sign-in, and the role to ask for."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shared.cli import cli
from shared.settings import Settings
from shared.store.tables import storage_credential


def test_outside_azure_without_a_sign_in_the_cli_names_the_sign_in_and_the_data_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("WEBSITE_SITE_NAME", "IDENTITY_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, azd or pwsh: nobody is signed in on this machine
    monkeypatch.setenv("AzureWebJobsStorage__tableServiceUri", "https://127.0.0.1:9/devstoreaccount1")

    result = CliRunner().invoke(cli, ["runs"])

    assert result.exit_code == 1
    assert "No Azure sign-in on this machine was accepted" in result.output
    assert "az login" in result.output and "'Storage Table Data Contributor'" in result.output
    assert "Traceback" not in result.output


def test_in_azure_the_managed_identity_is_the_storage_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    settings = Settings.from_env({"AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net",
                                  "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-0000000000c1"})
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-x")
    in_azure = storage_credential(settings)
    monkeypatch.delenv("WEBSITE_SITE_NAME")
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    on_a_laptop = storage_credential(settings)

    assert isinstance(in_azure, ManagedIdentityCredential)
    assert isinstance(on_a_laptop, DefaultAzureCredential)

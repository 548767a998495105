"""Connection to Azure Table Storage (Azurite locally) and the key encoding all tables share."""

from __future__ import annotations

import base64
import json
import os
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from shared.errors import ConfigurationError, StorageUnreachable
from shared.settings import DEVELOPMENT_STORAGE, Settings

TABLES = {
    "invitations": "Invitations",
    "offerings": "Offerings",
    "runs": "Runs",
    "leases": "Leases",
    "provider": "Provider",
    "sendlog": "SendLog",
    "feeds": "Feeds",
    "audit": "Audit",
    "jobs": "Jobs",
    "work": "Work",
    "templates": "Templates",
    "subscriptions": "Subscriptions",
    "responses": "Responses",
}
DEFAULT_PREFIX = "Learncal"


def key_part(value: str) -> str:
    """Table keys may not contain / \\ # ? or control characters; percent-encoding keeps them readable."""
    return quote(value, safe="@")


STORAGE_SCOPE = "https://storage.azure.com/.default"
DATA_ROLE = "Storage Table Data Contributor"


def in_azure() -> bool:
    """Running on an App Service / Functions host, where the app's managed identity is the credential."""
    return bool(os.environ.get("WEBSITE_SITE_NAME") or os.environ.get("IDENTITY_ENDPOINT"))


def storage_credential(settings: Settings) -> Any:
    """The credential for identity-based storage settings (`AzureWebJobsStorage__*ServiceUri`).

    In Azure: the function app's managed identity. On an administrator's machine (the same
    settings pointing at the deployed account): their Azure sign-in through
    DefaultAzureCredential (environment, workload identity, Azure CLI, azd, PowerShell), so
    `learncal runs`, `mapping rebuild` and `provider` work against the deployed tables.
    """
    if in_azure():
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=settings.storage_client_id)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


@cache
def azure_sign_in_name() -> str | None:
    """The name in this machine's Azure sign-in (upn or app id), for the audit trail; None when unknown.

    The token is only read for its claims, never verified or kept: the storage service
    verifies it.
    """
    try:
        from azure.identity import DefaultAzureCredential

        token = DefaultAzureCredential(exclude_interactive_browser_credential=True).get_token(STORAGE_SCOPE).token
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:
        return None
    for name in ("upn", "unique_name", "preferred_username", "email"):
        if isinstance(claims.get(name), str):
            return str(claims[name])
    return f"application {claims['appid']}" if isinstance(claims.get("appid"), str) else None


def table_service(settings: Settings) -> Any:
    """A TableServiceClient from the connection string, or from identity-based settings (see storage_credential)."""
    from azure.data.tables import TableServiceClient

    if settings.table_service_uri:
        return TableServiceClient(endpoint=settings.table_service_uri, credential=storage_credential(settings))
    connection = settings.storage_connection
    if connection.strip().lower() in ("usedevelopmentstorage=true", "usedevelopmentstorage=true;"):
        connection = DEVELOPMENT_STORAGE
    try:
        return TableServiceClient.from_connection_string(connection)
    except ValueError as error:
        raise ConfigurationError(
            f"AzureWebJobsStorage is not a usable storage connection string ({error}). Use your storage "
            "account's connection string, or UseDevelopmentStorage=true for Azurite on this machine."
        ) from None


def storage_endpoint(service: Any) -> str:
    """The table endpoint without query (a SAS would be a secret), for messages."""
    url = str(getattr(service, "url", "") or "")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/") if parts.netloc else "the configured endpoint"


def storage_unreachable(error: BaseException, endpoint: str, *, identity: bool = False) -> StorageUnreachable | None:
    """Table Storage's connection failures and refusals in words that say what to start or set.

    None for anything else (a conflict, a missing entity): those are the callers' business.
    """
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    host = urlsplit(endpoint).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    port = urlsplit(endpoint).port if local else None
    if isinstance(error, ServiceRequestError):
        if local:
            fix = (
                "Start Azurite, the storage emulator `make demo` starts: `npx azurite-table --tableHost 127.0.0.1 "
                f"--tablePort {port or 10002} --inMemoryPersistence` (after `npm ci`), or set AzureWebJobsStorage "
                "to your storage account's connection string."
            )
        else:
            fix = (
                "Check AzureWebJobsStorage (or AzureWebJobsStorage__tableServiceUri in Azure), and that the "
                "network allows this machine to reach the storage account."
            )
        return StorageUnreachable("Azure Table Storage", endpoint, fix, detail="no connection")
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code in (401, 403)
    ):
        if not identity:
            fix = "The storage account refused the credentials: check the account key in AzureWebJobsStorage."
        elif in_azure():
            fix = (f"The storage account refused the function app's managed identity: give it '{DATA_ROLE}' on "
                   "the storage account (the Bicep in infra/ does).")
        else:
            fix = ("No Azure sign-in on this machine was accepted (none found, expired, or refused): sign in with "
                   "`az login` (or `azd auth login`) "
                   + f"as someone holding '{DATA_ROLE}' on the storage account, or have an owner assign it: "
                   + f"az role assignment create --role \"{DATA_ROLE}\" --assignee <your sign-in> --scope "
                   "<the storage account's resource id>. `azd provision` assigns it to the deployer.")
        return StorageUnreachable("Azure Table Storage", endpoint, fix, detail="access refused")
    return None


class Tables:
    """The product's tables, created on first use. A prefix keeps separate installations (or tests) apart."""

    def __init__(self, service: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self._service = service
        self._prefix = prefix
        self._clients: dict[str, Any] = {}

    def __getitem__(self, role: str) -> Any:
        client = self._clients.get(role)
        if client is None:
            try:
                client = self._service.create_table_if_not_exists(self._prefix + TABLES[role])
            except Exception as error:  # the first contact with storage: say which endpoint and what to do
                identity = hasattr(getattr(self._service, "credential", None), "get_token")
                mapped = storage_unreachable(error, self.endpoint, identity=identity)
                if mapped is None:
                    raise
                raise mapped from None
            self._clients[role] = client
        return client

    @property
    def prefix(self) -> str:
        """The installation's name prefix; its queues are named after it too (shared/queue/wakeup.py)."""
        return self._prefix

    @property
    def endpoint(self) -> str:
        return storage_endpoint(self._service)

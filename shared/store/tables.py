"""Connection to Azure Table Storage (Azurite locally) and the key encoding all tables share."""

from __future__ import annotations

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
    "work": "Work",
}
DEFAULT_PREFIX = "Learncal"


def key_part(value: str) -> str:
    """Table keys may not contain / \\ # ? or control characters; percent-encoding keeps them readable."""
    return quote(value, safe="@")


def table_service(settings: Settings) -> Any:
    """A TableServiceClient from the connection string, or from identity-based settings in Azure."""
    from azure.data.tables import TableServiceClient

    if settings.table_service_uri:
        from azure.identity import ManagedIdentityCredential

        credential = ManagedIdentityCredential(client_id=settings.storage_client_id)
        return TableServiceClient(endpoint=settings.table_service_uri, credential=credential)
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


def storage_unreachable(error: BaseException, endpoint: str) -> StorageUnreachable | None:
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
        return StorageUnreachable(
            "Azure Table Storage", endpoint,
            "The storage account refused the credentials: check the account key in AzureWebJobsStorage, or in "
            "Azure give the function app's identity 'Storage Table Data Contributor'.",
            detail="access refused",
        )
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
                mapped = storage_unreachable(error, self.endpoint)
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

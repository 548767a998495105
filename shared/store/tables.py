"""Connection to Azure Table Storage (Azurite locally) and the key encoding all tables share."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.settings import DEVELOPMENT_STORAGE, Settings

TABLES = {
    "invitations": "Invitations",
    "offerings": "Offerings",
    "runs": "Runs",
    "leases": "Leases",
    "provider": "Provider",
    "sendlog": "SendLog",
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
    return TableServiceClient.from_connection_string(connection)


class Tables:
    """The product's tables, created on first use. A prefix keeps separate installations (or tests) apart."""

    def __init__(self, service: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self._service = service
        self._prefix = prefix
        self._clients: dict[str, Any] = {}

    def __getitem__(self, role: str) -> Any:
        client = self._clients.get(role)
        if client is None:
            client = self._service.create_table_if_not_exists(self._prefix + TABLES[role])
            self._clients[role] = client
        return client

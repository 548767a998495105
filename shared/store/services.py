"""Clients of the storage account's queue and blob services, from the same settings as the tables.

Locally the connection string names Azurite's endpoints; in Azure the app reaches each service
with its managed identity through `AzureWebJobsStorage__queueServiceUri` /
`__blobServiceUri`, the same identity-based convention the Functions host reads for its triggers.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ConfigurationError
from shared.settings import DEVELOPMENT_STORAGE, Settings


def _connection(settings: Settings) -> str:
    connection = settings.storage_connection
    if connection.strip().lower() in ("usedevelopmentstorage=true", "usedevelopmentstorage=true;"):
        connection = DEVELOPMENT_STORAGE
    return connection


def _credential(settings: Settings) -> Any:
    from shared.store.tables import storage_credential

    return storage_credential(settings)


def _unusable(error: ValueError) -> ConfigurationError:
    return ConfigurationError(
        f"AzureWebJobsStorage is not a usable storage connection string ({error}). Use your storage "
        "account's connection string, or UseDevelopmentStorage=true for Azurite on this machine."
    )


def queue_client(settings: Settings, name: str) -> Any:
    """A QueueClient sending text as base64, the Functions queue trigger's default message encoding.

    The SDK does not base64-encode by default, and a QueueServiceClient does not pass encode
    policies on to the queue clients it makes, so each queue client is built here with them.
    """
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    policies: dict[str, Any] = {"message_encode_policy": TextBase64EncodePolicy(),
                                "message_decode_policy": TextBase64DecodePolicy()}
    if settings.queue_service_uri:
        return QueueClient(account_url=settings.queue_service_uri, queue_name=name,
                           credential=_credential(settings), **policies)
    try:
        return QueueClient.from_connection_string(_connection(settings), name, **policies)
    except ValueError as error:
        raise _unusable(error) from None


def blob_service(settings: Settings) -> Any:
    """A BlobServiceClient for the app's own storage account."""
    from azure.storage.blob import BlobServiceClient

    if settings.blob_service_uri:
        return BlobServiceClient(account_url=settings.blob_service_uri, credential=_credential(settings))
    try:
        return BlobServiceClient.from_connection_string(_connection(settings))
    except ValueError as error:
        raise _unusable(error) from None


def feed_blob_service(settings: Settings, *, account_url: str | None = None, credential: Any = None) -> Any:
    """A BlobServiceClient for the feed drop: the LEARNCAL_FEED_STORAGE connection, else the app's own storage.

    In Azure `LEARNCAL_FEED_STORAGE__blobServiceUri` names the drop's blob service, reached with
    the managed identity (the same identity-based convention the blob trigger's connection uses);
    locally `LEARNCAL_FEED_STORAGE` may hold a connection string. A workstation passes its own
    `account_url` and credential (the operator's sign-in) instead.
    """
    from azure.storage.blob import BlobServiceClient

    url = account_url or settings.feed_blob_service_uri
    if url:
        if credential is None:
            from azure.identity import ManagedIdentityCredential

            credential = ManagedIdentityCredential(client_id=settings.feed_storage_client_id
                                                   or settings.storage_client_id)
        return BlobServiceClient(account_url=url, credential=credential)
    if settings.feed_storage_connection:
        connection = settings.feed_storage_connection
        if connection.strip().lower() in ("usedevelopmentstorage=true", "usedevelopmentstorage=true;"):
            connection = DEVELOPMENT_STORAGE
        try:
            return BlobServiceClient.from_connection_string(connection)
        except ValueError as error:
            raise ConfigurationError(
                f"LEARNCAL_FEED_STORAGE is not a usable storage connection string ({error}). Use the connection "
                "string of the storage account holding the feed drop, or leave it empty to use AzureWebJobsStorage."
            ) from None
    return blob_service(settings)

"""The queue and blob clients reach Azurite's services with the product's storage settings."""

from __future__ import annotations

import base64
import json

from azure.storage.queue import QueueClient

from shared.local.azurite import RunningAzurite
from shared.settings import Settings
from shared.store.services import blob_service, queue_client


def test_queue_messages_are_base64_text_as_the_functions_queue_trigger_expects(azurite: RunningAzurite) -> None:
    settings = Settings.from_env({"AzureWebJobsStorage": azurite.connection_string})
    queue = queue_client(settings, "services-encoding")
    queue.create_queue()
    queue.send_message(json.dumps({"organizer": "coordinator@contoso.example"}))

    plain = QueueClient.from_connection_string(azurite.connection_string, "services-encoding")  # no decoding
    wire = plain.peek_messages()[0].content
    assert json.loads(base64.b64decode(wire)) == {"organizer": "coordinator@contoso.example"}
    assert json.loads(queue.peek_messages()[0].content) == {"organizer": "coordinator@contoso.example"}


def test_blob_service_stores_and_lists_blobs_in_the_apps_account(azurite: RunningAzurite) -> None:
    settings = Settings.from_env({"AzureWebJobsStorage": azurite.connection_string})
    container = blob_service(settings).get_container_client("services-check")
    container.create_container()
    container.upload_blob("feed.json", b'{"offerings": []}')
    assert [b.name for b in container.list_blobs()] == ["feed.json"]
    assert container.download_blob("feed.json").readall() == b'{"offerings": []}'

"""A local stand-in for the Event Grid-based blob trigger: new blobs in Azurite's feed drop call `feed_arrived`.

Azurite does not emulate Event Grid (it serves blob, queue and table storage only), so nothing
would tell the local function app that a feed landed. `BlobEvents` lists the container now and
then and, for each blob it has not seen before (by name and ETag, so an overwritten blob counts
as new, as a second BlobCreated event would), calls the function with an
`azure.functions.InputStream` decoded by the library's own blob converter from the same trigger
data the host passes: the content, `BlobTrigger` ("container/name"), `Uri`, `Properties` and
`Metadata`. The platform delivers only blobs created after the subscription exists, so the
blobs present when the stand-in starts are taken as already delivered.

Uncommitted block-blob uploads are not listed (see shared/feed/blobdrop.py), which matches the
platform: Event Grid raises BlobCreated when the block list is committed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import azure.functions as func

from shared.feed.blobdrop import DEFAULT_CONTAINER
from shared.settings import Settings

log = logging.getLogger("learncal.local")

Delivered = Callable[[func.InputStream], Any]


def input_stream(container: str, name: str, data: bytes, *, uri: str, properties: dict[str, Any],
                 metadata: dict[str, str] | None = None) -> func.InputStream:
    """The InputStream a blob-triggered function receives, built through the library's converter."""
    from azure.functions.blob import BlobConverter
    from azure.functions.meta import Datum

    trigger_metadata = {
        "BlobTrigger": Datum(f"{container}/{name}", "string"),
        "Uri": Datum(uri, "string"),
        "Properties": Datum(json.dumps(properties, default=_json_default), "json"),
        "Metadata": Datum(json.dumps(metadata or {}), "json"),
    }
    stream: func.InputStream = BlobConverter.decode(Datum(data, "bytes"), trigger_metadata=trigger_metadata)
    return stream


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class BlobEvents:
    """Polls one container and delivers each new blob to `function`, one at a time, oldest first."""

    def __init__(self, settings: Settings, function: Delivered, *, container: str = DEFAULT_CONTAINER,
                 interval: float = 1.0, service: Any = None, include_existing: bool = False) -> None:
        if service is None:
            from shared.store.services import feed_blob_service

            service = feed_blob_service(settings)
        self._client = service.get_container_client(container)
        self._container = container
        self._function = function
        self._interval = interval
        self._seen: set[tuple[str, str]] = set() if include_existing else self._listed()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def _listed(self) -> set[tuple[str, str]]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return {(b.name, str(b.etag)) for b in self._client.list_blobs()}
        except ResourceNotFoundError:
            return set()

    def poll(self) -> list[str]:
        """Deliver every blob not delivered yet; the names delivered."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            blobs = sorted(self._client.list_blobs(include=["metadata"]), key=lambda b: (b.last_modified, b.name))
        except ResourceNotFoundError:
            return []
        delivered: list[str] = []
        for blob in blobs:
            key = (blob.name, str(blob.etag))
            if key in self._seen:
                continue
            self._seen.add(key)
            client = self._client.get_blob_client(blob.name)
            try:
                data = client.download_blob().readall()
            except ResourceNotFoundError:
                continue  # deleted before it could be delivered: the platform would deliver an event, then fail
            properties = {
                "ContentLength": blob.size, "ContentType": blob.content_settings.content_type, "ETag": blob.etag,
                "LastModified": blob.last_modified, "CreatedOn": blob.creation_time, "BlobType": "BlockBlob",
            }
            stream = input_stream(self._container, blob.name, data, uri=client.url, properties=properties,
                                  metadata=dict(blob.metadata or {}))
            try:
                self._function(stream)
            except Exception as error:  # the host logs a failed invocation and carries on
                log.exception("feed_arrived failed for %s", blob.name)
                self.errors.append(error)
            delivered.append(blob.name)
        return delivered

    def start(self) -> BlobEvents:
        self._thread = threading.Thread(target=self._loop, name="blob-events", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                log.warning("could not list the %s container", self._container, exc_info=True)
            self._stop.wait(self._interval)


def for_app(app: Any, *, interval: float = 1.0) -> BlobEvents:
    """The stand-in for one installation (`learncal serve`, the demo, tests): it watches the container
    LEARNCAL_FEED names (blob:CONTAINER), else `feeds`, and calls feed_arrived's body with that app."""
    from shared.feed.arrival import on_feed_arrived
    from shared.feed.upload import drop_container

    def feed_arrived(blob: func.InputStream) -> None:
        on_feed_arrived(blob, app)

    return BlobEvents(app.settings, feed_arrived, container=drop_container(app.settings.feed), interval=interval)

"""Wake-up messages on the `learncal-send` queue: "drain organizer X", never the work itself.

The work waits in the work table (shared/queue/work.py), where it keeps its order and can be
checked, replaced and cleared; a message only says whose work to look at and when. A drain
that stops for the sending budget sends the next message with a visibility timeout equal to
when the budget has room again, so nothing polls while the budget is spent
(https://learn.microsoft.com/azure/storage/queues/storage-queues-introduction, and the
`visibilitytimeout` of Put Message:
https://learn.microsoft.com/rest/api/storageservices/put-message).

An installation with its own table prefix (tests, a second install in the same account) gets
queues of its own (shared/queue/names.py); the function app's triggers read the names from app settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from dataclasses import dataclass
from typing import Any

from shared.errors import DependencyUnreachable
from shared.queue.names import POISON_SUFFIX, SEND_QUEUE, queue_name
from shared.settings import Settings
from shared.store.services import queue_client
from shared.store.tables import Tables

log = logging.getLogger("learncal.queue")

__all__ = ["MAX_VISIBILITY", "POISON_SUFFIX", "SEND_QUEUE", "Sent", "WakeUp", "WakeUps", "queue_name"]

MAX_VISIBILITY = 7 * 24 * 3600 - 1  # Put Message allows up to seven days


@dataclass(frozen=True)
class WakeUp:
    organizer: str
    run_id: str | None

    def text(self) -> str:
        return json.dumps({"organizer": self.organizer, "runId": self.run_id})

    @classmethod
    def parse(cls, text: str) -> WakeUp:
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("the wake-up message is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("organizer"), str) or not data["organizer"]:
            raise ValueError('the wake-up message must be {"organizer": "<address>", "runId": "<id>"|null}')
        run_id = data.get("runId")
        return cls(data["organizer"], run_id if isinstance(run_id, str) and run_id else None)


@dataclass(frozen=True)
class Sent:
    id: str
    pop_receipt: str


class WakeUps:
    """Sends (and withdraws) wake-up messages; the queue is created on first use."""

    def __init__(self, settings: Settings, tables: Tables) -> None:
        self.settings = settings
        self.name = queue_name(tables)
        self._client: Any = None

    def client(self, poison: bool = False) -> Any:
        if poison:
            return _created(queue_client(self.settings, self.name + POISON_SUFFIX))
        if self._client is None:
            self._client = _created(queue_client(self.settings, self.name))
        return self._client

    def send(self, organizer: str, run_id: str | None, *, delay: float = 0.0) -> Sent:
        """`delay`: real seconds before the message becomes visible (rounded up to whole seconds)."""
        seconds = min(MAX_VISIBILITY, max(0, math.ceil(delay)))
        message = self.client().send_message(WakeUp(organizer, run_id).text(), visibility_timeout=seconds)
        log.info("wake-up for %s in %d s (run %s)", organizer, seconds, run_id)
        return Sent(message.id, message.pop_receipt)

    def withdraw(self, sent: Sent) -> None:
        """Remove a message sent earlier (it was a safety net that is no longer needed)."""
        from azure.core.exceptions import HttpResponseError

        with contextlib.suppress(HttpResponseError):  # already seen by a worker: it finds the work done
            self.client().delete_message(sent.id, sent.pop_receipt)


def _created(client: Any) -> Any:
    """The queue, created on first use; an unreachable queue service is named with what to do."""
    from azure.core.exceptions import ResourceExistsError, ServiceRequestError

    from shared.store.tables import storage_endpoint

    try:
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
    except ServiceRequestError:
        raise DependencyUnreachable(
            "Azure Queue Storage", storage_endpoint(client),
            "Start Azurite with its queue service (`make demo` starts blob, queue and table), or check "
            "AzureWebJobsStorage (AzureWebJobsStorage__queueServiceUri in Azure).", detail="no connection",
        ) from None
    return client

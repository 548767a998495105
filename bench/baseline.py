"""The naive baseline: the same invitations, one request at a time, no batching, no pacing.

It sends exactly the product's create bodies through the same SDK client and records the
same mapping rows, so the work is the same; only the way it is done differs. Throttled
answers are waited out (Retry-After), which is the least any client must do to finish.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.calendar.gateway import NewEvent
from shared.calendar.graph_client import build_graph_client
from shared.calendar.graph_gateway import Requests
from shared.calendar.retry import parse_retry_after
from shared.domain import Feed
from shared.planning.desired import desired_state
from shared.planning.sent import SentRecord
from shared.settings import Settings
from shared.store.mapping import MappingStore
from shared.sync.executor import transaction_id
from shared.sync.rebuild import event_state


def run_baseline(settings: Settings, credential: Any, feed: Feed, mapping: MappingStore, *, now: datetime,
                 progress: Callable[[str], None] = print) -> tuple[int, float]:
    """Creates every wanted invitation in urgency order; returns (invitations, seconds)."""
    desired = desired_state(feed, now=now)
    wanted = sorted(desired.wanted.values(), key=lambda inv: (inv.start_utc, inv.key))
    organizer = settings.organizer or ""

    async def main() -> None:
        client = build_graph_client(credential, settings.graph_url)
        adapter = client.request_adapter
        requests = Requests(client.users.by_user_id(organizer).events, adapter.base_url)
        try:
            for number, inv in enumerate(wanted, 1):
                record = SentRecord(key=inv.key, organizer=organizer, role=inv.role, state="live", key_fp=inv.key_fp,
                                    hashes=inv.content.hashes(), start_utc=inv.start_utc, end_utc=inv.end_utc)
                event = NewEvent(inv.content.properties(), inv.key.email, inv.name, inv.key.tag(),
                                 transaction_id(inv.key, 0), event_state(record))
                body = requests.create("1", event).body
                created = await _post(adapter, settings.graph_url, organizer, body)
                await asyncio.to_thread(mapping.put, record.but(event_id=created))
                if number % 100 == 0:
                    progress(f"  baseline: {number}/{len(wanted)}")
        finally:
            await adapter._http_client.aclose()

    started = time.monotonic()
    asyncio.run(main())
    return len(wanted), time.monotonic() - started


async def _post(adapter: Any, graph_url: str, organizer: str, body: Any) -> str:
    """One POST through the SDK's adapter (its auth and middleware); waits out throttling."""
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    while True:
        info = RequestInformation(Method.POST, "{+baseurl}/users/{user}/events")
        info.path_parameters["user"] = organizer
        info.headers.try_add("Content-Type", "application/json")
        info.content = json.dumps(body).encode()
        try:
            raw = await adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
        except ODataError as error:
            if error.response_status_code == 429:
                headers = error.response_headers or {}
                wait = parse_retry_after(next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None))
                await asyncio.sleep(wait if wait is not None else 1.0)
                continue
            raise
        return str(json.loads(raw)["id"])

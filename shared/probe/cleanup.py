"""Removes every probe event, also after a failed step, and checks that none is left.

Events are found twice over: by the ids the steps saw, and by a look-up of every tag the probe
wrote (a create whose answer was lost may still have landed). DELETE removes a meeting and,
for one still live, sends its cancellation, which only the test attendee can receive.
"""

from __future__ import annotations

from typing import Any

from shared.calendar.batch import MAX_REQUESTS
from shared.probe.measure import Ledger, answer
from shared.probe.requests import Requests, ids_in
from shared.probe.wire import Wire


async def _tagged(wire: Wire, requests: Requests, tags: list[str], *, live_only: bool) -> list[str]:
    found: list[str] = []
    for start in range(0, len(tags), MAX_REQUESTS):
        for response in await wire.settled([requests.find(tag) for tag in tags[start:start + MAX_REQUESTS]]):
            if response.ok:
                found.extend(i for i in ids_in(response.body, live_only=live_only) if i not in found)
    return found


async def clean_up(wire: Wire, requests: Requests, ledger: Ledger) -> dict[str, Any]:
    targets = list(ledger.event_ids)
    targets += [i for i in await _tagged(wire, requests, ledger.tags, live_only=False) if i not in targets]
    removed, failures = 0, []
    for start in range(0, len(targets), MAX_REQUESTS):
        chunk = targets[start:start + MAX_REQUESTS]
        for response in await wire.settled([requests.delete(event_id) for event_id in chunk]):
            if response.ok or response.status == 404:  # 404: gone already (a cancelled meeting may be)
                removed += 1
            else:
                failures.append(answer(response))
    left = await _tagged(wire, requests, ledger.tags, live_only=True)
    return {"created": len(targets), "removed": removed, "leftBehind": left, "failures": failures}

"""What is queued, parked and poisoned, and how to stop it: `learncal queue show|clear|requeue`, /api/queue."""

from __future__ import annotations

import json
import logging
from typing import Any

from shared.queue.wakeup import WakeUps
from shared.queue.work import WorkStore
from shared.settings import Settings
from shared.store.offerings import OfferingStore
from shared.store.sendlog import TableSendLog
from shared.store.tables import Tables

log = logging.getLogger("learncal.queue")

PEEK = 32  # the most messages Peek Messages returns at once


def queue_status(settings: Settings, tables: Tables, *, organizer: str | None = None) -> dict[str, Any]:
    """Per organizer: queued and parked writes, their sessions, the budget used and when the queue is
    expected to be empty; plus the wake-up messages waiting and those in the poison queue."""
    work = WorkStore(tables)
    organizers = work.summary(per_minute=settings.send_per_minute, per_day=settings.send_per_day,
                              send_log=TableSendLog(tables), organizer=organizer)
    wakeups = WakeUps(settings, tables)
    poison = wakeups.client(poison=True)
    poisoned = [_poisoned(m) for m in poison.peek_messages(max_messages=PEEK)]
    if organizer:
        poisoned = [p for p in poisoned if str(p.get("organizer", "")).lower() == organizer.lower()]
    return {
        "queue": wakeups.name,
        "queued": sum(o["queued"] for o in organizers),
        "parked": sum(o["parked"] for o in organizers),
        "messages": _count(wakeups.client()),
        "poison": {"queue": wakeups.name + "-poison", "count": _count(poison) if not organizer else len(poisoned),
                   "messages": poisoned},
        "organizers": organizers,
    }


def clear_queue(settings: Settings, tables: Tables, *, organizer: str | None = None, offering: str | None = None,
                poison: bool = False) -> dict[str, Any]:
    """Remove queued and parked writes (all, one organizer's or one offering's); with `poison`, also the
    poison queue's messages. The offerings concerned stay unsettled, so the next plan decides them again
    from the feed: to stop a rollout for good, fix the feed or set the provider inactive as well."""
    work = WorkStore(tables)
    offerings = {e.get("OfferingId") for e in work.rows(organizer=organizer, offering=offering,
                                                         select=["OfferingId"])}
    removed = work.clear(organizer=organizer, offering=offering)
    store = OfferingStore(tables)
    for offering_id in sorted(o for o in offerings if o):
        store.redecide(offering_id)
    poisoned = 0
    if poison:
        client = WakeUps(settings, tables).client(poison=True)
        poisoned = _count(client)
        client.clear_messages()
    log.warning("queue cleared: %d writes removed (organizer %s, offering %s), %d poison messages", removed,
                organizer or "any", offering or "any", poisoned)
    return {"removed": removed, "offerings": sorted(o for o in offerings if o), "poisonRemoved": poisoned}


def requeue_poison(settings: Settings, tables: Tables) -> int:
    """Move the poison queue's wake-ups back to the send queue (after fixing what made them fail)."""
    wakeups = WakeUps(settings, tables)
    poison = wakeups.client(poison=True)
    moved = 0
    while True:
        batch = list(poison.receive_messages(max_messages=PEEK, messages_per_page=PEEK, visibility_timeout=60))
        if not batch:
            return moved
        for message in batch:
            wakeups.client().send_message(message.content)
            poison.delete_message(message.id, message.pop_receipt)
            moved += 1


def _count(client: Any) -> int:
    return int(client.get_queue_properties().approximate_message_count or 0)


def _poisoned(message: Any) -> dict[str, Any]:
    try:
        body = json.loads(message.content)
    except (TypeError, ValueError):
        body = {"body": str(message.content)[:200]}
    if not isinstance(body, dict):
        body = {"body": str(message.content)[:200]}
    inserted = message.inserted_on.isoformat() if message.inserted_on else None
    return {"id": message.id, "insertedOn": inserted, "dequeueCount": message.dequeue_count,
            "organizer": body.get("organizer"), "runId": body.get("runId")}

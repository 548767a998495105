"""The endpoints Microsoft Graph posts change and lifecycle notifications to.

`POST /api/notifications` and `POST /api/notifications/lifecycle` are anonymous at the host (Graph
sends no token) and excluded from App Service sign-in; each item is trusted only when its
clientState matches the secret stored for its subscription (compared in constant time, never
logged).

- Validation: when a subscription is created, Graph posts `?validationToken=...`; the endpoint
  answers 200 `text/plain` with the token within 10 seconds
  (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation).
- Notifications: answered 202 at once, the reading happens on the `learncal-responses` queue:
  Graph expects an answer within 3 seconds and slows or drops delivery to endpoints that take
  longer (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#processing-the-change-notification).
  Items whose clientState does not match are refused (403 when none matched) and logged without the value.
- Lifecycle notifications (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
  `reauthorizationRequired` renews the subscription (a PATCH of its expiry reauthorizes it),
  `subscriptionRemoved` creates it again, `missed` reads the organizer's delta at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from shared.responses.model import Notification, notifications_of, same_secret
from shared.responses.runner import COALESCE_SECONDS, Task, TaskQueue
from shared.responses.state import CollectionState
from shared.settings import Settings
from shared.store.tables import Tables, table_service

log = logging.getLogger("learncal.responses")
LIFECYCLE_KINDS = {"reauthorizationRequired": "renew", "subscriptionRemoved": "recreate", "missed": "catchup"}
MAX_TOKEN = 1024  # Graph's tokens are about 120 characters; a longer one is not Graph's handshake
RECEIVED = {"notifications": 0, "refused": 0}  # this process's count of notification items, for the benchmark
# When a notification arrived, as the readers compare it with their reads' start; the local hosts of the tests
# and the benchmark set it to the sandbox's (time-scaled) clock, which the workers they run use too.
CLOCK: dict[str, Callable[[], datetime]] = {"now": lambda: datetime.now(UTC)}


@dataclass
class Answer:
    status: int
    body: str = ""
    mimetype: str = "text/plain"
    tasks: list[Task] = field(default_factory=list)


def answer(
    method: str, params: dict[str, str], body: bytes, *, lifecycle: bool,
    settings: Settings | None = None, tables: Tables | None = None, queue: TaskQueue | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Answer:
    """What the endpoint answers to one POST (the function wraps it in an HttpResponse)."""
    token = params.get("validationToken")
    if token is not None:  # the handshake: echo the (already URL-decoded) token as plain text, nothing else
        if len(token) > MAX_TOKEN:
            return Answer(400, "The validationToken is longer than Microsoft Graph sends.")
        return Answer(200, token)
    if method.upper() != "POST":
        return Answer(405, "Only POST is accepted.")
    try:
        items = notifications_of(json.loads(body or b"null"))
    except ValueError:
        return Answer(400, "The body is not a JSON change notification collection.")
    if not items:
        return Answer(400, "The body holds no change notification (value[] with subscriptionId).")
    settings = settings or Settings.from_env()
    tables = tables or _tables(settings)
    known = {row.subscription_id: row for row in CollectionState(tables).subscriptions()}
    now = (clock or CLOCK["now"])()
    tasks: dict[tuple[str, str], Task] = {}
    refused = 0
    for item in items:
        row = known.get(item.subscription_id)
        if row is None or not same_secret(item.client_state, row.client_state):
            refused += 1
            log.warning("refused a %snotification for subscription %s: its clientState does not match the one stored "
                        "for it (or the subscription is not one of this app's)", "lifecycle " if lifecycle else "",
                        item.subscription_id)
            continue
        kind = _kind(item, lifecycle)
        if kind is not None:
            tasks.setdefault((row.organizer, kind), Task(row.organizer, kind, now))
    RECEIVED["notifications"] += len(items)
    RECEIVED["refused"] += refused
    if not tasks and refused:
        return Answer(403, "Refused: the clientState does not match.")
    sender = queue or _queue(settings, tables)
    state = CollectionState(tables)
    for organizer in {task.organizer for task in tasks.values() if task.kind == "changes"}:
        state.notified(organizer, now)  # before the task is queued: an earlier task sees a later one is coming
    for task in tasks.values():
        sender.send(task, delay=COALESCE_SECONDS if task.kind == "changes" else 0)
    return Answer(202, tasks=list(tasks.values()))


@lru_cache(maxsize=4)
def _tables(settings: Settings) -> Tables:
    """One Tables per installation and process: Graph waits at most 3 seconds, so no table is created twice."""
    return Tables(table_service(settings), prefix=settings.table_prefix)


@lru_cache(maxsize=4)
def _queue(settings: Settings, tables: Tables) -> TaskQueue:
    return TaskQueue(settings, tables)


def _kind(item: Notification, lifecycle: bool) -> str | None:
    if lifecycle or item.lifecycle_event:
        kind = LIFECYCLE_KINDS.get(item.lifecycle_event or "")
        if kind is None:
            log.info("a lifecycle notification of an unknown kind was ignored")
        return kind
    return "changes"

"""Keeping collection going: one subscription per organizer, renewed in time, and the delta safety net.

The `responses_upkeep` timer runs this every 30 minutes:
- collection on: every organizer with live invitations (the pool in force and every earlier
  organizer the mapping names) has one subscription on `users/{organizer}/events`
  (changeType `updated`: an attendee's answer updates the organizer's event). A subscription
  with less than a day left is renewed (PATCH of its expiry, which also reauthorizes it), one
  Graph no longer has (a GET answers 404) is created again, one for a mailbox without live
  invitations is deleted.
  Then each organizer's calendar view delta is read, which catches whatever notifications
  missed.
- collection off: every subscription is deleted and the delta state dropped; nothing is read.

Subscriptions are created with a notification URL and a lifecycle notification URL under
LEARNCAL_PUBLIC_URL (https://learn.microsoft.com/graph/api/subscription-post-subscriptions,
https://learn.microsoft.com/graph/change-notifications-lifecycle-events) and a clientState: a
random secret per subscription, kept in the "subscriptions" table and never logged
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.errors import GraphError, LearncalError
from shared.responses.model import RENEW_WHEN_LEFT, SUBSCRIPTION_LIFETIME
from shared.responses.state import CollectionState, SubscriptionRow
from shared.settings import Settings
from shared.store.tables import Tables

if TYPE_CHECKING:
    from shared.responses.graph import CollectionGraph

log = logging.getLogger("learncal.responses")

NOTIFICATIONS_PATH = "/api/notifications"
LIFECYCLE_PATH = "/api/notifications/lifecycle"
CHANGE_TYPE = "updated"


def notification_urls(public_url: str) -> tuple[str, str]:
    base = public_url.rstrip("/")
    return base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH


def subscription_body(organizer: str, public_url: str, client_state: str, expires: datetime) -> dict[str, Any]:
    notify, lifecycle = notification_urls(public_url)
    return {
        "changeType": CHANGE_TYPE,
        "notificationUrl": notify,
        "lifecycleNotificationUrl": lifecycle,
        "resource": f"users/{organizer}/events",
        "expirationDateTime": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "clientState": client_state,
    }


def new_client_state() -> str:
    """A fresh secret; Graph allows up to 128 characters."""
    return secrets.token_urlsafe(48)


class PublicUrlMissing(LearncalError):
    """Subscriptions need the function app's public URL."""


def collection_on(settings: Settings, tables: Tables) -> tuple[bool, Settings]:
    """Whether collection is on (provider configuration over LEARNCAL_REQUEST_RESPONSES), and the settings in force."""
    from shared.bootstrap import effective_settings

    effective = effective_settings(settings, tables)
    return effective.request_responses, effective


def organizers_to_watch(effective: Settings, tables: Tables, now: datetime | None = None) -> list[str]:
    """The pool in force plus every earlier organizer with live invitations."""
    from shared.provider.invitations import open_invitations

    found = [o.lower() for o in effective.organizers]
    for organizer in sorted(open_invitations(tables, now=now).by_organizer):
        if organizer not in found:
            found.append(organizer)
    return found


@dataclass
class UpkeepReport:
    on: bool
    created: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)  # organizer -> responses changed
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.on:
            return f"response collection is off; {len(self.deleted)} subscription(s) deleted"
        return (f"subscriptions: {len(self.created)} created, {len(self.renewed)} renewed, {len(self.deleted)} "
                f"deleted; {sum(self.read.values())} response(s) changed; {len(self.problems)} problem(s)")


class Subscriptions:
    """Creates, renews, recreates and deletes the organizers' subscriptions."""

    def __init__(self, settings: Settings, tables: Tables, graph: CollectionGraph, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._state = CollectionState(tables)
        self._graph = graph
        self._clock = clock

    async def ensure(self, organizer: str) -> str | None:
        """Create, renew or keep the organizer's subscription; what was done ("created", "renewed") or None."""
        row = self._state.subscription(organizer)
        now = self._clock()
        if row is None:
            await self.create(organizer)
            return "created"
        if _utc(row.expires) - now > RENEW_WHEN_LEFT:
            # one GET per organizer and upkeep: a subscription deleted behind the app's back (no lifecycle
            # notification tells of that) is created again within 30 minutes
            if await self._graph.get_subscription(organizer, row.subscription_id) is not None:
                return None
            log.info("the subscription to %s's calendar changes is gone; it is created again", organizer)
            await self.create(organizer)
            return "created"
        return await self.renew(organizer)

    async def create(self, organizer: str) -> SubscriptionRow:
        public = self._settings.public_url
        if not public:
            raise PublicUrlMissing(
                "Response collection needs LEARNCAL_PUBLIC_URL, the function app's https address (such as "
                "https://learncal.azurewebsites.net), where Microsoft Graph delivers change notifications; set it "
                "in the app settings.")
        old = self._state.subscription(organizer)
        now = self._clock()
        state = new_client_state()
        info = await self._graph.create_subscription(
            organizer, subscription_body(organizer, public, state, now + SUBSCRIPTION_LIFETIME))
        row = SubscriptionRow(organizer.lower(), info.id, state, info.expires or now + SUBSCRIPTION_LIFETIME, now)
        self._state.put_subscription(row)
        if old is not None and old.subscription_id != info.id:
            try:  # the replaced one, if Graph still has it
                await self._graph.delete_subscription(organizer, old.subscription_id)
            except GraphError as error:
                log.info("could not delete the replaced subscription of %s: %s", organizer, error)
        log.info("subscribed to %s's calendar changes until %s", organizer, row.expires.isoformat())
        return row

    async def renew(self, organizer: str) -> str:
        """PATCH the expiry (it also reauthorizes); a subscription Graph no longer has is created again."""
        row = self._state.subscription(organizer)
        if row is None:
            await self.create(organizer)
            return "created"
        now = self._clock()
        try:
            info = await self._graph.renew_subscription(organizer, row.subscription_id, now + SUBSCRIPTION_LIFETIME)
        except GraphError as error:
            if error.status != 404:
                raise
            log.info("the subscription to %s's calendar changes is gone; it is created again", organizer)
            await self.create(organizer)
            return "created"
        self._state.put_subscription(row.but(expires=info.expires or now + SUBSCRIPTION_LIFETIME, renewed_at=now))
        log.info("renewed the subscription to %s's calendar changes", organizer)
        return "renewed"

    async def delete(self, organizer: str) -> None:
        row = self._state.subscription(organizer)
        if row is None:
            return
        await self._graph.delete_subscription(organizer, row.subscription_id)
        self._state.drop_subscription(organizer)
        log.info("deleted the subscription to %s's calendar changes", organizer)


async def upkeep(settings: Settings, tables: Tables, graph: CollectionGraph, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), read: bool = True) -> UpkeepReport:
    """One pass of the upkeep timer (see the module docstring)."""
    from shared.responses.reading import ResponseReader

    on, effective = collection_on(settings, tables)
    state = CollectionState(tables)
    manager = Subscriptions(effective, tables, graph, clock=clock)
    report = UpkeepReport(on)
    if not on:
        for row in state.subscriptions():
            try:
                await manager.delete(row.organizer)
                report.deleted.append(row.organizer)
            except GraphError as error:
                report.problems.append(f"{row.organizer}: {error}")
        for delta in state.deltas():
            state.drop_delta(delta.organizer)
        return report
    watched = organizers_to_watch(effective, tables, clock())
    for row in state.subscriptions():
        if row.organizer not in watched:
            try:
                await manager.delete(row.organizer)
                report.deleted.append(row.organizer)
            except GraphError as error:
                report.problems.append(f"{row.organizer}: {error}")
    reader = ResponseReader(effective, tables, graph, clock=clock)
    for organizer in watched:
        try:
            done = await manager.ensure(organizer)
            if done == "created":
                report.created.append(organizer)
            elif done == "renewed":
                report.renewed.append(organizer)
        except (GraphError, PublicUrlMissing) as error:
            report.problems.append(f"{organizer}: {error}")
            log.error("response collection: %s", error)
        if read:
            try:
                result = await reader.read(organizer)
                report.read[organizer] = len(result.changed)
            except GraphError as error:
                report.problems.append(f"{organizer}: {error}")
                log.error("response collection: %s", error)
    return report


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

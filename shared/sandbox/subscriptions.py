"""Change-notification subscriptions on a mailbox's events, and the webhook deliveries they cause.

Sources: learn.microsoft.com/graph/api/subscription-post-subscriptions and /resources/subscription
(properties; Outlook event subscriptions last at most 10,080 minutes), learn.microsoft.com/graph/
change-notifications-delivery-webhooks (HTTPS endpoint; the validation request `POST
{notificationUrl}?validationToken=…` must be answered within 10 seconds with 200, `text/plain` and
the decoded token, else no subscription; notifications must be answered with 2xx within 3 seconds,
else they are retried for up to 4 hours and then dropped; clientState is echoed in each
notification; PATCH renews, DELETE removes), learn.microsoft.com/graph/change-notifications-
lifecycle-events (lifecycleNotificationUrl is validated too; `reauthorizationRequired` before a
subscription expires, every 15 minutes in its last hour; `subscriptionRemoved`; `missed` when
notifications were not delivered) and learn.microsoft.com/graph/api/resources/changenotification
(the payload).

Deliveries run on one background thread and never hold up the Graph request whose change
caused them. Expiry, retries and lifecycle timing follow the sandbox clock, so a scaled clock
runs a simulated week in minutes; the validation and delivery timeouts are wall-clock, as the
subscriber's server lives in real time.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import ssl
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from shared.sandbox.clock import Clock, graph_timestamp
from shared.sandbox.graph_http import GraphError
from shared.sandbox.realism import Realism
from shared.sandbox.stats import Stats
from shared.sandbox.store import EventChange, Store

log = logging.getLogger(__name__)

CHANGE_TYPES = ("created", "updated", "deleted")
WRITABLE = frozenset({"changeType", "notificationUrl", "lifecycleNotificationUrl", "resource", "expirationDateTime",
                      "clientState", "latestSupportedTlsVersion", "includeResourceData", "notificationQueryOptions",
                      "notificationUrlAppId", "encryptionCertificate", "encryptionCertificateId"})
RENEWABLE = frozenset({"expirationDateTime", "notificationUrl"})
REAUTHORIZE_WINDOW = timedelta(minutes=60)  # lifecycle-events: in the last hour ...
REAUTHORIZE_EVERY = timedelta(minutes=15)  # ... every 15 minutes
FIRST_RETRY_SECONDS = 60.0  # sandbox seconds; doubled each time (the docs name only the 4-hour horizon)
MAX_CLIENT_STATE = 128


def _bad(message: str, code: str = "InvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(subscription_id: str) -> GraphError:
    return GraphError(404, "ResourceNotFound", f"The object was not found: subscription '{subscription_id}'.")


def parse_instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"The '{name}' property is required: an ISO 8601 date and time.")
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Graph writes seven fractional digits; Python reads six
        head, _, tail = text.partition(".")
        digits = "".join(itertools.takewhile(str.isdigit, tail))
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"The '{name}' value '{value}' is not an ISO 8601 date and time.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(order=True)
class _Delivery:
    due: float  # sandbox timestamp
    order: int
    url: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    subscription_id: str = field(compare=False)
    kind: str = field(compare=False)  # "change" or "lifecycle"
    first: float = field(compare=False, default=0.0)
    attempts: int = field(compare=False, default=0)


class Subscriptions:
    """The subscriptions of every app, their validation, expiry, lifecycle events and notifications."""

    def __init__(self, store: Store, clock: Clock, stats: Stats, realism: Callable[[], Realism],
                 tenant_id: Callable[[], str], ca_file: Path) -> None:
        self._store = store
        self._clock = clock
        self._stats = stats
        self._realism = realism
        self._tenant_id = tenant_id
        self._ca_file = ca_file
        self._lock = threading.Condition()
        self._subs: dict[str, dict[str, Any]] = {s["id"]: s for s in store.subscriptions()}
        self._queue: list[_Delivery] = []
        self._order = itertools.count()
        self._counts: dict[str, dict[str, int]] = {}
        self._rng = random.Random(0)
        self._stopped = False
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="sandbox-notifications", daemon=True)
        self._thread.start()
        store.on_event_changes(self.on_changes)

    # --- lifecycle of the service itself
    def close(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        """After the store was wiped: no subscriptions, nothing queued, counters zero."""
        with self._lock:
            self._subs.clear()
            self._queue.clear()
            self._counts.clear()
            self._rng = random.Random(self._realism().fault_seed)

    # --- Graph operations
    def create(self, body: dict[str, Any], *, app_id: str, user_id: str, mailbox: str) -> dict[str, Any]:
        """Validate the request and both URLs, then keep the subscription (subscription-post-subscriptions)."""
        unknown = sorted(set(body) - WRITABLE - {"@odata.type"})
        if unknown:
            raise GraphError(400, "RequestBodyRead", f"The property '{unknown[0]}' does not exist on type "
                             "'microsoft.graph.subscription'.")
        change_type = body.get("changeType")
        kinds = [k.strip() for k in change_type.split(",")] if isinstance(change_type, str) else []
        if not kinds or any(k not in CHANGE_TYPES for k in kinds):
            raise _bad(f"The 'changeType' value {change_type!r} is not valid: a comma-separated list of created, "
                       "updated, deleted.")
        client_state = body.get("clientState")
        if not isinstance(client_state, str) or not client_state or len(client_state) > MAX_CLIENT_STATE:
            # Required for webhooks (change-notifications-delivery-webhooks), at most 128 characters.
            raise _bad("The 'clientState' property is required: a secret of at most 128 characters that every "
                       "notification echoes.")
        if body.get("includeResourceData"):
            raise _bad("Notifications with resource data need an encryption certificate; this sandbox sends "
                       "notifications without resource data (includeResourceData false).")
        expiry = self._expiry(body.get("expirationDateTime"))
        notification_url = self._url(body.get("notificationUrl"), "notificationUrl")
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = self._url(lifecycle_url, "lifecycleNotificationUrl")
        self._validate(notification_url)
        if lifecycle_url is not None:
            self._validate(lifecycle_url)
        subscription_id = str(uuid.uuid4())
        subscription: dict[str, Any] = {
            "id": subscription_id, "resource": str(body["resource"]), "applicationId": app_id,
            "changeType": ",".join(kinds), "clientState": client_state, "notificationUrl": notification_url,
            "notificationQueryOptions": None, "lifecycleNotificationUrl": lifecycle_url,
            "expirationDateTime": graph_timestamp(expiry), "creatorId": app_id, "includeResourceData": False,
            "latestSupportedTlsVersion": body.get("latestSupportedTlsVersion") or "v1_2",
            "encryptionCertificate": None, "encryptionCertificateId": None, "notificationUrlAppId": None,
            "notificationContentType": None,
            "_mailbox": mailbox, "_userId": user_id, "_reauthorizedAt": None,
        }
        with self._lock:
            self._store.put_subscription(subscription)
            self._subs[subscription_id] = subscription
        self._stats.add("subscriptionsCreated")
        return public(subscription)

    def get(self, subscription_id: str, app_id: str) -> dict[str, Any]:
        return public(self._own(subscription_id, app_id))

    def of_app(self, app_id: str) -> list[dict[str, Any]]:
        self._expire_due()
        with self._lock:
            return [public(s) for s in self._subs.values() if s["applicationId"] == app_id]

    def renew(self, subscription_id: str, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH: a new expirationDateTime (and/or notificationUrl, validated again); also reauthorizes."""
        subscription = self._own(subscription_id, app_id)
        unknown = sorted(set(body) - RENEWABLE - {"@odata.type"})
        if unknown:
            raise _bad(f"The property '{unknown[0]}' of a subscription cannot be changed; only expirationDateTime "
                       "and notificationUrl can (lifecycleNotificationUrl needs a new subscription).")
        changes: dict[str, Any] = {}
        if "expirationDateTime" in body:
            changes["expirationDateTime"] = graph_timestamp(self._expiry(body["expirationDateTime"]))
        if "notificationUrl" in body:
            url = self._url(body["notificationUrl"], "notificationUrl")
            self._validate(url)
            changes["notificationUrl"] = url
        with self._lock:
            current = self._subs.get(subscription_id)
            if current is None:
                raise not_found(subscription_id)
            current.update(changes)
            current["_reauthorizedAt"] = graph_timestamp(self._clock.now())
            current["_reauthorizeSentAt"] = None
            current["_challengedAt"] = None
            self._store.put_subscription(current)
            subscription = dict(current)
        self._stats.add("subscriptionsRenewed")
        return public(subscription)

    def reauthorize(self, subscription_id: str, app_id: str) -> None:
        self._own(subscription_id, app_id)
        with self._lock:
            current = self._subs.get(subscription_id)
            if current is not None:
                current["_reauthorizedAt"] = graph_timestamp(self._clock.now())
                current["_challengedAt"] = None
                self._store.put_subscription(current)

    def delete(self, subscription_id: str, app_id: str) -> None:
        self._own(subscription_id, app_id)
        self._remove(subscription_id)

    # --- sandbox-side operations (admin, inspection)
    def remove_as_service(self, subscription_id: str) -> bool:
        """The service removes a subscription and says so with `subscriptionRemoved` (lifecycle-events)."""
        with self._lock:
            subscription = self._subs.get(subscription_id)
        if subscription is None:
            return False
        self._lifecycle(subscription, "subscriptionRemoved")
        self._remove(subscription_id)
        return True

    def send_lifecycle(self, subscription_id: str, event: str) -> bool:
        """Send a lifecycle event now (tests: `missed`, `reauthorizationRequired`)."""
        with self._lock:
            subscription = self._subs.get(subscription_id)
        if subscription is None or subscription.get("lifecycleNotificationUrl") is None:
            return False
        self._lifecycle(subscription, event)
        return True

    def inspect(self) -> list[dict[str, Any]]:
        self._expire_due()
        with self._lock:
            return [{**public(s), "mailbox": s["_mailbox"], **self._count_of(s["id"])} for s in self._subs.values()]

    def pending(self) -> int:
        """Deliveries queued, waiting for a retry, or being sent now."""
        with self._lock:
            return len(self._queue) + self._in_flight

    # --- change notifications
    def on_changes(self, changes: list[EventChange]) -> None:
        """Called after each committed store transaction: queue a notification per matching subscription."""
        with self._lock:
            if not self._subs:
                return
            now = self._clock.now()
            realism = self._realism()
            for change in changes:
                for subscription in self._subs.values():
                    if subscription["_mailbox"] != change.mailbox or change.kind not in subscription["changeType"]:
                        continue
                    if parse_instant(subscription["expirationDateTime"], "expirationDateTime") <= now:
                        continue
                    if self._paused(subscription, now, realism):
                        self._count(subscription["id"], "paused")
                        self._stats.add("notificationsDropped")
                        continue
                    if realism.missed_notifications and self._rng.random() < realism.missed_notifications:
                        self._count(subscription["id"], "dropped")
                        self._stats.add("notificationsDropped")
                        if realism.missed_lifecycle_event == "sent" and subscription["lifecycleNotificationUrl"]:
                            self._queue_lifecycle(subscription, "missed")
                        continue
                    self._enqueue(subscription["notificationUrl"], {"value": [self._notification(subscription,
                                                                                                   change)]},
                                  subscription["id"], "change")

    @staticmethod
    def _paused(subscription: dict[str, Any], now: datetime, realism: Realism) -> bool:
        """Delivery pauses when a reauthorizationRequired challenge goes unanswered (lifecycle-events: "eventually
        change notification delivery pauses, until you take the required action"; the notifications are lost).
        How long "eventually" is, is undocumented: `reauthorizationGraceMinutes`."""
        challenged = subscription.get("_challengedAt")
        if challenged is None:
            return False
        grace = timedelta(minutes=realism.reauthorization_grace_minutes)
        return now - parse_instant(challenged, "challengedAt") >= grace

    def _notification(self, subscription: dict[str, Any], change: EventChange) -> dict[str, Any]:
        resource = f"Users/{subscription['_userId']}/Events/{change.event_id}"
        data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource}
        if change.change_key:
            data["@odata.etag"] = f'W/"{change.change_key}"'
        data["id"] = change.event_id
        return {"subscriptionId": subscription["id"],
                "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                "changeType": change.kind, "resource": resource, "resourceData": data,
                "clientState": subscription["clientState"], "tenantId": self._tenant_id()}

    # --- internals
    def _own(self, subscription_id: str, app_id: str) -> dict[str, Any]:
        self._expire_due()
        with self._lock:
            subscription = self._subs.get(subscription_id)
        if subscription is None or subscription["applicationId"] != app_id:
            raise not_found(subscription_id)
        return dict(subscription)

    def _remove(self, subscription_id: str) -> None:
        with self._lock:
            self._subs.pop(subscription_id, None)
            self._store.delete_subscription(subscription_id)

    def _expiry(self, value: Any) -> datetime:
        moment = parse_instant(value, "expirationDateTime")
        now = self._clock.now()
        limit = self._realism().subscription_max_minutes
        if moment <= now:
            raise _bad("Subscription expiration must be in the future.", "ExtensionError")
        if moment > now + timedelta(minutes=limit):
            # The wording tenants answer with (microsoft-graph-docs issue 2988), with Outlook's limit for events.
            raise _bad(f"Subscription expiration can only be {limit} minutes in the future.", "ExtensionError")
        return moment

    def _url(self, value: Any, name: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _bad(f"The '{name}' property is required: the HTTPS URL that receives notifications.")
        parts = urlsplit(value.strip())
        allowed = ("https", "http") if self._realism().allow_http_notification_url else ("https",)
        if parts.scheme.lower() not in allowed or not parts.netloc:
            raise _bad(f"Invalid '{name}' '{value}': it must be an HTTPS URL (change-notifications-delivery-"
                       "webhooks); a local test server may use http only with the sandbox switch "
                       "allowHttpNotificationUrl.", "ValidationError")
        return value.strip()

    def _validate(self, url: str) -> None:
        """The validation handshake: 200, text/plain, the decoded token, within the timeout; else 400."""
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = url + ("&" if "?" in url else "?") + "validationToken=" + quote(token, safe="")
        realism = self._realism()
        try:
            status, content_type, body = self._post(target, b"", "text/plain; charset=utf-8",
                                                    realism.validation_timeout_seconds)
        except TimeoutError:
            self._stats.add("validationsFailed")
            raise _bad("Subscription validation request timed out.", "ValidationError") from None
        except OSError as error:
            self._stats.add("validationsFailed")
            raise _bad(f"Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                       f"validation request. ({url} could not be reached: {_reason(error)})",
                       "ValidationError") from None
        problem = None
        if status != 200:
            problem = f"it answered {status}"
        elif not content_type.lower().startswith("text/plain"):
            problem = f"the answer's content type is {content_type or 'missing'}, not text/plain"
        elif body.decode("utf-8", "replace") != token:
            problem = "the answer's body is not the decoded validation token"
        if problem is not None:
            self._stats.add("validationsFailed")
            raise _bad("Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                       f"validation request. ({problem})", "ValidationError")
        self._stats.add("validations")

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(self._ca_file))
        extra = self._realism().notification_ca_file
        if extra:
            context.load_verify_locations(cafile=extra)
        return context

    def _post(self, url: str, body: bytes, content_type: str, timeout: float) -> tuple[int, str, bytes]:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self._context()))
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise error.reason from None
            raise OSError(str(error.reason)) from None

    def _enqueue(self, url: str, payload: dict[str, Any], subscription_id: str, kind: str) -> None:
        """Under the lock: queue a delivery for now."""
        now = self._clock.timestamp()
        heapq.heappush(self._queue, _Delivery(now, next(self._order), url, payload, subscription_id, kind, now))
        self._lock.notify_all()

    def _queue_lifecycle(self, subscription: dict[str, Any], event: str) -> None:
        payload = {"value": [{"subscriptionId": subscription["id"],
                              "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                              "tenantId": self._tenant_id(), "clientState": subscription["clientState"],
                              "lifecycleEvent": event}]}
        self._enqueue(subscription["lifecycleNotificationUrl"], payload, subscription["id"], "lifecycle")
        self._count(subscription["id"], event)

    def _lifecycle(self, subscription: dict[str, Any], event: str) -> None:
        if subscription.get("lifecycleNotificationUrl"):
            with self._lock:
                self._queue_lifecycle(subscription, event)

    def _count(self, subscription_id: str, name: str) -> None:
        counts = self._counts.setdefault(subscription_id, {})
        counts[name] = counts.get(name, 0) + 1

    def _count_of(self, subscription_id: str) -> dict[str, int]:
        counts = self._counts.get(subscription_id, {})
        names = ("delivered", "failedAttempts", "dropped", "paused", "reauthorizationRequired", "subscriptionRemoved",
                 "missed")
        return {name: counts.get(name, 0) for name in names}

    def _expire_due(self) -> None:
        """Remove expired subscriptions; send reauthorizationRequired in a subscription's last hour."""
        now = self._clock.now()
        with self._lock:
            for subscription in list(self._subs.values()):
                expiry = parse_instant(subscription["expirationDateTime"], "expirationDateTime")
                if expiry <= now:
                    # Graph deletes an expired subscription without a word (change-notifications-delivery-webhooks,
                    # "Renew a subscription").
                    self._subs.pop(subscription["id"], None)
                    self._store.delete_subscription(subscription["id"])
                    self._stats.add("subscriptionsExpired")
                    continue
                if not subscription.get("lifecycleNotificationUrl") or expiry - now > REAUTHORIZE_WINDOW:
                    continue
                sent = subscription.get("_reauthorizeSentAt")
                if sent is None or now - parse_instant(sent, "sent") >= REAUTHORIZE_EVERY:
                    subscription["_reauthorizeSentAt"] = graph_timestamp(now)
                    subscription["_challengedAt"] = subscription.get("_challengedAt") or graph_timestamp(now)
                    self._queue_lifecycle(subscription, "reauthorizationRequired")

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                now = self._clock.timestamp()
                due = heapq.heappop(self._queue) if self._queue and self._queue[0].due <= now else None
                if due is None:
                    # Expiry and lifecycle checks need a short tick only while subscriptions exist;
                    # a queued delivery wakes the worker at once either way.
                    self._lock.wait(0.02 if self._subs else 0.25)
                else:
                    self._in_flight += 1
            try:
                self._expire_due()
                if due is not None:
                    self._deliver(due)
            except Exception:  # the worker must outlive one bad delivery
                log.exception("notification delivery failed")
            finally:
                if due is not None:
                    with self._lock:
                        self._in_flight -= 1

    def _deliver(self, delivery: _Delivery) -> None:
        realism = self._realism()
        delivery.attempts += 1
        try:
            status, _type, _body = self._post(delivery.url, json.dumps(delivery.payload).encode("utf-8"),
                                              "application/json; charset=utf-8", realism.notification_timeout_seconds)
        except OSError:
            status = 0
        with self._lock:
            if 200 <= status < 300:
                self._count(delivery.subscription_id, "delivered")
                self._stats.add("notificationsDelivered" if delivery.kind == "change" else "lifecycleDelivered")
                return
            self._count(delivery.subscription_id, "failedAttempts")
            self._stats.add("notificationsFailed")
            wait = FIRST_RETRY_SECONDS * 2 ** (delivery.attempts - 1)
            if delivery.due + wait - delivery.first > realism.notification_retry_hours * 3600:
                self._count(delivery.subscription_id, "dropped")
                self._stats.add("notificationsDropped")
                return
            delivery.due += wait
            delivery.order = next(self._order)
            heapq.heappush(self._queue, delivery)


def public(subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription as Graph returns it (without the sandbox's own bookkeeping)."""
    return {k: v for k, v in subscription.items() if not k.startswith("_")}


def _reason(error: OSError) -> str:
    return str(error) or type(error).__name__

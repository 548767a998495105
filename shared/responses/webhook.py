"""The response webhook: each change posted, signed, to the URL the administrator configured.

A change is put on the `learncal-webhooks` queue at once (`enqueue`) and posted by the
`webhook_worker` queue function (`deliver`), so a slow or failing receiver never delays the
collector or a sync. Each invocation tries a few times with exponential backoff (tenacity);
when those fail the function raises, the Functions host tries the message again later (up to
host.json's maxDequeueCount, five) and then moves it to `learncal-webhooks-poison`, after
logging `learncal.webhook.failed` (which an alert rule selects).

The receiver checks each post with the shared secret:

    X-Learncal-Timestamp: <unix seconds>
    X-Learncal-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>
    X-Learncal-Delivery: <id, the same on every attempt of one change>

The secret is the Key Vault secret `learncal-response-webhook-secret` (in Azure), or
LEARNCAL_RESPONSE_WEBHOOK_SECRET locally. It is never logged, and never sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.errors import ConfigurationError
from shared.monitoring import emit
from shared.queue.names import WEBHOOKS_QUEUE
from shared.settings import Settings
from shared.store.responses import ResponseRecord, iso

log = logging.getLogger("learncal.webhook")

QUEUE = WEBHOOKS_QUEUE
SECRET_NAME = "learncal-response-webhook-secret"
EVENT = "response.changed"
FAILED = "learncal.webhook.failed"
DELIVERED = "learncal.webhook.delivered"
MAX_DEQUEUE = 5  # host.json extensions.queues.maxDequeueCount
ATTEMPTS = 3  # posts per invocation before the host's own retry
TIMEOUT = 10.0  # seconds one post may take

_queues_ready: set[str] = set()
_lock = threading.Lock()


class WebhookFailed(Exception):
    """A post the receiver did not accept; `retry` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.status = status


def webhook_url(settings: Settings) -> str | None:
    """LEARNCAL_RESPONSE_WEBHOOK_URL once checked: https, or http to this machine only."""
    url = settings.response_webhook_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise ConfigurationError(
        f"LEARNCAL_RESPONSE_WEBHOOK_URL must be an https URL (http only to this machine, such as "
        f"http://127.0.0.1:8080/hook); it is {parts.scheme or 'no'} URL to {parts.hostname or 'no host'}. Set it to "
        "the receiver's https address, or leave it empty to post no responses."
    )


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Learncal-Signature value of `body` posted at `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def payload(change: ResponseRecord) -> dict[str, Any]:
    """What one post says: the change as GET /api/responses shows it, with a delivery id."""
    return {"id": uuid.uuid4().hex, "type": EVENT, "recordedAt": iso(change.recorded_at), "data": change.item()}


# -- queueing (the collector's side) ---------------------------------------------------------------

def _queue(settings: Settings, poison: bool = False) -> Any:
    from azure.core.exceptions import ResourceExistsError

    from shared.queue.wakeup import POISON_SUFFIX, queue_name
    from shared.store.services import queue_client

    name = queue_name(settings.table_prefix, QUEUE) + (POISON_SUFFIX if poison else "")
    client = queue_client(settings, name)
    if not settings.queue_service_uri:  # Azurite: no deployment made the queue
        with _lock:
            if client.url not in _queues_ready:
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                _queues_ready.add(client.url)
    return client


def enqueue(settings: Settings, changes: Sequence[ResponseRecord]) -> int:
    """Put one message per change on the webhooks queue; the number queued.

    A record with no answer yet (none, never answered) is not a change anyone acts on and is
    not posted.
    """
    url = webhook_url(settings)
    if url is None:
        return 0
    client = _queue(settings)
    queued = 0
    for change in changes:
        if change.response == "none" and change.responded_at is None:
            continue
        client.send_message(json.dumps(payload(change), separators=(",", ":"), sort_keys=True))
        queued += 1
    return queued


# -- posting (the webhook_worker function) --------------------------------------------------------

def webhook_secret(settings: Settings) -> str:
    """The signing key: LEARNCAL_RESPONSE_WEBHOOK_SECRET locally, else the Key Vault secret."""
    if settings.response_webhook_secret:
        return settings.response_webhook_secret
    if not settings.key_vault_url:
        raise ConfigurationError(
            "The response webhook has no signing key: store it in Key Vault as the secret "
            f"{SECRET_NAME} (az keyvault secret set --vault-name <vault> --name {SECRET_NAME} --value <random key>), "
            "or set LEARNCAL_RESPONSE_WEBHOOK_SECRET for local use."
        )
    from shared.identity import vault_credential
    from shared.secrets import KeyVaultSecret, SecretUnavailable

    vault = KeyVaultSecret(settings.key_vault_url, SECRET_NAME, vault_credential(settings))
    try:
        return vault.value()
    except SecretUnavailable as error:
        if not error.problem.startswith("Key Vault has no"):
            raise  # reachable but refused: the fix names the role or the setting
        raise SecretUnavailable(
            f"Key Vault has no {vault.where}: the response webhook's posts cannot be signed.",
            f"Store a random key there (az keyvault secret set --vault-name <vault> --name {SECRET_NAME} --value "
            "\"$(openssl rand -hex 32)\") and give the same key to the receiver.",
        ) from None


def _tls() -> ssl.SSLContext | bool:
    from shared.tls import ca_bundle

    bundle = ca_bundle()
    return ssl.create_default_context(cafile=bundle) if bundle else True


def post(url: str, secret: str, body: bytes, delivery: str, *, timeout: float = TIMEOUT) -> int:
    """One signed post; the receiver's status when it accepted (2xx), else WebhookFailed."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "learning-calendar-sync",
        "X-Learncal-Delivery": delivery,
        "X-Learncal-Timestamp": timestamp,
        "X-Learncal-Signature": signature(secret, timestamp, body),
    }
    try:
        with httpx.Client(verify=_tls(), timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise WebhookFailed(f"the receiver did not answer within {timeout:g} seconds", retry=True) from None
    except httpx.HTTPError as error:
        raise WebhookFailed(f"the receiver could not be reached ({type(error).__name__})", retry=True) from None
    if 200 <= response.status_code < 300:
        return response.status_code
    retry = response.status_code >= 500 or response.status_code in (408, 429)
    raise WebhookFailed(f"the receiver answered HTTP {response.status_code}", retry=retry,
                        status=response.status_code)


def deliver(settings: Settings, text: str, *, dequeue_count: int = 1, attempts: int = ATTEMPTS,
            wait_initial: float = 1.0, wait_max: float = 8.0) -> bool:
    """Post one queued change, retrying with backoff; raises when it failed so the host tries again.

    False when there is nothing to post (the webhook was switched off since, or the message is
    not one of ours), True once the receiver accepted it.
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

    try:
        message = json.loads(text)
        delivery, data = str(message["id"]), message["data"]
    except (ValueError, KeyError, TypeError):
        log.error("a %s message is not a response change; it is dropped", QUEUE)
        return False
    url = webhook_url(settings)
    if url is None:
        log.info("the response webhook is switched off; change %s is not posted", delivery)
        return False
    body = text.encode("utf-8")
    try:
        secret = webhook_secret(settings)
        backoff = wait_exponential_jitter(multiplier=wait_initial, max=wait_max, jitter=wait_initial)
        for attempt in Retrying(stop=stop_after_attempt(attempts), reraise=True, wait=backoff,
                                retry=retry_if_exception(lambda e: isinstance(e, WebhookFailed) and e.retry)):
            with attempt:
                status = post(url, secret, body, delivery)
    except Exception as error:
        last = dequeue_count >= MAX_DEQUEUE
        emit(logging.ERROR if last else logging.WARNING, FAILED, delivery=delivery,
             offering_id=data.get("offeringId"), activity_id=data.get("activityId"), attempt=dequeue_count,
             final=last, kind=type(error).__name__,
             message=f"The response webhook post failed: {error}. "
                     + ("The change went to the poison queue learncal-webhooks-poison; fix the receiver, then move "
                        "the messages back to learncal-webhooks." if last else "The host tries it again later."))
        raise
    emit(logging.INFO, DELIVERED, delivery=delivery, status=status, attempt=dequeue_count)
    return True


def poisoned(settings: Settings) -> int:
    """How many changes wait in the poison queue (approximate, as Azure Storage counts)."""
    try:
        return int(_queue(settings, poison=True).get_queue_properties().approximate_message_count or 0)
    except Exception:
        return 0


def deliver_message(text: str, *, dequeue_count: int = 1) -> None:
    """The `webhook_worker` queue function's work, with this process's settings."""
    deliver(Settings.from_env(), text, dequeue_count=dequeue_count)

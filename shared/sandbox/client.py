"""A small client for the /_sandbox endpoints (inspection and admin), for tests and the demo.

Standard library only, so the CLI can show what each person received without pulling in the
Graph SDK; it trusts only the sandbox's own CA.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote


class SandboxClient:
    def __init__(self, info: dict[str, Any]) -> None:
        self._base = str(info["sandboxUrl"])
        self._context = ssl.create_default_context(cafile=str(info["caFile"]))

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON) of one call; HTTP errors are returned, not raised."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}: {payload}")
        return payload

    def calendar(self, address: str) -> list[dict[str, Any]]:
        return list(self._ok("GET", f"/mailboxes/{quote(address)}/calendar")["value"])

    def messages(self, address: str) -> list[dict[str, Any]]:
        return list(self._ok("GET", f"/mailboxes/{quote(address)}/messages")["value"])

    def respond(self, attendee: str, response: str, *, subject: str | None = None, event_id: str | None = None,
                comment: str | None = None, send_response: bool | None = None) -> dict[str, Any]:
        """Answer a meeting as `attendee` ("accepted", "tentativelyAccepted" or "declined")."""
        body: dict[str, Any] = {"response": response}
        for key, value in (("subject", subject), ("eventId", event_id), ("comment", comment),
                           ("sendResponse", send_response)):
            if value is not None:
                body[key] = value
        return dict(self._ok("POST", f"/mailboxes/{quote(attendee)}/respond", body))

    def subscriptions(self) -> list[dict[str, Any]]:
        """Live change-notification subscriptions with `delivered`, `failedAttempts`, `dropped` and lifecycle counts."""
        return list(self._ok("GET", "/subscriptions")["value"])

    def pending_notifications(self) -> int:
        return int(self._ok("GET", "/subscriptions")["pending"])

    def remove_subscription(self, subscription_id: str) -> None:
        """Remove a subscription as the service would (a `subscriptionRemoved` lifecycle event)."""
        self._ok("DELETE", f"/subscriptions/{quote(subscription_id)}")

    def lifecycle_event(self, subscription_id: str, event: str) -> None:
        self._ok("POST", f"/subscriptions/{quote(subscription_id)}/lifecycle", {"lifecycleEvent": event})

    def mailboxes(self) -> list[dict[str, Any]]:
        return list(self._ok("GET", "/mailboxes")["value"])

    def stats(self) -> dict[str, Any]:
        return dict(self._ok("GET", "/stats"))

    def reset(self) -> dict[str, Any]:
        return dict(self._ok("POST", "/reset"))

    def reset_stats(self) -> dict[str, Any]:
        return dict(self._ok("POST", "/stats/reset"))

    def configure(self, **settings: Any) -> dict[str, Any]:
        return dict(self._ok("PATCH", "/config", settings))

    def put_user(self, address: str, **settings: Any) -> dict[str, Any]:
        return dict(self._ok("PUT", f"/users/{quote(address)}", settings))

    def delete_user(self, address: str) -> None:
        self._ok("DELETE", f"/users/{quote(address)}")

    def put_app(self, client_id: str, **settings: Any) -> dict[str, Any]:
        return dict(self._ok("PUT", f"/apps/{quote(client_id)}", settings))

    def add_client_secret(self, client_id: str, value: str | None = None) -> str:
        body = {} if value is None else {"value": value}
        return str(self._ok("POST", f"/apps/{quote(client_id)}/secrets", body)["secret"])

    def put_vault_secret(self, name: str, value: str) -> dict[str, Any]:
        return dict(self._ok("PUT", f"/vault/secrets/{quote(name)}", {"value": value}))

    def federated_assertion(self, subject: str) -> str:
        return str(self._ok("POST", "/federated-assertion", {"subject": subject})["assertion"])

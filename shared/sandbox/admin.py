"""Admin endpoints under /_sandbox/ that set a scene for a test: reset, users, apps, limits, secrets.

They change the emulated tenant the way an administrator would in the Entra and Exchange
admin centers, but take effect at once (real role and scope changes can take an hour).
Roles are written into tokens when issued, so a role change shows after the next token.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shared.sandbox.authority import Authority
from shared.sandbox.directory import EXCHANGE_SCOPINGS, App, User, new_client_secret
from shared.sandbox.keyvault import bundle
from shared.sandbox.outlook import RESPONSE_MESSAGES
from shared.sandbox.store import EventRow
from shared.sandbox.web import BadInput, json_body, json_response

if TYPE_CHECKING:
    from shared.sandbox.core import Sandbox

_APP_FIELDS = {"displayName": "display_name", "roles": "roles", "delegatedOnly": "delegated_only",
               "delegatedScopes": "delegated_scopes", "mailboxScope": "mailbox_scope",
               "exchangeScoping": "exchange_scoping", "vaultAccess": "vault_access",
               "federatedSubjects": "federated_subjects", "secrets": "secrets"}


_RESPOND_FIELDS = {"subject", "eventId", "response", "comment", "sendResponse"}


class NotFound(LookupError):
    """What a respond request names is not in that attendee's calendar; answered with 404 and the reason."""


_USER_FIELDS = {"displayName", "hasMailbox", "userPrincipalName", "proxyAddresses", "mailboxType"}


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{name} must be a list of strings")
    return list(value)


class Admin:
    def __init__(self, sandbox: Sandbox, authority: Authority) -> None:
        self._sandbox = sandbox
        self._authority = authority

    def reset(self, request: Request) -> Response:
        self._sandbox.reset()
        return json_response(200, self._sandbox.info())

    def reset_stats(self, request: Request) -> Response:
        self._sandbox.stats.reset()
        return json_response(200, self._sandbox.stats.snapshot())

    def config(self, request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            try:
                self._sandbox.configure(json_body(request))
            except (TypeError, ValueError) as error:
                raise BadInput(str(error)) from None
        return json_response(200, self._sandbox.realism.to_json())

    def users(self, request: Request) -> Response:
        return json_response(200, {"value": [u.to_json() for u in self._sandbox.directory.users()]})

    def user(self, request: Request, address: str) -> Response:
        directory = self._sandbox.directory
        if request.method == "DELETE":
            return json_response(200 if directory.delete_user(address) else 404, {"address": address.lower()})
        body = json_body(request)
        if "@" not in address:
            raise BadInput("a user is named by its primary e-mail address")
        unknown = set(body) - _USER_FIELDS
        if unknown:
            raise BadInput(f"unknown user setting {sorted(unknown)[0]!r}; known: {', '.join(sorted(_USER_FIELDS))}")
        existing = directory.user(address)
        user = existing or User(id=str(uuid.uuid4()), address=address.lower(),
                                display_name=address.split("@")[0].replace(".", " ").title())
        if "displayName" in body:
            user.display_name = str(body["displayName"])
        if "hasMailbox" in body:
            if not isinstance(body["hasMailbox"], bool):
                raise BadInput("hasMailbox is true or false")
            user.has_mailbox = body["hasMailbox"]
        if "userPrincipalName" in body:
            upn = body["userPrincipalName"]
            if upn is not None and (not isinstance(upn, str) or "@" not in upn):
                raise BadInput("userPrincipalName is a sign-in name like name@contoso.example (or null: the address)")
            user.user_principal_name = upn.lower() if upn else None
        if "proxyAddresses" in body:
            proxies = _strings(body["proxyAddresses"], "proxyAddresses")
            if not all(p.lower().startswith("smtp:") and "@" in p for p in proxies):
                raise BadInput('proxyAddresses are like "smtp:alias@contoso.example"')
            user.proxy_addresses = proxies
        if "mailboxType" in body:
            if body["mailboxType"] not in ("user", "shared"):
                raise BadInput('mailboxType is "user" or "shared"')
            user.mailbox_type = body["mailboxType"]
        clash = directory.resolve(user.upn, smtp=False)
        if clash is not None and clash.id != user.id:
            raise BadInput(f"userPrincipalName {user.upn} already belongs to {clash.address}")
        directory.save_user(user)
        return json_response(200 if existing else 201, user.to_json())

    def respond(self, request: Request, address: str) -> Response:
        """Answer a meeting as the attendee `address` (accept, tentatively accept, decline), as Outlook would."""
        body = json_body(request)
        unknown = set(body) - _RESPOND_FIELDS
        if unknown:
            raise BadInput(f"unknown field {sorted(unknown)[0]!r}; known: {', '.join(sorted(_RESPOND_FIELDS))}")
        response = body.get("response")
        if response not in RESPONSE_MESSAGES:
            raise BadInput('response must be "accepted", "tentativelyAccepted" or "declined" '
                           f"(got {response!r})")
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise BadInput("comment must be a string (or left out)")
        send = body.get("sendResponse", True)
        if not isinstance(send, bool):
            raise BadInput("sendResponse must be true or false (default true)")
        try:
            copy = self._attendee_copy(address.lower(), body)
        except NotFound as error:
            return json_response(404, {"error": str(error)})
        sent = self._sandbox.outlook.respond(copy, response, comment, send)
        return json_response(200, {"eventId": copy.id, "organizerEventId": copy.organizer_event_id,
                                   "organizer": copy.organizer, "response": response,
                                   "respondedAt": copy.data["responseStatus"]["time"], "sentToOrganizer": sent})

    def remove_subscription(self, request: Request, subscription_id: str) -> Response:
        """The service removes a subscription, sending `subscriptionRemoved` to its lifecycle URL."""
        removed = self._sandbox.subscriptions.remove_as_service(subscription_id)
        return json_response(200 if removed else 404, {"id": subscription_id, "removed": removed})

    def lifecycle(self, request: Request, subscription_id: str) -> Response:
        """Send a lifecycle event now (`lifecycleEvent`: missed, reauthorizationRequired or subscriptionRemoved)."""
        event = json_body(request).get("lifecycleEvent")
        if event not in ("missed", "reauthorizationRequired", "subscriptionRemoved"):
            raise BadInput('lifecycleEvent must be "missed", "reauthorizationRequired" or "subscriptionRemoved"')
        if event == "subscriptionRemoved":
            return self.remove_subscription(request, subscription_id)
        sent = self._sandbox.subscriptions.send_lifecycle(subscription_id, event)
        if not sent:
            return json_response(404, {"error": f"no subscription {subscription_id} with a lifecycleNotificationUrl"})
        return json_response(202, {"id": subscription_id, "lifecycleEvent": event})

    def _attendee_copy(self, address: str, body: dict[str, Any]) -> EventRow:
        """The attendee's copy of the meeting named by `eventId` (theirs or the organizer's) or by `subject`."""
        store = self._sandbox.store
        event_id, subject = body.get("eventId"), body.get("subject")
        if (event_id is None) == (subject is None):
            raise BadInput('name the meeting with either "eventId" or "subject" (one of them)')
        if event_id is not None:
            if not isinstance(event_id, str) or not event_id:
                raise BadInput("eventId must be a non-empty string")
            row = store.event(event_id)
            if row is not None and not row.is_copy:
                if row.mailbox == address:
                    raise BadInput(f"{address} organizes this meeting; only attendees answer it")
                row = next((c for c in store.copies_of(row.id) if c.mailbox == address), None)
            if row is None or row.mailbox != address or row.cancelled:
                raise NotFound(f"no meeting with id {event_id} in {address}'s calendar (not invited, removed, or "
                               "cancelled); use the id of their copy or of the organizer's event")
            return row
        if not isinstance(subject, str) or not subject:
            raise BadInput("subject must be a non-empty string")
        copies = [row for row, _tag in store.calendar(address) if row.is_copy]
        found = [row for row in copies if row.data.get("subject") == subject]
        if not found:
            known = sorted({str(row.data.get("subject")) for row in copies})[:10]
            raise NotFound(f"no meeting titled {subject!r} in {address}'s calendar; it has: {known}")
        if len(found) > 1:
            raise BadInput(f"{len(found)} meetings titled {subject!r} in {address}'s calendar; send \"eventId\" "
                           f"instead, one of: {[row.id for row in found]}")
        return found[0]

    def apps(self, request: Request) -> Response:
        return json_response(200, {"value": [a.to_json() for a in self._sandbox.directory.apps()]})

    def app(self, request: Request, client_id: str) -> Response:
        directory = self._sandbox.directory
        body = json_body(request)
        existing = directory.app(client_id)
        app = existing or App(client_id=client_id.lower(), secrets=[new_client_secret()])
        for key, value in body.items():
            if key not in _APP_FIELDS:
                raise BadInput(f"unknown app setting {key!r}; known: {', '.join(sorted(_APP_FIELDS))}")
            if key in ("delegatedOnly", "vaultAccess"):
                if not isinstance(value, bool):
                    raise BadInput(f"{key} is true or false")
            elif key == "displayName":
                value = str(value)
            elif key == "exchangeScoping":
                if value is not None and value not in EXCHANGE_SCOPINGS:
                    raise BadInput(f"exchangeScoping is one of {', '.join(EXCHANGE_SCOPINGS)} (or null)")
            elif not (key == "mailboxScope" and value is None):
                value = _strings(value, key)
            setattr(app, _APP_FIELDS[key], value)
        directory.save_app(app)
        return json_response(200 if existing else 201, app.to_json(with_secrets=True))

    def add_secret(self, request: Request, client_id: str) -> Response:
        app = self._sandbox.directory.app(client_id)
        if app is None:
            return json_response(404, {"error": f"no app {client_id}"})
        value = json_body(request).get("value") or new_client_secret()
        app.secrets.append(str(value))
        self._sandbox.directory.save_app(app)
        return json_response(201, {"clientId": app.client_id, "secret": value, "secretCount": len(app.secrets)})

    def vault_secret(self, request: Request, name: str) -> Response:
        body = json_body(request)
        if not isinstance(body.get("value"), str):
            raise BadInput("the body needs a 'value' string")
        secret = self._sandbox.vault.put(name, body["value"], body.get("contentType"))
        return json_response(200, bundle(secret, self._sandbox.endpoints.base_url))

    def federated_assertion(self, request: Request) -> Response:
        subject = json_body(request).get("subject")
        if not isinstance(subject, str) or not subject:
            raise BadInput("the body needs a 'subject' string")
        return json_response(200, {"assertion": self._authority.federated_assertion(subject)})

"""Key Vault secrets with the real challenge-based sign-in.

The first request of a Key Vault client carries no token on purpose; the 401 challenge tells
it the authority (this sandbox's tenant) and the resource to ask a token for. See
`core.Endpoints.vault_resource` for why the resource looks the way it does.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shared.sandbox.clock import Clock
from shared.sandbox.store import Store
from shared.sandbox.tokens import TokenError, bearer, decode
from shared.sandbox.web import BadInput, json_body, json_response

if TYPE_CHECKING:
    from shared.sandbox.core import Sandbox

_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


class Vault:
    """Secret versions in the store; the newest version is the secret's value."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def put(self, name: str, value: str, content_type: str | None = None,
            tags: dict[str, str] | None = None, expires: int | None = None) -> dict[str, Any]:
        if not _NAME.match(name):
            raise BadInput(f"The secret name '{name}' is not valid: use 1-127 letters, digits and dashes.")
        now = int(self._clock.timestamp())
        version = uuid.uuid4().hex
        secret: dict[str, Any] = {"name": name, "version": version, "value": value, "contentType": content_type,
                  "tags": tags or {}, "enabled": True, "created": now, "updated": now}
        if expires is not None:
            secret["exp"] = expires  # attributes.exp: expiry in Unix seconds, as Set Secret accepts it
        self._store.put_secret(name, version, secret)
        return secret

    def latest(self, name: str) -> dict[str, Any] | None:
        return self._store.secret(name)

    def version(self, name: str, version: str) -> dict[str, Any] | None:
        return self._store.secret(name, version)


def bundle(secret: dict[str, Any], vault_url: str, *, with_value: bool = True) -> dict[str, Any]:
    """A secret as Key Vault returns it (`id` carries the vault URL the client used)."""
    body: dict[str, Any] = {
        "id": f"{vault_url}/secrets/{secret['name']}/{secret['version']}",
        "attributes": {"enabled": secret["enabled"], "created": secret["created"], "updated": secret["updated"],
                       "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        "tags": secret.get("tags") or {},
    }
    if secret.get("exp") is not None:
        body["attributes"]["exp"] = secret["exp"]
    if with_value:
        body["value"] = secret["value"]
    if secret.get("contentType"):
        body["contentType"] = secret["contentType"]
    return body


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
           inner: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return json_response(status, {"error": error}, headers)


class KeyVaultApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def __call__(self, request: Request) -> Response:
        denied = self._authorize(request)
        if denied is not None:
            return denied
        parts = [p for p in request.path.split("/") if p][1:]  # after "secrets"
        vault_url = request.host_url.rstrip("/")
        vault = self._sandbox.vault
        try:
            if not parts and request.method == "GET":
                secrets = self._sandbox.store.secret_names()
                return json_response(200, {"value": [bundle(s, vault_url, with_value=False) for s in secrets],
                                           "nextLink": None})
            if len(parts) == 1 and request.method == "PUT":
                body = json_body(request)
                if not isinstance(body.get("value"), str):
                    raise BadInput("The request body must contain a 'value' string.")
                tags = body.get("tags") if isinstance(body.get("tags"), dict) else None
                # https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret/set-secret: attributes.exp
                # is the expiry (Unix seconds); `az keyvault secret set --expires` sends it.
                attributes = body.get("attributes")
                expires = attributes.get("exp") if isinstance(attributes, dict) else None
                if expires is not None and not isinstance(expires, int):
                    raise BadInput("attributes.exp must be a whole number of seconds since 1970-01-01 UTC.")
                secret = vault.put(parts[0], body["value"], body.get("contentType"), tags, expires)
                return json_response(200, bundle(secret, vault_url))
            if len(parts) == 2 and parts[1] == "versions" and request.method == "GET":
                versions = self._sandbox.store.secret_versions(parts[0])
                return json_response(200, {"value": [bundle(s, vault_url, with_value=False) for s in versions],
                                           "nextLink": None})
            if len(parts) in (1, 2) and request.method == "GET":
                found = vault.version(parts[0], parts[1]) if len(parts) == 2 and parts[1] else vault.latest(parts[0])
                if found is None:
                    return _error(404, "SecretNotFound", f"A secret with (name/id) {'/'.join(parts)} was not found "
                                  "in this key vault. If you recently deleted this secret you may be able to recover "
                                  "it using the correct recovery command.")
                return json_response(200, bundle(found, vault_url))
        except BadInput as error:
            return _error(400, "BadParameter", str(error))
        return _error(405, "MethodNotAllowed", f"{request.method} {request.path} is not supported.")

    def _authorize(self, request: Request) -> Response | None:
        """None when the bearer token may use the vault; otherwise the challenge or refusal to send."""
        sandbox = self._sandbox
        identity = sandbox.directory.identity
        resource = sandbox.endpoints.vault_resource
        challenge = {"WWW-Authenticate": f'Bearer authorization="{sandbox.endpoints.base_url}/{identity.tenant_id}", '
                                         f'resource="{resource}"'}
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            return _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge)
        try:
            claims = decode(token, identity.signing_key)
        except TokenError as error:
            return _error(401, "Unauthorized", f"AKV10022: {error}", challenge)
        if str(claims.get("aud", "")).rstrip("/").lower() != resource.lower():
            return _error(401, "Unauthorized", f"AKV10022: Invalid audience. Expected {resource}, "
                          f"found: {claims.get('aud')}.", challenge)
        if str(claims.get("tid", "")).lower() != identity.tenant_id.lower():
            return _error(401, "Unauthorized", "AKV10032: Invalid issuer.", challenge)
        app = sandbox.directory.app(str(claims.get("appid", "")))
        if app is None or not app.vault_access:
            return _error(403, "Forbidden", "Caller is not authorized to perform action on resource.\r\n"
                          f"Caller: appid={claims.get('appid')};oid={claims.get('oid')}\r\n"
                          "Assignment: (not found)", None, "ForbiddenByRbac")
        return None

"""The sign-in authority: OpenID discovery and the client-credentials token endpoint.

MSAL (under azure-identity) with instance discovery disabled first reads
`{authority}/{tenant}/v2.0/.well-known/openid-configuration`, then posts the form to the
`token_endpoint` it found there. Refusals carry Entra's shape (`error`, an `error_description`
that starts with the AADSTS code, `error_codes`, `timestamp`, `trace_id`, `correlation_id`)
because the product shows administrators those codes; a secret is never echoed.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from werkzeug.wrappers import Request, Response

from shared.sandbox import tokens
from shared.sandbox.directory import App
from shared.sandbox.web import json_response

if TYPE_CHECKING:
    from shared.sandbox.core import Sandbox

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
TENANT_NAME = "Contoso"


class SignInRefused(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description


def _unknown_tenant(tenant: str) -> SignInRefused:
    return SignInRefused(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                         "the correct tenant ID and are signing into the correct cloud. Check with your subscription "
                         "administrator, this may happen if there are no active subscriptions for the tenant.")


class Authority:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def discovery(self, request: Request, tenant: str) -> Response:
        if not self._sandbox.directory.knows_tenant(tenant):
            return self._refusal(request, _unknown_tenant(tenant))
        host = request.host_url.rstrip("/")
        tid = self._sandbox.directory.identity.tenant_id
        return json_response(200, {
            "token_endpoint": f"{host}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{host}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{host}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{host}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{host}/{tid}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{host}/{tid}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        })

    def keys(self, request: Request, tenant: str) -> Response:
        # Sandbox tokens are HMAC-signed; there is no public key to publish.
        return json_response(200, {"keys": []})

    def token(self, request: Request, tenant: str) -> Response:
        try:
            body = self._issue(request, tenant)
        except SignInRefused as refusal:
            self._sandbox.stats.add("tokenErrors")
            return self._refusal(request, refusal)
        self._sandbox.stats.add("tokensIssued")
        return json_response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def _issue(self, request: Request, tenant: str) -> dict[str, Any]:
        directory = self._sandbox.directory
        if not directory.knows_tenant(tenant):
            raise _unknown_tenant(tenant)
        form = request.form
        basic_id, basic_secret = _basic_credentials(request)
        grant = form.get("grant_type")
        if grant != "client_credentials":
            raise SignInRefused(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type "
                                f"'{grant or ''}'. This sandbox issues tokens for the client credentials grant only.")
        client_id = (form.get("client_id") or basic_id or "").strip()
        if not client_id:
            raise SignInRefused(400, "invalid_request", 900144,
                                "The request body must contain the following parameter: 'client_id'.")
        app = directory.app(client_id)
        if app is None:
            raise SignInRefused(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                                f"not found in the directory '{TENANT_NAME}'. This can happen if the application has "
                                "not been installed by the administrator of the tenant or consented to by any user in "
                                "the tenant. You may have sent your authentication request to the wrong tenant.")
        secret = form.get("client_secret") or basic_secret
        assertion = form.get("client_assertion")
        if secret:
            if secret not in app.secrets:
                raise SignInRefused(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                    "secret being sent in the request is the client secret value, not the client "
                                    f"secret ID, for a secret added to app '{app.client_id}'.")
            method = "1"
        elif assertion:
            self._check_assertion(app, assertion, form.get("client_assertion_type"))
            method = "2"
        else:
            raise SignInRefused(401, "invalid_client", 7000218, "The request body must contain the following "
                                "parameter: 'client_assertion' or 'client_secret'.")
        audience = self._audience(form.get("scope") or "")
        return self._token_response(app, audience, method)

    def _audience(self, scope: str) -> str:
        requested = [s for s in scope.split() if s.lower() not in _OIDC_SCOPES]
        if not requested:
            raise SignInRefused(400, "invalid_request", 900144,
                                "The request body must contain the following parameter: 'scope'.")
        if len(requested) > 1 or not requested[0].endswith("/.default"):
            raise SignInRefused(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                                "Client credential flows must have a scope value with /.default suffixed to the "
                                "resource identifier (application ID URI).")
        resource = requested[0][: -len("/.default")].rstrip("/")
        if resource.lower() in (GRAPH_RESOURCE, GRAPH_APP_ID):
            return GRAPH_RESOURCE
        vault = self._sandbox.endpoints.vault_resource
        if resource.lower() == vault.lower():
            return vault
        raise SignInRefused(400, "invalid_resource", 500011, f"The resource principal named {resource} was not found "
                            f"in the tenant named {TENANT_NAME}. This can happen if the application has not been "
                            "installed by the administrator of the tenant or consented to by any user in the tenant. "
                            "You might have sent your authentication request to the wrong tenant.")

    def _check_assertion(self, app: App, assertion: str, assertion_type: str | None) -> None:
        """Federated credentials: a sandbox-signed token for api://AzureADTokenExchange whose subject is trusted."""
        if assertion_type != JWT_BEARER:
            raise SignInRefused(400, "invalid_request", 700023, "Client assertion audience claim does not match "
                                "Realm issuer or the assertion type is not supported.")
        try:
            claims = tokens.decode(assertion, self._sandbox.directory.identity.signing_key)
        except tokens.TokenError:
            raise SignInRefused(401, "invalid_client", 700027, "Client assertion failed signature validation "
                                "or has expired.") from None
        if claims.get("aud") != TOKEN_EXCHANGE_AUDIENCE:
            raise SignInRefused(400, "invalid_client", 700212, "No matching federated identity record found for "
                                f"presented assertion audience '{claims.get('aud')}'.")
        if claims.get("sub") not in app.federated_subjects:
            raise SignInRefused(400, "invalid_client", 700213, "No matching federated identity record found for "
                                f"presented assertion subject '{claims.get('sub')}'.")

    def _token_response(self, app: App, audience: str, method: str) -> dict[str, Any]:
        identity = self._sandbox.directory.identity
        lifetime = self._sandbox.realism.token_lifetime_seconds
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience, "iss": f"https://sts.windows.net/{identity.tenant_id}/", "iat": now, "nbf": now,
            "exp": now + lifetime, "app_displayname": app.display_name, "appid": app.client_id, "appidacr": method,
            "azp": app.client_id, "azpacr": method, "idp": f"https://sts.windows.net/{identity.tenant_id}/",
            "idtyp": "app", "oid": app.object_id, "sub": app.object_id, "tid": identity.tenant_id,
            "uti": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="), "ver": "1.0",
        }
        if audience == GRAPH_RESOURCE:
            if app.delegated_only:
                claims["scp"] = " ".join(app.delegated_scopes)
            elif app.token_roles():
                claims["roles"] = app.token_roles()
        access_token = tokens.encode(claims, identity.signing_key)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": access_token}

    def federated_assertion(self, subject: str, lifetime: int = 3600) -> str:
        """A token that stands in for a managed identity's token for api://AzureADTokenExchange."""
        identity = self._sandbox.directory.identity
        now = int(time.time())
        return tokens.encode({"aud": TOKEN_EXCHANGE_AUDIENCE, "iss": f"https://sts.windows.net/{identity.tenant_id}/",
                              "sub": subject, "iat": now, "nbf": now, "exp": now + lifetime,
                              "tid": identity.tenant_id}, identity.signing_key)

    def _refusal(self, request: Request, refusal: SignInRefused) -> Response:
        trace_id = str(uuid.uuid4())
        correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        moment = datetime.now(UTC)
        stamp = moment.strftime("%Y-%m-%d %H:%M:%SZ")
        description = (f"AADSTS{refusal.code}: {refusal.description} Trace ID: {trace_id} "
                       f"Correlation ID: {correlation_id} Timestamp: {moment.strftime('%Y-%m-%d %H:%M:%S')}Z")
        return json_response(refusal.status, {
            "error": refusal.error, "error_description": description, "error_codes": [refusal.code],
            "timestamp": stamp, "trace_id": trace_id, "correlation_id": correlation_id,
            "error_uri": f"{request.host_url.rstrip('/')}/error?code={refusal.code}",
        })


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    """client_secret_basic: both parts are form-encoded before base64 (RFC 6749 2.3.1)."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except ValueError:
        return None, None
    return unquote_plus(user), unquote_plus(password)



"""Who may call the admin API: a signed-in caller holding an app role, or nobody (fail closed).

Browsers cannot send function keys, so the admin routes are anonymous at the Functions host
and the code decides. The only trusted statement of who the caller is comes from App Service
Authentication: when it is on (WEBSITE_AUTH_ENABLED=true) the platform signs people in through
the browser, validates Microsoft Entra bearer tokens from automation (client credentials), and
passes the caller's claims in X-MS-CLIENT-PRINCIPAL (base64 JSON). External requests cannot set
that header; the platform strips it ("Work with user identities in Azure App Service
authentication", learn.microsoft.com/azure/app-service/configure-authentication-user-identities,
section "Access user claims in app code"). The platform does not check app roles itself
("App Service authentication doesn't perform this validation", learn.microsoft.com/azure/
app-service/configure-authentication-provider-aad, "Daemon client application"), so this module
does: LearningCalendar.Admin for everything, LearningCalendar.Reader for the read routes.

Outside Azure, `learncal serve` stands in for the platform: it sets LEARNCAL_LOCAL_SIGN_IN=true,
strips any incoming X-MS-CLIENT-PRINCIPAL* headers and injects its own from its local session.
That mode is ignored on an App Service (WEBSITE_SITE_NAME set), where only the platform's word
counts. With neither, every admin request is refused with the fix.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import azure.functions as func

from shared.admin.problem import Problem

ADMIN_ROLE = "LearningCalendar.Admin"
READER_ROLE = "LearningCalendar.Reader"
PRINCIPAL_HEADER = "x-ms-client-principal"
ROLE_CLAIM_TYPES = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
NAME_CLAIM_TYPES = ("preferred_username", "upn", "email", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
APP_CLAIM_TYPES = ("azp", "appid")

SIGNED_IN = "signed-in"  # any signed-in caller, with or without a role (GET /api/me only)

# what each role grants: Admin implies Reader
_GRANTS = {ADMIN_ROLE: frozenset({ADMIN_ROLE, READER_ROLE}), READER_ROLE: frozenset({READER_ROLE})}

ASSIGN_FIX = ("an administrator assigns it in Microsoft Entra ID: Enterprise applications > the sign-in app of "
              "Learning Calendar Sync > Users and groups (people), or the client app's API permissions > "
              "Application permissions with admin consent (automation)")


@dataclass(frozen=True)
class Principal:
    """The signed-in caller: an id, a display name for the audit trail, and app roles."""

    id: str | None
    name: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    app_id: str | None = None  # set for an application signed in with client credentials

    @property
    def actor(self) -> str:
        """How the audit trail and the logs name this caller."""
        if self.name:
            return self.name
        if self.app_id:
            return f"application {self.app_id}"
        return f"principal {self.id}" if self.id else "an unnamed signed-in caller"

    def holds(self, role: str) -> bool:
        return any(role in _GRANTS.get(held, frozenset({held})) for held in self.roles)


def _flag(name: str, env: Mapping[str, str]) -> bool:
    return env.get(name, "").strip().lower() in ("true", "1")


def sign_in_enabled(env: Mapping[str, str] | None = None) -> bool:
    """App Service Authentication is on for this app (the platform sets WEBSITE_AUTH_ENABLED)."""
    return _flag("WEBSITE_AUTH_ENABLED", os.environ if env is None else env)


def local_sign_in(env: Mapping[str, str] | None = None) -> bool:
    """`learncal serve`'s local sign-in, honoured only off an App Service (WEBSITE_SITE_NAME unset)."""
    env = os.environ if env is None else env
    return _flag("LEARNCAL_LOCAL_SIGN_IN", env) and not env.get("WEBSITE_SITE_NAME")


def principal_trusted(env: Mapping[str, str] | None = None) -> bool:
    return sign_in_enabled(env) or local_sign_in(env)


def principal_of(req: func.HttpRequest) -> Principal | None:
    """The caller the header describes, or None when there is no (readable) principal header.

    This only reads the header; whether to believe it is `authorize`'s decision.
    """
    raw = req.headers.get(PRINCIPAL_HEADER)
    if not raw:
        return None
    try:
        data = json.loads(base64.b64decode(raw.strip() + "=" * (-len(raw.strip()) % 4), validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    claims = data.get("claims")
    if not isinstance(claims, list):
        claims = []
    role_types = set(ROLE_CLAIM_TYPES) | ({str(data["role_typ"])} if data.get("role_typ") else set())
    name_type = str(data.get("name_typ") or "name")
    roles: set[str] = set()
    values: dict[str, str] = {}
    for claim in claims:
        if not isinstance(claim, dict):
            continue
        typ, val = str(claim.get("typ", "")), claim.get("val")
        if not isinstance(val, str):
            continue
        if typ in role_types:
            roles.add(val)
        else:
            values.setdefault(typ, val)
    name = req.headers.get("x-ms-client-principal-name") or next(
        (values[t] for t in (name_type, *NAME_CLAIM_TYPES) if values.get(t)), None)
    app_id = next((values[t] for t in APP_CLAIM_TYPES if values.get(t)), None)
    principal_id = req.headers.get("x-ms-client-principal-id") or values.get(
        "http://schemas.microsoft.com/identity/claims/objectidentifier") or values.get("oid")
    return Principal(principal_id, name, frozenset(roles), app_id)


def authorize(req: func.HttpRequest, role: str = ADMIN_ROLE) -> Principal:
    """The signed-in caller holding `role`; a 401 or 403 problem (with the fix) otherwise.

    Fails closed: without a trusted sign-in (App Service Authentication, or `learncal serve`
    locally) nobody is let in, whatever headers the request carries.
    """
    if role not in _GRANTS and role != SIGNED_IN:
        raise ValueError(f"unknown role {role!r}")
    if not principal_trusted():
        detail = ("This admin API only admits callers signed in with Microsoft Entra ID, and sign-in is not set up "
                  "here. In Azure, turn on App Service Authentication for the function app (the Bicep in infra/ "
                  "does: infra/modules/auth.bicep); on your machine, use `learncal serve`, which signs you in "
                  "locally.")
        if _flag("LEARNCAL_LOCAL_SIGN_IN", os.environ):
            detail += " LEARNCAL_LOCAL_SIGN_IN is ignored on an App Service."
        raise Problem(401, "sign-in-not-configured", detail, title="Sign-in required",
                      headers={"WWW-Authenticate": 'Bearer realm="learncal-admin"'})
    principal = principal_of(req)
    if principal is None or not (principal.id or principal.name or principal.roles or principal.app_id):
        raise Problem(401, "unauthenticated",
                      "Sign in first: open the console in a browser to sign in with your work account, or send "
                      "`Authorization: Bearer <token>` with a Microsoft Entra token for this API (docs/admin-api.md, "
                      "\"Calling the API from automation\").",
                      headers={"WWW-Authenticate": 'Bearer realm="learncal-admin"'})
    if role != SIGNED_IN and not principal.holds(role):
        needed = role if role == ADMIN_ROLE else f"{role} (or {ADMIN_ROLE})"
        raise Problem(403, "forbidden",
                      f"{principal.actor} is signed in but lacks the app role {needed}; {ASSIGN_FIX}. Sign out and "
                      "in again after the assignment so the new role is in your token.")
    return principal


CSRF_HEADER = "x-learncal-request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_csrf(req: func.HttpRequest) -> None:
    """Refuse a state-changing request a cross-site page could have sent.

    A cross-site form cannot set a custom header, and a cross-site fetch() that does triggers a
    CORS preflight the app never answers. Bearer-token callers (automation) send no cookie, so
    they need no header.
    """
    if req.method.upper() in SAFE_METHODS:
        return
    if req.headers.get("authorization", "").strip().lower().startswith("bearer "):
        return
    if req.headers.get(CSRF_HEADER, "").strip() == "1":
        return
    raise Problem(403, "csrf-header-missing",
                  "A change through the admin API needs the header `X-Learncal-Request: 1` (the console sends it), "
                  "or an `Authorization: Bearer` token. It protects browser sessions against cross-site requests.",
                  title="Cross-site request refused")

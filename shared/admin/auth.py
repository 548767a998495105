"""Who may call the admin API, beyond the function key.

The host checks the key (admin routes need the master key). When App Service Authentication
is on (WEBSITE_AUTH_ENABLED=True) the platform signs the caller in and passes the caller's
claims in X-MS-CLIENT-PRINCIPAL (base64 JSON); clients cannot forge it because the platform
strips that header from incoming requests. Then the caller must also hold the app role
LearningCalendar.Admin, so a key alone is not enough where sign-in is configured.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field

import azure.functions as func

from shared.admin.problem import Problem

ADMIN_ROLE = "LearningCalendar.Admin"
PRINCIPAL_HEADER = "x-ms-client-principal"
ROLE_CLAIM_TYPES = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})


@dataclass(frozen=True)
class Principal:
    """The signed-in caller: an id, a display name for the audit trail, and app roles."""

    id: str | None
    name: str | None
    roles: frozenset[str] = field(default_factory=frozenset)


def sign_in_enabled() -> bool:
    return os.environ.get("WEBSITE_AUTH_ENABLED", "").strip().lower() == "true"


def principal_of(req: func.HttpRequest) -> Principal | None:
    """The caller the platform signed in, or None when there is no (readable) principal header."""
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
    name: str | None = None
    for claim in claims:
        if not isinstance(claim, dict):
            continue
        typ, val = str(claim.get("typ", "")), claim.get("val")
        if not isinstance(val, str):
            continue
        if typ in role_types:
            roles.add(val)
        elif typ in (name_type, "preferred_username") and name is None:
            name = val
    name = req.headers.get("x-ms-client-principal-name") or name
    return Principal(req.headers.get("x-ms-client-principal-id"), name, frozenset(roles))


def authorize(req: func.HttpRequest, role: str | None = ADMIN_ROLE) -> Principal | None:
    """The caller when App Service Authentication is on (401 unauthenticated, 403 without the role)."""
    if not sign_in_enabled():
        return None
    principal = principal_of(req)
    if principal is None or not (principal.id or principal.name or principal.roles):
        raise Problem(401, "unauthenticated", "Sign in first: this API requires an authenticated caller.",
                      headers={"WWW-Authenticate": 'Bearer realm="learncal-admin"'})
    if role and role not in principal.roles:
        raise Problem(403, "forbidden", f"The signed-in caller lacks the app role {role}; ask an administrator to "
                      "assign it in the app registration's Enterprise application (Users and groups).")
    return principal

"""Local sign-in for `learncal serve`, standing in for App Service Authentication.

In Azure the platform signs people in and hands the app their claims in the
`X-MS-CLIENT-PRINCIPAL` header (base64 JSON {"auth_typ", "claims": [{"typ", "val"}],
"name_typ", "role_typ"}), after removing any such header a client sent ("Work with user
identities in Azure App Service authentication", learn.microsoft.com/azure/app-service/
configure-authentication-user-identities). Locally, a sign-in page offers three people (an
administrator, a reader, a person without a role); the choice lives in a session cookie signed
with a key that exists only in this process, so restarting serve signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from html import escape

ADMIN_ROLE = "LearningCalendar.Admin"
READER_ROLE = "LearningCalendar.Reader"
COOKIE = "learncal_local_session"
SESSION_SECONDS = 8 * 3600
OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"


@dataclass(frozen=True)
class LocalUser:
    key: str
    name: str
    email: str
    object_id: str
    roles: tuple[str, ...]
    describes: str


USERS: dict[str, LocalUser] = {
    user.key: user
    for user in (
        LocalUser("admin", "Avery Admin", "avery.admin@contoso.example", "00000000-0000-4000-8000-0000000000a1",
                  (ADMIN_ROLE,), "administrator: everything (LearningCalendar.Admin)"),
        LocalUser("reader", "Riley Reader", "riley.reader@contoso.example", "00000000-0000-4000-8000-0000000000a2",
                  (READER_ROLE,), "reader: runs, offerings, feeds and the audit trail, read only "
                  "(LearningCalendar.Reader); sees learners' addresses"),
        LocalUser("norole", "Noor Norole", "noor.norole@contoso.example", "00000000-0000-4000-8000-0000000000a3",
                  (), "signed in without an app role: refused everywhere"),
    )
}


class Sessions:
    """Signs and reads session cookies with a random per-process key (HMAC-SHA256)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, user: LocalUser, now: float | None = None) -> str:
        body = json.dumps({"u": user.key, "exp": int((now or time.time()) + SESSION_SECONDS)}, separators=(",", ":"))
        payload = base64.urlsafe_b64encode(body.encode()).decode("ascii").rstrip("=")
        return f"{payload}.{self._mac(payload)}"

    def read(self, cookie: str | None, now: float | None = None) -> LocalUser | None:
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not payload.isascii() or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("exp"), int) or body["exp"] < (now or time.time()):
            return None
        return USERS.get(str(body.get("u")))


def principal_headers(user: LocalUser) -> dict[str, str]:
    """The headers App Service Authentication adds for a signed-in person, for `user`."""
    claims = [
        {"typ": "name", "val": user.name},
        {"typ": "preferred_username", "val": user.email},
        {"typ": OBJECT_ID_CLAIM, "val": user.object_id},
        *({"typ": "roles", "val": role} for role in user.roles),
    ]
    body = {"auth_typ": "aad", "claims": claims, "name_typ": "preferred_username", "role_typ": "roles"}
    return {
        "X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(body).encode()).decode("ascii"),
        "X-MS-CLIENT-PRINCIPAL-ID": user.object_id,
        "X-MS-CLIENT-PRINCIPAL-NAME": user.email,
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    }


def me(user: LocalUser) -> list[dict[str, object]]:
    """What App Service's /.auth/me answers for a signed-in person (token store format)."""
    claims = json.loads(base64.b64decode(principal_headers(user)["X-MS-CLIENT-PRINCIPAL"]))["claims"]
    return [{"provider_name": "aad", "user_id": user.email, "user_claims": claims}]


def safe_redirect(target: str | None, default: str) -> str:
    """Only a path on this host: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_page(redirect: str, stylesheet: str) -> str:
    """The sign-in page: one form per local person; no script, so the strict CSP applies unchanged."""
    choices = "\n".join(
        f"""      <form method="post" action="/.auth/login/local" class="signin-choice">
        <input type="hidden" name="user" value="{escape(user.key)}">
        <input type="hidden" name="post_login_redirect_uri" value="{escape(redirect)}">
        <button type="submit" class="primary">Sign in as {escape(user.name)}</button>
        <p>{escape(user.email)}: {escape(user.describes)}</p>
      </form>"""
        for user in USERS.values()
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in: Learning Calendar Sync (local)</title>
  <link rel="stylesheet" href="{escape(stylesheet)}">
</head>
<body>
  <main id="main" class="signin">
    <h1>Sign in to Learning Calendar Sync</h1>
    <p>This is <code>learncal serve</code>'s local sign-in. In Azure, Microsoft Entra ID signs people in and
       the app roles assigned in the sign-in app's Enterprise application decide what they may do.</p>
{choices}
  </main>
</body>
</html>
"""

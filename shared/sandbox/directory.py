"""The emulated Microsoft Entra tenant: its identity, app registrations and users.

A data directory is one tenant. Its tenant id, the default app's client id and client secret
and the token signing key are made once and kept, so that settings written from the first
start line keep working after a restart. Everything here is plain data; the authority, Graph
and Key Vault modules decide what it means for a request.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.sandbox.store import Store

DEFAULT_ORGANIZER = "learning.coordinator@contoso.example"
DEFAULT_ORGANIZER_NAME = "Learning Coordinator"
POOL_KEY = "organizerPool"  # how many organizer mailboxes the tenant starts with (`learncal sandbox --organizers`)
MAX_POOL = 50
TENANT_DOMAIN = "contoso.example"
DEFAULT_ROLES = ("Calendars.ReadWrite", "User.Read.All")
DEFAULT_DELEGATED_SCOPES = ("Calendars.ReadWrite", "User.Read")
EXCHANGE_SCOPINGS = ("none", "applicationAccessPolicy", "rbacForApplications")
VAULT_SECRET_NAME = "graph-client-secret"


def new_client_secret() -> str:
    """A secret shaped like Entra's (three characters, a digit, `Q~`, then 34 more)."""
    alphabet = string.ascii_letters + string.digits + "~._-"
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + secrets.choice(string.digits) + "Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


@dataclass
class App:
    """An app registration with its service principal and what the tenant granted it."""

    client_id: str
    display_name: str = "Learning Calendar Sync"
    secrets: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=lambda: list(DEFAULT_ROLES))  # admin-consented Graph app roles
    delegated_only: bool = False  # only delegated permissions were consented: tokens carry scp, no roles
    delegated_scopes: list[str] = field(default_factory=lambda: list(DEFAULT_DELEGATED_SCOPES))
    mailbox_scope: list[str] | None = None  # the mailboxes Exchange lets the app reach; None: every mailbox
    # How Exchange scopes the app: "none", "applicationAccessPolicy" (legacy; the token carries the
    # Calendars role and Exchange refuses other mailboxes) or "rbacForApplications" (the Calendars
    # roles are Exchange role assignments scoped to mailbox_scope; the token carries none of them).
    # None: "applicationAccessPolicy" when mailbox_scope is set, else "none".
    exchange_scoping: str | None = None
    vault_access: bool = True  # "Key Vault Secrets User" on the sandbox vault
    federated_subjects: list[str] = field(default_factory=list)  # accepted client_assertion subjects
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def scoping(self) -> str:
        if self.exchange_scoping:
            return self.exchange_scoping
        return "none" if self.mailbox_scope is None else "applicationAccessPolicy"

    def reaches(self, address: str) -> bool:
        if self.scoping == "none" or self.mailbox_scope is None:
            return True
        return address.lower() in {a.lower() for a in self.mailbox_scope}

    def token_roles(self) -> list[str]:
        """Under RBAC for Applications the Calendars permissions live in Exchange, not in the token."""
        if self.scoping == "rbacForApplications":
            return [r for r in self.roles if not r.startswith("Calendars.")]
        return list(self.roles)

    def to_json(self, *, with_secrets: bool = False) -> dict[str, Any]:
        data = {
            "clientId": self.client_id, "displayName": self.display_name, "roles": self.roles,
            "delegatedOnly": self.delegated_only, "delegatedScopes": self.delegated_scopes,
            "mailboxScope": self.mailbox_scope, "exchangeScoping": self.scoping, "vaultAccess": self.vault_access,
            "federatedSubjects": self.federated_subjects, "servicePrincipalId": self.object_id,
            "secretCount": len(self.secrets),
        }
        if with_secrets:
            data["secrets"] = self.secrets
        return data


@dataclass
class User:
    """A directory user; `address` is the primary SMTP address, which keys the mailbox.

    The user principal name (the sign-in name) may differ from the address, and a mailbox may
    have further proxy addresses (aliases), as in Entra ID and Exchange Online.
    """

    id: str
    address: str
    display_name: str
    has_mailbox: bool = True
    user_principal_name: str | None = None  # None: the same as the address
    proxy_addresses: list[str] = field(default_factory=list)  # extra addresses, like "smtp:alias@contoso.example"
    mailbox_type: str = "user"  # "user" | "shared" (a shared mailbox's account is disabled)

    @property
    def upn(self) -> str:
        return self.user_principal_name or self.address

    def all_proxy_addresses(self) -> list[str]:
        """`SMTP:` (capital: primary) then the aliases, as Exchange lists them."""
        if not self.has_mailbox:
            return []
        primary = "SMTP:" + self.address
        return [primary] + [p for p in self.proxy_addresses if p.lower() != primary.lower()]

    def graph_json(self, *, extended: bool = False) -> dict[str, Any]:
        """The default property set; `extended` adds the properties only returned when selected."""
        given, _, surname = self.display_name.partition(" ")
        data: dict[str, Any] = {
            "businessPhones": [], "displayName": self.display_name, "givenName": given or None,
            "jobTitle": None, "mail": self.address if self.has_mailbox else None, "mobilePhone": None,
            "officeLocation": None, "preferredLanguage": "en-US", "surname": surname or None,
            "userPrincipalName": self.upn, "id": self.id,
        }
        if extended:
            data["proxyAddresses"] = self.all_proxy_addresses()
            data["accountEnabled"] = self.mailbox_type != "shared"
        return data

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "address": self.address, "displayName": self.display_name,
                "hasMailbox": self.has_mailbox, "userPrincipalName": self.upn,
                "proxyAddresses": self.all_proxy_addresses(), "mailboxType": self.mailbox_type}


@dataclass(frozen=True)
class Identity:
    """What never changes for a data directory."""

    tenant_id: str
    client_id: str
    signing_key: bytes


class Directory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._users: list[User] | None = None  # every Graph request resolves a user; the list is small
        self.identity = self._load_identity()

    def _load_identity(self) -> Identity:
        with self._store.transaction():
            tenant_id = self._store.get_meta("tenantId")
            if tenant_id is None:
                tenant_id = str(uuid.uuid4())
                self._store.set_meta("tenantId", tenant_id)
                self._store.set_meta("clientId", str(uuid.uuid4()))
                self._store.set_meta("clientSecret", new_client_secret())
                self._store.set_meta("signingKey", secrets.token_hex(32))
                self._seed()
            identity = Identity(
                tenant_id=tenant_id,
                client_id=str(self._store.get_meta("clientId")),
                signing_key=bytes.fromhex(str(self._store.get_meta("signingKey"))),
            )
        return identity

    @property
    def client_secret(self) -> str:
        """The default app's first secret (what the start line reports)."""
        app = self.app(self.identity.client_id)
        if app is not None and app.secrets:
            return app.secrets[0]
        return str(self._store.get_meta("clientSecret"))

    def _seed(self) -> None:
        client_id = str(self._store.get_meta("clientId"))
        secret = str(self._store.get_meta("clientSecret"))
        self.save_app(App(client_id=client_id, secrets=[secret]))
        self._seed_pool()

    def _seed_pool(self) -> None:
        for number, address in enumerate(self.organizer_pool(), start=1):
            if self.user(address) is None:
                name = DEFAULT_ORGANIZER_NAME if number == 1 else f"{DEFAULT_ORGANIZER_NAME} {number}"
                self.save_user(User(id=str(uuid.uuid4()), address=address, display_name=name))

    def organizer_pool(self) -> list[str]:
        """The organizer mailboxes the tenant starts with: the default organizer, then `learning.coordinatorN`."""
        size = int(self._store.get_meta(POOL_KEY) or 1)
        local, _, domain = DEFAULT_ORGANIZER.partition("@")
        return [DEFAULT_ORGANIZER] + [f"{local}{n}@{domain}" for n in range(2, size + 1)]

    def set_organizer_pool(self, size: int) -> list[str]:
        """Start with `size` organizer mailboxes (user mailboxes, as an organizer pool's members would be)."""
        if not 1 <= size <= MAX_POOL:
            raise ValueError(f"--organizers must be between 1 and {MAX_POOL}")
        self._store.set_meta(POOL_KEY, str(size))
        self._seed_pool()
        return self.organizer_pool()

    def reset(self) -> None:
        """Back to the first start: default app (same id and secret) and the organizer pool's mailboxes only."""
        with self._store.transaction():
            self._store.wipe()
            self._users = None
            self._seed()

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.identity.tenant_id.lower(), TENANT_DOMAIN)

    # --- apps
    def app(self, client_id: str) -> App | None:
        data = self._store.app(client_id)
        return None if data is None else App(**data)

    def apps(self) -> list[App]:
        return [App(**data) for data in self._store.apps()]

    def save_app(self, app: App) -> None:
        self._store.put_app(app.client_id, asdict(app))

    # --- users
    def user(self, id_or_address: str) -> User | None:
        """The user with this object id or primary address (the admin endpoints' key)."""
        key = id_or_address.lower()
        return next((u for u in self.users() if key in (u.id.lower(), u.address.lower())), None)

    def resolve(self, key: str, *, smtp: bool) -> User | None:
        """The user a Graph URL segment names.

        learn.microsoft.com/graph/api/user-get: `/users/{id | userPrincipalName}`. Outlook
        resources (events, calendar) also take the primary SMTP address (`smtp=True`); aliases
        are not accepted there (undocumented: the strict reading).
        """
        key = key.lower()
        for user in self.users():
            if key in (user.id.lower(), user.upn.lower()) or (smtp and key == user.address.lower()):
                return user
        return None

    def users(self) -> list[User]:
        users = self._users
        if users is None:
            users = self._users = [User(**data) for data in self._store.users()]
        return list(users)

    def save_user(self, user: User) -> None:
        self._store.put_user(user.address, user.id, asdict(user))
        self._users = None

    def delete_user(self, address: str) -> bool:
        deleted = self._store.delete_user(address)
        self._users = None
        return deleted

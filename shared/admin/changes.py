"""What a change to the provider configuration was, in the words the audit trail keeps, and who made it.

The admin API, the console and the CLI save the provider the same way; each records the
fields that changed (before and after) and, separately, that the secret was set and when it
expires, never its value.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

from shared.settings import Settings
from shared.store.audit import audit
from shared.store.tables import Tables

log = logging.getLogger("learncal.audit")

_NOT_COMPARED = {"updated_at", "updated_by"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def provider_changes(before: Any, after: Any) -> dict[str, Any]:
    """{field: {"from": old, "to": new}} for each field of the configuration that changed."""
    old, new = dataclasses.asdict(before), dataclasses.asdict(after)
    return {
        _camel(name): {"from": _plain(old.get(name)), "to": _plain(new.get(name))}
        for name in new if name not in _NOT_COMPARED and old.get(name) != new.get(name)
    }


def secret_expiry(settings: Settings) -> str:
    """When the stored secret expires, as far as Key Vault says (for the audit entry only)."""
    try:
        from shared.secrets import KeyVaultSecret

        expires = KeyVaultSecret.for_settings(settings).read(refresh=True).expires_on
    except Exception:  # the secret is stored; its expiry is a detail of the record
        log.warning("could not read the new secret's expiry for the audit trail", exc_info=True)
        return "unknown"
    return expires.astimezone(UTC).isoformat().replace("+00:00", "Z") if expires else "not recorded"


def record_provider_save(tables: Tables, settings: Settings, actor: str, before: Any, after: Any, *,
                         secret_set: bool, via: str) -> None:
    """The audit entries of one save: provider.save (what changed) and secret.set when a secret was stored."""
    audit(tables, actor, "provider.save", "provider", {"via": via, "changed": provider_changes(before, after)})
    if secret_set:
        audit(tables, actor, "secret.set", settings.client_secret_name or "client secret",
              {"via": via, "secret": "set", "expires": secret_expiry(settings)})


def record_sync_request(tables: Tables, actor: str, *, via: str, allowance: int | bool) -> None:
    """The audit entries of a requested run: sync.request, and allowance.give when it carries an allowance."""
    audit(tables, actor, "sync.request", "sync", {"via": via, **({"allowMassCancel": allowance} if allowance else {})})
    if allowance:
        count: int | str = allowance if allowance is not True else "as many as this run plans"
        audit(tables, actor, "allowance.give", "mass-cancellation guard", {"via": via, "count": count})


def local_actor(settings: Settings | None = None) -> str:
    """Who runs a command on this machine: LEARNCAL_ACTOR, the Azure sign-in, or the OS user at this host."""
    named = os.environ.get("LEARNCAL_ACTOR", "").strip()
    if named:
        return named
    if settings is not None and settings.table_service_uri:  # working on the deployed tables: the Azure sign-in
        from shared.store.tables import azure_sign_in_name

        signed_in = azure_sign_in_name()
        if signed_in:
            return signed_in
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return f"{user}@{socket.gethostname()}"


def now() -> datetime:
    return datetime.now(UTC)

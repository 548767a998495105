"""One sandbox: its state, its clock, its limits, and the addresses it answers on.

Every HTTP-facing module (authority, Graph, Key Vault, inspection, admin) receives this object
and nothing else, so the server module only wires URLs to handlers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.sandbox.certs import CA_FILE
from shared.sandbox.clock import Clock
from shared.sandbox.directory import DEFAULT_ORGANIZER, VAULT_SECRET_NAME, Directory
from shared.sandbox.gate import Gate
from shared.sandbox.keyvault import Vault
from shared.sandbox.outlook import Outlook
from shared.sandbox.postmaster import Postmaster
from shared.sandbox.realism import Realism
from shared.sandbox.stats import Stats
from shared.sandbox.store import Store
from shared.sandbox.subscriptions import Subscriptions

REALISM_KEY = "realism"


@dataclass(frozen=True)
class Endpoints:
    """Where the sandbox listens, as clients must spell it."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def vault_resource(self) -> str:
        """The resource named in Key Vault's challenge.

        Key Vault clients only accept a challenge whose resource is a parent domain of the vault
        host (a vault at `x.vault.azure.net` names `https://vault.azure.net`). On a loopback
        address the parent of `127.0.0.1` is `0.0.1`, which is what makes the real client accept
        the sandbox unchanged. A host without a dot has no parent; clients then need
        `verify_challenge_resource=False`.
        """
        if "." in self.host and ":" not in self.host:
            return f"https://{self.host.split('.', 1)[1]}:{self.port}"
        return self.base_url


class Sandbox:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.store = Store(data_dir)
        self.directory = Directory(self.store)
        stored = self.store.get_meta(REALISM_KEY)
        self._realism = Realism.from_json(json.loads(stored)) if stored else Realism()
        self._realism_lock = threading.Lock()
        self._profile: dict[str, Any] = {}  # a tenant profile's realism: what reset returns to
        self.clock = Clock(self._realism.time_scale)
        self.stats = Stats(self.clock)
        self.gate = Gate(self.clock, self.stats, lambda: self.realism)
        self.postmaster = Postmaster(self.store, self.clock, self.stats, lambda: self.realism)
        self.outlook = Outlook(self.store, self.clock, self.postmaster, lambda: self.realism)
        self.vault = Vault(self.store, self.clock)
        self.subscriptions = Subscriptions(self.store, self.clock, self.stats, lambda: self.realism,
                                           lambda: self.directory.identity.tenant_id, data_dir / CA_FILE)
        if not self.store.secret_names():
            # A new tenant's vault holds the app's secret under the product's default name, so the
            # production path (secret from Key Vault) works against a fresh sandbox as it is.
            self.vault.put(VAULT_SECRET_NAME, self.directory.client_secret)
        self.endpoints = Endpoints("127.0.0.1", 0)

    @property
    def realism(self) -> Realism:
        return self._realism

    def configure(self, changes: dict[str, Any]) -> Realism:
        """Apply realism changes (camelCase keys) and keep them in the data directory."""
        with self._realism_lock:
            realism = Realism.from_json(changes, self._realism)
            self.store.set_meta(REALISM_KEY, realism.dumps())
            if realism.time_scale != self._realism.time_scale:
                self.clock.set_scale(realism.time_scale)
            self._realism = realism
            self.gate.forget_faults()
            return realism

    def apply_profile(self, realism: dict[str, Any]) -> Realism:
        """Apply a tenant profile's realism; `reset` returns to it rather than to the bare defaults."""
        applied = self.configure(realism)
        self._profile = dict(realism)
        return applied

    def reset(self) -> None:
        """Empty every mailbox and the vault, restore the default directory and realism (with the start
        profile's settings, if any), zero the stats."""
        baseline = Realism.from_json(self._profile)
        with self.store.transaction():
            self.directory.reset()
            self.vault.put(VAULT_SECRET_NAME, self.directory.client_secret)
            self.store.set_meta(REALISM_KEY, baseline.dumps())
        self._realism = baseline
        self.clock.set_scale(baseline.time_scale)
        self.gate.reset()
        self.postmaster.reset()
        self.subscriptions.reset()
        self.stats.reset()

    def info(self) -> dict[str, Any]:
        """The start line: everything a client needs to talk to this sandbox."""
        base = self.endpoints.base_url
        return {
            "graphUrl": base + "/v1.0",
            "authorityUrl": base,
            "keyVaultUrl": base,
            "keyVaultResource": self.endpoints.vault_resource,
            "caFile": str((self.data_dir / CA_FILE).resolve()),
            "tenantId": self.directory.identity.tenant_id,
            "clientId": self.directory.identity.client_id,
            "clientSecret": self.directory.client_secret,
            "clientSecretName": VAULT_SECRET_NAME,
            "organizer": DEFAULT_ORGANIZER,
            "organizers": self.directory.organizer_pool(),  # `learncal sandbox --organizers N`
            "sandboxUrl": base + "/_sandbox",
            "dataDir": str(self.data_dir.resolve()),
        }

    def close(self) -> None:
        self.subscriptions.close()
        self.store.close()

"""The client secret in Azure Key Vault: read once, kept in memory, re-read on demand, written by the admin API.

Reading Key Vault on every token request would add a round trip (and a throttling risk) to
every run, so the value is cached per process. Rotation is handled by asking again with
`refresh=True` when Entra refuses the cached value (see `shared.identity`).

The value never leaves this module except to the credential that signs in with it: errors
and logs name the vault and the secret, never its value. Reads for display return only when
the secret last changed (`SecretVersion.updated_on`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from shared.errors import LearncalError
from shared.settings import Settings


class SecretUnavailable(LearncalError):
    """Key Vault could not be read or written: `problem` says what happened, `fix` what to grant or set."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class SecretVersion:
    value: str = field(repr=False)
    updated_on: datetime | None = None
    expires_on: datetime | None = None  # the credential's end date, recorded by create-client-secret.sh

    def days_left(self, now: datetime) -> float | None:
        """Days until the secret expires (negative once expired); None when no expiry was recorded."""
        if self.expires_on is None:
            return None
        return (self.expires_on - now).total_seconds() / 86400


_CACHE: dict[tuple[str, str], SecretVersion] = {}
_LOCK = threading.Lock()


def forget_cached_secrets() -> None:
    """Drop every cached value (tests, and a process that wants a clean slate)."""
    with _LOCK:
        _CACHE.clear()


class KeyVaultSecret:
    def __init__(self, vault_url: str, name: str, credential: Any) -> None:
        self._vault_url = vault_url.rstrip("/")
        self._name = name
        self._credential = credential

    @classmethod
    def for_settings(cls, settings: Settings) -> KeyVaultSecret:
        from shared.identity import vault_credential

        if not settings.key_vault_url:
            raise SecretUnavailable("No Key Vault is configured.", "Set LEARNCAL_KEY_VAULT_URL.")
        return cls(settings.key_vault_url, settings.client_secret_name, vault_credential(settings))

    @property
    def where(self) -> str:
        return f"secret {self._name!r} in Key Vault {self._vault_url}"

    def value(self, *, refresh: bool = False) -> str:
        return self.read(refresh=refresh).value

    def read(self, *, refresh: bool = False) -> SecretVersion:
        key = (self._vault_url, self._name)
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is not None and not refresh:
            return cached
        try:
            secret = self._client().get_secret(self._name)
        except Exception as error:
            raise self._explain(error, "read") from None
        version = SecretVersion(secret.value or "", secret.properties.updated_on, secret.properties.expires_on)
        with _LOCK:
            _CACHE[key] = version
        return version

    def store(self, value: str, *, expires_on: datetime | None = None) -> SecretVersion:
        """Write a new version; this process uses it from now on (others pick it up on their next refusal)."""
        try:
            secret = self._client().set_secret(self._name, value, content_type="client secret", expires_on=expires_on)
        except Exception as error:
            raise self._explain(error, "write") from None
        version = SecretVersion(value, secret.properties.updated_on, secret.properties.expires_on)
        with _LOCK:
            _CACHE[(self._vault_url, self._name)] = version
        return version

    def _client(self) -> Any:
        from azure.keyvault.secrets import SecretClient

        from shared.tls import azure_connection_options

        return SecretClient(self._vault_url, self._credential, **azure_connection_options())

    def _explain(self, error: BaseException, action: str) -> SecretUnavailable:
        """Key Vault's refusals in words that say what to fix; the SDK's text is not repeated."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        if isinstance(error, ResourceNotFoundError):
            return SecretUnavailable(
                f"Key Vault has no {self.where}.",
                "Store the client secret there (infra/scripts/create-client-secret.sh, or PUT /api/provider with "
                "clientSecret when ALLOW_CONSOLE_SECRET_WRITE is on), or set "
                "LEARNCAL_CLIENT_SECRET_NAME to the name it has.",
            )
        if isinstance(error, ClientAuthenticationError):
            return SecretUnavailable(
                f"Could not sign in to Key Vault to {action} the {self.where}.",
                "In Azure set LEARNCAL_MANAGED_IDENTITY_CLIENT_ID to the function app's managed identity; locally "
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an identity with access.",
            )
        if isinstance(error, HttpResponseError) and error.status_code == 403:
            if action != "read":
                return self._write_refused()
            return SecretUnavailable(
                f"The identity used for Key Vault may not {action} the {self.where}.",
                "Give it the role 'Key Vault Secrets User' on the vault (the deployment grants it to the function "
                "app's identity).",
            )
        if isinstance(error, ServiceRequestError):
            return SecretUnavailable(
                f"Key Vault could not be reached to {action} the {self.where}.",
                "Check LEARNCAL_KEY_VAULT_URL (https://<vault name>.vault.azure.net/ in Azure; locally the "
                "sandbox's keyVaultUrl, with `learncal sandbox` running) and the network path to the vault.",
            )
        status = getattr(error, "status_code", None)
        detail = f"HTTP {status}" if status else type(error).__name__
        return SecretUnavailable(f"Key Vault refused to {action} the {self.where} ({detail}).",
                                 "Check the vault's access configuration and try again.")

    def _write_refused(self) -> SecretUnavailable:
        """What the deployment grants (infra/modules/rbac.bicep, console-secret-write.bicep) and how to change it.

        The function app's identity holds Key Vault Secrets User on the vault; only the opt-in
        ALLOW_CONSOLE_SECRET_WRITE adds Key Vault Secrets Officer, scoped to this one secret
        (Azure RBAC for Key Vault, "Secret scope role assignment":
        https://learn.microsoft.com/azure/key-vault/general/rbac-guide). Such an assignment can
        only be made once the secret exists, hence the order in the fix.
        """
        host = urlsplit(self._vault_url).hostname or ""
        vault = host.split(".", 1)[0] if ".vault." in host else "<vault name>"
        scope = f"$(az keyvault show --name {vault} --query id -o tsv)/secrets/{self._name}"
        return SecretUnavailable(
            f"The identity used for Key Vault may not write the {self.where}: the deployment grants the function "
            "app's identity read only (Key Vault Secrets User) unless ALLOW_CONSOLE_SECRET_WRITE is on.",
            "To let the console and PUT /api/provider save it, turn the opt-in on once the secret exists "
            "(infra/scripts/create-client-secret.sh stores the first one): `azd env set ALLOW_CONSOLE_SECRET_WRITE "
            "true` then `azd provision`, which gives the identity 'Key Vault Secrets Officer' on this one secret, "
            "not the vault. Without azd: az role assignment create --role \"Key Vault Secrets Officer\" "
            "--assignee-object-id <AZURE_MANAGED_IDENTITY_PRINCIPAL_ID> --assignee-principal-type ServicePrincipal "
            f"--scope \"{scope}\". Or keep the write off and store or rotate the secret with "
            "infra/scripts/create-client-secret.sh.",
        )

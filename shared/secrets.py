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

        role = "Key Vault Secrets User" if action == "read" else "Key Vault Secrets Officer"
        if isinstance(error, ResourceNotFoundError):
            return SecretUnavailable(
                f"Key Vault has no {self.where}.",
                "Store the client secret there (PUT /api/provider with clientSecret does), or set "
                "LEARNCAL_CLIENT_SECRET_NAME to the name it has.",
            )
        if isinstance(error, ClientAuthenticationError):
            return SecretUnavailable(
                f"Could not sign in to Key Vault to {action} the {self.where}.",
                "In Azure set LEARNCAL_MANAGED_IDENTITY_CLIENT_ID to the function app's managed identity; locally "
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an identity with access.",
            )
        if isinstance(error, HttpResponseError) and error.status_code == 403:
            if action != "read":  # as deployed, the function app's identity only reads secrets
                return SecretUnavailable(
                    f"The identity used for Key Vault may not {action} the {self.where}: as deployed, the function "
                    "app's identity only reads secrets (Key Vault Secrets User).",
                    "Store or rotate the secret with infra/scripts/create-client-secret.sh (as someone holding Key "
                    "Vault Secrets Officer), or, to let the console and PUT /api/provider save it, give the function "
                    f"app's identity '{role}' on this one secret only: az role assignment create --role "
                    f"\"{role}\" --assignee <AZURE_MANAGED_IDENTITY_PRINCIPAL_ID> --scope "
                    f"<the vault's resource id>/secrets/{self._name}",
                )
            return SecretUnavailable(
                f"The identity used for Key Vault may not {action} the {self.where}.",
                f"Give it the role '{role}' on the vault.",
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

"""The client secret from Azure Key Vault, cached in memory and re-read when it was rotated."""

from __future__ import annotations

import threading
from typing import Any

from shared.settings import Settings

_CACHE: dict[tuple[str, str], str] = {}
_LOCK = threading.Lock()


class KeyVaultSecret:
    def __init__(self, vault_url: str, name: str, credential: Any) -> None:
        self._vault_url = vault_url
        self._name = name
        self._credential = credential

    @classmethod
    def for_settings(cls, settings: Settings) -> KeyVaultSecret:
        from azure.identity import ManagedIdentityCredential

        assert settings.key_vault_url
        credential = ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
        return cls(settings.key_vault_url, settings.client_secret_name, credential)

    def value(self, *, refresh: bool = False) -> str:
        key = (self._vault_url, self._name)
        with _LOCK:
            if not refresh and key in _CACHE:
                return _CACHE[key]
        from azure.keyvault.secrets import SecretClient

        from shared.calendar.graph_client import ca_bundle

        options: dict[str, Any] = {}
        ca = ca_bundle()
        if ca:
            options["connection_verify"] = ca
        secret = SecretClient(self._vault_url, self._credential, **options).get_secret(self._name)
        value = secret.value or ""
        with _LOCK:
            _CACHE[key] = value
        return value

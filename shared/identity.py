"""Sign-in to Microsoft Entra: which credential the product uses, built from settings.

Two modes for Graph: `secret` (a client secret from Key Vault, or from the environment for
local development) and `federated` (the function app's managed identity is the app
registration's federated credential, so no secret exists at all).

Key Vault itself is read with a different identity (`vault_credential`): the function app's
user-assigned managed identity in Azure, or, on a developer machine and in tests, the
identity named by the standard AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET
variables. The Graph app's own secret can never be what unlocks the vault that holds it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.tls import azure_connection_options

log = logging.getLogger("learncal.identity")

# Hosts MSAL knows; any other authority (sovereign stacks, the local sandbox) skips the
# instance discovery that would otherwise go to the public cloud's discovery endpoint.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn", "login.windows.net"}
)
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"
# Entra's words for "this secret is wrong" and "this secret has expired": the cue to re-read it.
SECRET_REFUSED_CODES = ("AADSTS7000215", "AADSTS7000222")
ENVIRONMENT_IDENTITY_VARS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


def credential_options(settings: Settings) -> dict[str, Any]:
    host = urlparse(settings.authority_url).hostname or ""
    options: dict[str, Any] = {"authority": settings.authority_url}
    if host not in KNOWN_AUTHORITY_HOSTS:
        options["disable_instance_discovery"] = True
    options.update(azure_connection_options())
    return options


def build_credential(settings: Settings, secret: str | None = None) -> Any:
    """The credential for Graph; `secret` comes from the secret source in secret mode.

    With Key Vault configured the credential re-reads the secret when Entra refuses it as
    invalid or expired, so a rotated secret is picked up without a restart.
    """
    settings.require("LEARNCAL_TENANT_ID", "LEARNCAL_CLIENT_ID")
    assert settings.tenant_id and settings.client_id
    if settings.auth_mode == "federated":
        return federated_credential(settings)
    if not secret:
        raise ConfigurationError(
            "No client secret: set LEARNCAL_KEY_VAULT_URL (and LEARNCAL_CLIENT_SECRET_NAME) for Key Vault, "
            "LEARNCAL_CLIENT_SECRET for local development, or LEARNCAL_AUTH_MODE=federated."
        )
    if settings.key_vault_url:
        from shared.secrets import KeyVaultSecret

        vault = KeyVaultSecret.for_settings(settings)
        return RotatingSecretCredential(settings, secret, lambda: vault.value(refresh=True))
    return secret_credential(settings, secret)


def secret_credential(settings: Settings, secret: str) -> Any:
    from azure.identity import ClientSecretCredential

    assert settings.tenant_id and settings.client_id
    return ClientSecretCredential(settings.tenant_id, settings.client_id, secret, **credential_options(settings))


def federated_credential(settings: Settings, assertion_source: Any | None = None) -> Any:
    """The app registration trusts the managed identity; its token for api://AzureADTokenExchange is the assertion.

    `assertion_source` is the credential whose token is the assertion (the managed identity
    unless given): one place decides the chain, and a test can watch it being used.
    """
    from azure.identity import ClientAssertionCredential, ManagedIdentityCredential

    settings.require("LEARNCAL_TENANT_ID", "LEARNCAL_CLIENT_ID")
    assert settings.tenant_id and settings.client_id
    identity = assertion_source or ManagedIdentityCredential(client_id=settings.managed_identity_client_id)

    def assertion() -> str:
        return str(identity.get_token(TOKEN_EXCHANGE_SCOPE).token)

    return ClientAssertionCredential(settings.tenant_id, settings.client_id, assertion, **credential_options(settings))


def vault_credential(settings: Settings) -> Any:
    """Who may read (and, for the admin API, write) the client secret in Key Vault.

    1. LEARNCAL_MANAGED_IDENTITY_CLIENT_ID set (Azure): that user-assigned managed identity.
    2. AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET set (a developer machine, the
       sandbox, CI): that service principal, signing in at LEARNCAL_AUTHORITY_URL.
    3. Otherwise azure-identity's default chain (a system-assigned identity, `az login`, ...).
    """
    if settings.managed_identity_client_id:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    if all(os.environ.get(name) for name in ENVIRONMENT_IDENTITY_VARS):
        from azure.identity import EnvironmentCredential

        return EnvironmentCredential(**credential_options(settings))
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=settings.authority_url, exclude_interactive_browser_credential=True)


def secret_refused(error: BaseException) -> bool:
    """True when Entra said the client secret is invalid or expired (AADSTS7000215 / 7000222)."""
    text = str(error)
    return any(re.search(rf"\b{code}\b", text) for code in SECRET_REFUSED_CODES)


class RotatingSecretCredential:
    """A client-secret credential that re-reads its secret once when Entra refuses it.

    Secrets are rotated in Key Vault while the function app keeps running; the cached secret
    then fails with AADSTS7000215 (or 7000222 once expired). One fresh read, and one retry
    with the new value, picks the rotation up without a restart. A secret that is still the
    same after the re-read is reported as it is: retrying would only repeat the refusal.
    """

    def __init__(self, settings: Settings, secret: str, reread: Callable[[], str]) -> None:
        self._settings = settings
        self._secret = secret
        self._reread = reread
        self._lock = threading.Lock()
        self._inner = secret_credential(settings, secret)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._call("get_token", scopes, kwargs)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        return self._call("get_token_info", scopes, kwargs)

    def _call(self, method: str, scopes: tuple[str, ...], kwargs: dict[str, Any]) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        inner = self._inner
        try:
            return getattr(inner, method)(*scopes, **kwargs)
        except ClientAuthenticationError as error:
            if not secret_refused(error) or not self._renew(inner):
                raise
        return getattr(self._inner, method)(*scopes, **kwargs)

    def _renew(self, failed: Any) -> bool:
        """Re-read the secret; True when there is a different one to try (or another thread found one)."""
        with self._lock:
            if self._inner is not failed:
                return True
            fresh = self._reread()
            if not fresh or fresh == self._secret:
                return False
            log.info("The client secret was refused; a newer secret from Key Vault is used from now on.")
            self._secret = fresh
            self._inner = secret_credential(self._settings, fresh)
            failed.close()
            return True

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> RotatingSecretCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

"""Sign-in to Microsoft Entra: which credential the product uses, built from settings.

Two modes: `secret` (a client secret from Key Vault, or from the environment for local
development) and `federated` (the function app's managed identity is the app registration's
federated credential, so no secret exists at all).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from shared.calendar.graph_client import ca_bundle
from shared.errors import ConfigurationError
from shared.settings import Settings

# Hosts MSAL knows; any other authority (sovereign stacks, the local sandbox) skips the
# instance discovery that would otherwise go to the public cloud's discovery endpoint.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn", "login.windows.net"}
)
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"


def credential_options(settings: Settings) -> dict[str, Any]:
    host = urlparse(settings.authority_url).hostname or ""
    options: dict[str, Any] = {"authority": settings.authority_url}
    if host not in KNOWN_AUTHORITY_HOSTS:
        options["disable_instance_discovery"] = True
    ca = ca_bundle()
    if ca:
        options["connection_verify"] = ca
    return options


def build_credential(settings: Settings, secret: str | None = None) -> Any:
    """The credential for Graph; `secret` comes from the secret source in secret mode."""
    settings.require("LEARNCAL_TENANT_ID", "LEARNCAL_CLIENT_ID")
    assert settings.tenant_id and settings.client_id
    if settings.auth_mode == "federated":
        return federated_credential(settings)
    if not secret:
        raise ConfigurationError(
            "No client secret: set LEARNCAL_KEY_VAULT_URL (and LEARNCAL_CLIENT_SECRET_NAME) for Key Vault, "
            "LEARNCAL_CLIENT_SECRET for local development, or LEARNCAL_AUTH_MODE=federated."
        )
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(settings.tenant_id, settings.client_id, secret, **credential_options(settings))


def federated_credential(settings: Settings) -> Any:
    """The app registration trusts the managed identity; its token is the client assertion."""
    from azure.identity import ClientAssertionCredential, ManagedIdentityCredential

    assert settings.tenant_id and settings.client_id
    identity = ManagedIdentityCredential(client_id=settings.managed_identity_client_id)

    def assertion() -> str:
        return str(identity.get_token(TOKEN_EXCHANGE_SCOPE).token)

    return ClientAssertionCredential(settings.tenant_id, settings.client_id, assertion, **credential_options(settings))

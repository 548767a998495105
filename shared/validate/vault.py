"""Check that the client secret can be read where the sync reads it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.monitoring import SECRET_WARNING_DAYS
from shared.secrets import KeyVaultSecret, SecretUnavailable
from shared.settings import Settings
from shared.validate.model import KEY_VAULT, Check, failed, passed, warned


def check_key_vault(settings: Settings, vault: Callable[[Settings], KeyVaultSecret]) -> Check:
    if settings.auth_mode == "federated":
        return passed(KEY_VAULT, "No client secret is needed: the managed identity signs in (federated mode).")
    if not settings.key_vault_url:
        if settings.client_secret:
            return warned(KEY_VAULT, "The client secret comes from LEARNCAL_CLIENT_SECRET, which is meant for local "
                          "development only.", "Store the secret in Key Vault and set LEARNCAL_KEY_VAULT_URL.")
        return failed(KEY_VAULT, "No client secret is configured.",
                      "Store the secret in Key Vault and set LEARNCAL_KEY_VAULT_URL (LEARNCAL_CLIENT_SECRET for "
                      "local development), or use authMode federated.")
    source = vault(settings)
    try:
        version = source.read(refresh=True)
    except SecretUnavailable as error:
        return failed(KEY_VAULT, error.problem, error.fix)
    if not version.value:
        return failed(KEY_VAULT, f"The {source.where} is empty.", "Store the client secret's value in it.")
    when = f"; it last changed {version.updated_on:%Y-%m-%d %H:%M} UTC" if version.updated_on else ""
    days = version.days_left(datetime.now(UTC))
    if days is not None and days <= SECRET_WARNING_DAYS and version.expires_on is not None:
        state = "has expired" if days < 0 else f"expires in {int(days)} days"
        return warned(KEY_VAULT, f"The {source.where} can be read{when}, but it {state} "
                      f"({version.expires_on:%Y-%m-%d} UTC).",
                      "Create and store a new client secret: infra/scripts/create-client-secret.sh --rotate.")
    return passed(KEY_VAULT, f"The {source.where} can be read{when}.")

"""Validate, when a response webhook is configured: a usable URL and a signing key that can be read.

A wrong URL or a missing key would otherwise show only when the first answer arrives (a log
record, then the poison queue); here the administrator sees it with the fix at once. Nothing
is posted to the receiver.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.errors import ConfigurationError
from shared.secrets import SecretUnavailable
from shared.settings import Settings
from shared.validate.model import Check, failed, passed, warned

RESPONSE_WEBHOOK = "response-webhook"  # only while LEARNCAL_RESPONSE_WEBHOOK_URL is set


def check_response_webhook(settings: Settings) -> Check | None:
    """None when no webhook is configured (nothing to check)."""
    from shared.responses.webhook import SECRET_NAME, webhook_secret, webhook_url

    if not settings.response_webhook_url:
        return None
    try:
        url = webhook_url(settings)
    except ConfigurationError as error:
        return failed(RESPONSE_WEBHOOK, "The response webhook's address cannot be used.", str(error))
    host = urlsplit(url or "").hostname or "the receiver"
    try:
        key = webhook_secret(settings)
    except (ConfigurationError, SecretUnavailable) as error:
        fix = error.fix if isinstance(error, SecretUnavailable) else str(error)
        return failed(RESPONSE_WEBHOOK, f"Response changes would be posted to {host}, but their signing key cannot "
                      "be read, so none would be sent.", fix)
    if not key:
        return failed(RESPONSE_WEBHOOK, "The response webhook's signing key is empty.",
                      f"Store a random key in Key Vault as the secret {SECRET_NAME}.")
    if settings.response_webhook_secret:
        return warned(RESPONSE_WEBHOOK, f"Response changes are posted to {host}, signed with the key in "
                      "LEARNCAL_RESPONSE_WEBHOOK_SECRET, which is meant for local development only.",
                      f"Store the key in Key Vault as the secret {SECRET_NAME} and remove "
                      "LEARNCAL_RESPONSE_WEBHOOK_SECRET.")
    return passed(RESPONSE_WEBHOOK, f"Response changes are posted to {host}, signed with the Key Vault secret "
                  f"{SECRET_NAME}.")

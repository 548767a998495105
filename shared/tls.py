"""Which CA bundle to trust: the standard variables, read in one place for every client.

Locally these name the sandbox's CA; in Azure they are normally unset and the system store
applies. httpx (Graph, feeds) takes an SSL context, azure-core clients (sign-in, Key Vault)
take `connection_verify`.
"""

from __future__ import annotations

import os
from typing import Any

CA_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def named_ca_bundle() -> tuple[str, str] | None:
    """(variable, path) of the first CA bundle variable that is set, whether or not the file exists."""
    for variable in CA_BUNDLE_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return variable, value
    return None


def ca_bundle() -> str | None:
    """The CA bundle file to trust, if the variables name one that exists."""
    named = named_ca_bundle()
    return named[1] if named and os.path.isfile(named[1]) else None


def azure_connection_options() -> dict[str, Any]:
    """Keyword arguments for azure-core clients (credentials, SecretClient)."""
    ca = ca_bundle()
    return {"connection_verify": ca} if ca else {}

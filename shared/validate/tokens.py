"""Read an access token's claims without verifying it.

The token was just issued to us over TLS by the authority we chose, and only Graph verifies
it; the claims merely tell which permissions were granted (`roles` for application
permissions, `scp` for delegated ones), which is what the permission check needs.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, or {} when it is not one."""
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}

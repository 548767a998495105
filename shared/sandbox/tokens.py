"""Access tokens: compact JWTs signed with the data directory's own key (HS256).

Real clients never validate access tokens, they only carry them; what matters is that the
sandbox can trust its own tokens and that the claims look like Entra's (aud, tid, appid,
roles or scp, idtyp, exp), so that product code decoding them sees the real shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

Claims = dict[str, Any]


class TokenError(Exception):
    """A token that cannot be trusted; the message says why, in Graph's words where Graph has them."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: Claims, key: bytes) -> str:
    header = {"typ": "JWT", "alg": "HS256", "kid": "sandbox"}
    signing_input = _b64(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64(
        json.dumps(claims, separators=(",", ":")).encode()
    )
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def decode(token: str, key: bytes, *, now: float | None = None) -> Claims:
    """The claims of a token this sandbox signed and that has not expired."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("IDX14100: JWT is not well formed, there are no dots (.).")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii", "replace")
    try:
        signature = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("IDX14102: Unable to decode the token.") from None
    expected = hmac.new(key, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected) or not isinstance(claims, dict):
        raise TokenError("IDX10511: Signature validation failed.")
    current = time.time() if now is None else now
    if float(claims.get("exp", 0)) <= current:
        raise TokenError("Lifetime validation failed, the token is expired.")
    if float(claims.get("nbf", 0)) > current + 300:
        raise TokenError("Lifetime validation failed, the token is not yet valid.")
    return claims


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()

"""Small helpers shared by the non-Graph HTTP handlers (authority, Key Vault, inspection, admin)."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    content_type="application/json; charset=utf-8")


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object of a request body; an empty body is an empty object."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadInput("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadInput("the body must be a JSON object")
    return value


class BadInput(ValueError):
    """An admin or Key Vault request the sandbox cannot use; answered with 400 and the reason."""

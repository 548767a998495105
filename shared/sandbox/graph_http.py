"""Graph requests and responses as plain values, so one dispatcher serves both top-level HTTP
requests and the sub-requests of a JSON batch, and every error has Graph's body shape."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import Headers

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


@dataclass
class GraphRequest:
    method: str
    path: str  # decoded, relative to the version segment, e.g. "/users/x/events"
    query: dict[str, str]
    headers: Headers
    body: bytes
    base_url: str  # e.g. "https://127.0.0.1:8443/v1.0", for @odata.context and nextLink
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def json(self) -> Any:
        if not self.body.strip():
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            return json.loads(self.body)
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                             "header is set and payload is of valid JSON format.") from None

    def option(self, name: str) -> str | None:
        """A system query option, with or without its `$` (Graph accepts both)."""
        value = self.query.get("$" + name)
        return self.query.get(name) if value is None else value

    def prefer(self) -> dict[str, str]:
        """The `Prefer` preferences, keys lower-cased, values unquoted."""
        found: dict[str, str] = {}
        for header in self.headers.get_all("Prefer"):
            for part in header.split(","):
                key, _, value = part.strip().partition("=")
                if key:
                    found[key.strip().lower()] = value.strip().strip('"')
        return found


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body, ensure_ascii=False).encode("utf-8")


class GraphError(Exception):
    """A refusal in Graph's words: status, error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self, request: GraphRequest | None) -> GraphResponse:
        client_request_id = (request.headers.get("client-request-id") if request else None) or str(uuid.uuid4())
        body = {"error": {"code": self.code, "message": self.message, "innerError": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request.request_id if request else str(uuid.uuid4()),
            "client-request-id": client_request_id,
        }}}
        return GraphResponse(self.status, body, dict(self.headers))


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

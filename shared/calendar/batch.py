"""JSON batching (`POST {graph}/$batch`): up to 20 Graph requests in one HTTP round trip.

Sub-requests are built from the SDK's own request information (typed request builders, the
SDK's serializer for bodies), then written as Graph's batch JSON here, because the SDK's
`BatchRequestContent` serializer writes `depends_on` instead of `dependsOn`. The envelope is
sent through the same request adapter as every other request, so sign-in, TLS and the
middleware stay the SDK's.

System query options are written with a literal `$` inside a batch (`$filter`, not the
`%24filter` the SDK's URL templates produce): the SDK decodes them only on requests it sends
itself, and Graph does not understand the encoded names inside a batch, answering as if the
option were absent (microsoft/kiota issues 1445 and 1651; the .NET SDK un-escapes batch URLs
for this reason).

Graph answers each sub-request on its own (a sub-response may be 429 with its own
Retry-After, or 424 when a `dependsOn` failed); when the envelope itself fails, every
sub-request gets the envelope's answer, or no answer at all (status None) when the
connection failed. How each write proceeds from those answers is `jobs.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared.calendar.retry import parse_retry_after

MAX_REQUESTS = 20
_SKIP_HEADERS = frozenset({"accept", "authorization"})


@dataclass(frozen=True)
class SubRequest:
    id: str
    method: str
    url: str  # relative to the Graph version root, e.g. "/users/x/events"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        if self.headers:
            item["headers"] = dict(self.headers)
        if self.body is not None:
            item["body"] = self.body
        if self.depends_on:
            item["dependsOn"] = list(self.depends_on)
        return item


@dataclass(frozen=True)
class SubResponse:
    id: str
    status: int | None  # None: no answer (the connection failed or the answer was lost)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(_header(self.headers, "retry-after"))

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return str(code) if code else None

    @property
    def error_message(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return str(message) if message else None


_FROM_INFO: Any = object()


def sub_request(info: Any, request_id: str, base_url: str, *, body: Any = _FROM_INFO) -> SubRequest:
    """A batch item from the SDK's RequestInformation (what a request builder would have sent);
    `body`, when given, is the JSON body (otherwise the information's serialized content)."""
    url = str(info.url)
    if url.lower().startswith(("http://", "https://")):
        base_path = urlsplit(base_url).path.rstrip("/")
        parts = urlsplit(url)
        path = parts.path[len(base_path):] if parts.path.startswith(base_path) else parts.path
        url = path + (f"?{literal_options(parts.query)}" if parts.query else "")
    else:
        path, _, query = url.partition("?")
        url = path + (f"?{literal_options(query)}" if query else "")
    headers = {name: ", ".join(sorted(values)) for name, values in info.headers.get_all().items()
               if name.lower() not in _SKIP_HEADERS}
    if body is _FROM_INFO:
        body = json.loads(info.content) if info.content else None
    if body is None:
        headers.pop("content-type", None)
    method = getattr(info.http_method, "value", info.http_method)
    return SubRequest(request_id, str(method).upper(), url, headers, body)


def literal_options(query: str) -> str:
    """A query string with `$` written literally: option names (`$filter`) and the options nested
    in values (`$expand=...($filter=...)`). A literal `$` means the same as `%24` in a query value,
    and the rest of the encoding stays as the SDK wrote it."""
    return query.replace("%24", "$")


def encode(requests: Sequence[SubRequest]) -> bytes:
    if not 0 < len(requests) <= MAX_REQUESTS:
        raise ValueError(f"a batch holds 1 to {MAX_REQUESTS} requests, not {len(requests)}")
    return json.dumps({"requests": [r.to_json() for r in requests]}, ensure_ascii=False).encode("utf-8")


def decode(payload: bytes, requests: Sequence[SubRequest]) -> list[SubResponse]:
    """Sub-responses in the order of `requests`; one Graph left out reads as "no answer"."""
    data = json.loads(payload) if payload else {}
    found: dict[str, SubResponse] = {}
    for item in data.get("responses") or []:
        if not isinstance(item, dict) or "id" not in item:
            continue
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        status = item.get("status")
        found[str(item["id"])] = SubResponse(str(item["id"]), int(status) if status is not None else None, headers,
                                             item.get("body"))
    return [found.get(r.id, SubResponse(r.id, None)) for r in requests]


def same_answer(requests: Sequence[SubRequest], status: int | None, headers: dict[str, str] | None = None,
                body: Any = None) -> list[SubResponse]:
    """Every sub-request answered alike: the envelope failed as a whole."""
    return [SubResponse(r.id, status, dict(headers or {}), body) for r in requests]


class BatchSender:
    """Sends one envelope through the SDK's request adapter (its auth provider and middleware)."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter

    async def send(self, requests: Sequence[SubRequest], error_mapping: dict[str, Any]) -> bytes:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        info = RequestInformation(Method.POST, "{+baseurl}/$batch")
        info.headers.try_add("Accept", "application/json")
        info.headers.try_add("Content-Type", "application/json")
        info.content = encode(requests)
        payload = await self._adapter.send_primitive_async(info, "bytes", error_mapping)
        return bytes(payload or b"")


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# -- writes, round by round ---------------------------------------------------------------

"""JSON batching (`POST /v1.0/$batch`): up to 20 sub-requests, each served like a request of its own.

The envelope is not a Graph request in its own right (it is not counted or throttled); each
sub-request goes through `GraphService.handle` with the envelope's token. Sub-requests run in
the order given; one whose `dependsOn` names a failed request gets 424. Only `dependsOn` is
honoured: a misspelt key (such as `depends_on`) is ignored, as Graph ignores it.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.datastructures import Headers

from shared.sandbox.graph_api import GraphService
from shared.sandbox.graph_http import GraphError, GraphRequest, GraphResponse

MAX_REQUESTS = 20


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """A sub-request URL (relative, or absolute as some SDKs send it) as a version-relative path and query."""
    parts = urlsplit(url)
    path = parts.path if parts.scheme else "/" + parts.path.lstrip("/")
    for version in ("/v1.0", "/beta"):
        if path.lower().startswith(version + "/"):
            path = path[len(version):]
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return unquote(path), query


def _body(item: dict[str, Any]) -> bytes:
    body = item.get("body")
    if body is None:
        return b""
    if isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def run_batch(service: GraphService, envelope: GraphRequest) -> GraphResponse:
    try:
        payload = envelope.json()
        items = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            raise _bad("The batch request must contain a 'requests' collection.")
        if len(items) > MAX_REQUESTS:
            raise _bad(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
        ids = [str(item.get("id", "")) if isinstance(item, dict) else "" for item in items]
        if any(not i for i in ids) or len(set(ids)) != len(ids):
            raise _bad("Each batch request needs an id that is unique in the batch.")
        for item in items:
            unknown = set(item.get("dependsOn") or ()) - set(ids)
            if unknown:
                raise _bad(f"Request depends on unknown request ids: {', '.join(sorted(unknown))}.")
            if not item.get("method") or not item.get("url"):
                raise _bad("Each batch request needs a method and a url.")
    except GraphError as error:
        return error.response(envelope)

    statuses: dict[str, int] = {}
    responses = []
    for request_id, item in zip(ids, items, strict=True):
        failed = [d for d in item.get("dependsOn") or () if statuses.get(str(d), 0) >= 400]
        if failed:
            response = GraphError(424, "FailedDependency",
                                  f"The request depends on a failed request: {', '.join(failed)}.").response(envelope)
        else:
            response = service.handle(_sub_request(envelope, item))
        statuses[request_id] = response.status
        entry: dict[str, Any] = {"id": request_id, "status": response.status, "headers": response.headers}
        if response.body is not None:
            entry["headers"] = {**response.headers, "Content-Type": "application/json"}
            entry["body"] = response.body
        responses.append(entry)
    return GraphResponse(200, {"responses": responses})


def _sub_request(envelope: GraphRequest, item: dict[str, Any]) -> GraphRequest:
    path, query = _split_url(str(item["url"]))
    headers = Headers()
    for name, value in (item.get("headers") or {}).items():
        headers.add(name, ", ".join(value) if isinstance(value, list) else str(value))
    authorization = envelope.headers.get("Authorization")
    if authorization:
        headers["Authorization"] = authorization
    return GraphRequest(method=str(item["method"]).upper(), path=path, query=query, headers=headers,
                        body=_body(item), base_url=envelope.base_url)

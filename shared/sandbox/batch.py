"""JSON batching (`POST /v1.0/$batch`): up to 20 sub-requests, each served like a request of its own.

Sources: learn.microsoft.com/graph/json-batching (format, `dependsOn`, 424 for a request whose
dependency failed, responses in any order) and learn.microsoft.com/graph/throttling-limits,
"Outlook service limits for JSON batching": Graph forwards up to four sub-requests of a batch to
the mailbox at a time, in no set order, so every one of them holds one of the mailbox's four
concurrency slots while it runs (two batches to one mailbox at once exceed the limit).

The envelope is not a Graph request in its own right (it is not counted or throttled); each
sub-request goes through `GraphService.handle` with the envelope's token. Realism switches:
`batchExecution` ("concurrent": a thread pool, at most four at a time per mailbox, started in
a seeded random order that only `dependsOn` constrains; "sequential": one after another, in
the order given) and `encodedBatchQueryOptions` ("ignored": `%24filter` and its kin inside a
sub-request URL are unknown parameters, answered as if absent; "decoded"). Only `dependsOn` is
honoured: a misspelt key (such as `depends_on`) is ignored, as Graph ignores it. A fault rule
whose path names `$batch` applies to the envelope.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from werkzeug.datastructures import Headers

from shared.sandbox.gate import fault_error
from shared.sandbox.graph_api import GraphService
from shared.sandbox.graph_http import GraphError, GraphRequest, GraphResponse

MAX_REQUESTS = 20
# learn.microsoft.com/graph/throttling-limits, "Outlook service limits for JSON batching".
PARALLEL_PER_MAILBOX = 4
WORKERS = 32


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def split_url(url: str, *, decode_option_names: bool) -> tuple[str, dict[str, str]]:
    """A sub-request URL (relative, or absolute as some SDKs send it) as a version-relative path and query.

    Parameter names are read raw: with `decode_option_names` False a `%24filter` stays
    `%24filter`, which no endpoint understands (Graph does not decode option names in batches).
    """
    parts = urlsplit(url)
    path = parts.path if parts.scheme else "/" + parts.path.lstrip("/")
    for version in ("/v1.0", "/beta"):
        if path.lower().startswith(version + "/"):
            path = path[len(version):]
    query: dict[str, str] = {}
    for pair in parts.query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        encoded_option = raw_name[:3].lower() == "%24"
        name = raw_name if encoded_option and not decode_option_names else unquote_plus(raw_name)
        query[name] = unquote_plus(raw_value)
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


def _validate(envelope: GraphRequest) -> tuple[list[str], list[dict[str, Any]]]:
    payload = envelope.json()
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise _bad("The batch request must contain a 'requests' collection.")
    if len(items) > MAX_REQUESTS:
        raise _bad(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
    if not all(isinstance(item, dict) for item in items):
        raise _bad("Each batch request is a JSON object.")
    ids = [str(item.get("id", "")) for item in items]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        raise _bad("Each batch request needs an id that is unique in the batch.")
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list):
            raise _bad("dependsOn is a list of request ids.")
        unknown = {str(d) for d in depends} - set(ids)
        if unknown:
            raise _bad(f"Request depends on unknown request ids: {', '.join(sorted(unknown))}.")
        if not item.get("method") or not item.get("url"):
            raise _bad("Each batch request needs a method and a url.")
    _refuse_cycles(ids, items)
    return ids, items


def _refuse_cycles(ids: list[str], items: list[dict[str, Any]]) -> None:
    depends = {i: {str(d) for d in item.get("dependsOn") or []} for i, item in zip(ids, items, strict=True)}
    done: set[str] = set()
    while len(done) < len(ids):
        ready = [i for i in ids if i not in done and depends[i] <= done]
        if not ready:
            raise _bad("The dependsOn chains of the batch form a cycle.")
        done.update(ready)


class BatchRunner:
    """Serves `$batch` envelopes; owns the thread pool the sub-requests of concurrent batches run on."""

    def __init__(self, service: GraphService) -> None:
        self._service = service
        self._sandbox = service.sandbox
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sandbox-batch")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self, envelope: GraphRequest) -> GraphResponse:
        sandbox = self._sandbox
        rule = sandbox.gate.fault_for(envelope.method, envelope.path, envelope=True)
        fault = None
        if rule is not None:
            time.sleep(rule.latency)
            fault = fault_error(rule)
            if fault is not None and not rule.applied:
                return fault.response(envelope)
        try:
            ids, items = _validate(envelope)
        except GraphError as error:
            return error.response(envelope)
        if sandbox.realism.batch_execution == "sequential":
            responses = self._sequential(envelope, ids, items)
        else:
            responses = self._concurrent(envelope, ids, items)
        if fault is not None:
            return fault.response(envelope)  # every sub-request ran, but the answer is lost
        return GraphResponse(200, {"responses": responses})

    def _sequential(self, envelope: GraphRequest, ids: list[str],
                    items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        statuses: dict[str, int] = {}
        entries = []
        for request_id, item in zip(ids, items, strict=True):
            failed = [str(d) for d in item.get("dependsOn") or [] if statuses.get(str(d), 0) >= 400]
            response = _failed_dependency(envelope, failed) if failed else self._serve(envelope, item)
            statuses[request_id] = response.status
            entries.append(_entry(request_id, response))
        return entries

    def _concurrent(self, envelope: GraphRequest, ids: list[str],
                    items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Start sub-requests in a seeded random order, at most four per mailbox at once, after their dependencies."""
        by_id = dict(zip(ids, items, strict=True))
        depends = {i: [str(d) for d in by_id[i].get("dependsOn") or []] for i in ids}
        mailbox = {i: self._service.mailbox_key(self._sub_request(envelope, by_id[i])) for i in ids}
        pending = self._sandbox.gate.batch_order(ids)
        statuses: dict[str, int] = {}
        entries: list[dict[str, Any]] = []
        running: dict[Future[GraphResponse], str] = {}
        busy: Counter[str] = Counter()
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for request_id in list(pending):
                    if not all(d in statuses for d in depends[request_id]):
                        continue
                    failed = [d for d in depends[request_id] if statuses[d] >= 400]
                    if failed:
                        response = _failed_dependency(envelope, failed)
                        statuses[request_id] = response.status
                        entries.append(_entry(request_id, response))
                    elif busy[mailbox[request_id]] < PARALLEL_PER_MAILBOX:
                        busy[mailbox[request_id]] += 1
                        running[self._pool.submit(self._serve, envelope, by_id[request_id])] = request_id
                    else:
                        continue
                    pending.remove(request_id)
                    progressed = True
            if not running:
                continue
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                request_id = running.pop(future)
                busy[mailbox[request_id]] -= 1
                response = future.result()
                statuses[request_id] = response.status
                entries.append(_entry(request_id, response))
        return entries

    def _serve(self, envelope: GraphRequest, item: dict[str, Any]) -> GraphResponse:
        return self._service.handle(self._sub_request(envelope, item))

    def _sub_request(self, envelope: GraphRequest, item: dict[str, Any]) -> GraphRequest:
        decode = self._sandbox.realism.encoded_batch_query_options == "decoded"
        path, query = split_url(str(item["url"]), decode_option_names=decode)
        headers = Headers()
        for name, value in (item.get("headers") or {}).items():
            headers.add(name, ", ".join(value) if isinstance(value, list) else str(value))
        authorization = envelope.headers.get("Authorization")
        if authorization:
            headers["Authorization"] = authorization
        return GraphRequest(method=str(item["method"]).upper(), path=path, query=query, headers=headers,
                            body=_body(item), base_url=envelope.base_url)


def _failed_dependency(envelope: GraphRequest, failed: list[str]) -> GraphResponse:
    return GraphError(424, "FailedDependency",
                      f"The request depends on a failed request: {', '.join(failed)}.").response(envelope)


def _entry(request_id: str, response: GraphResponse) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": request_id, "status": response.status, "headers": response.headers}
    if response.body is not None:
        entry["headers"] = {**response.headers, "Content-Type": "application/json"}
        entry["body"] = response.body
    return entry

"""JSON batching (`POST {graph}/$batch`): up to 20 Graph requests in one HTTP round trip,
and how each write proceeds through rounds of batches until it is done.

Sub-requests are built from the SDK's own request information (typed request builders, the
SDK's serializer for bodies), then written as Graph's batch JSON here, because the SDK's
`BatchRequestContent` serializer writes `depends_on` instead of `dependsOn`. The envelope is
sent through the same request adapter as every other request, so sign-in, TLS and the
middleware stay the SDK's.

Graph answers each sub-request on its own (a sub-response may be 429 with its own
Retry-After); when the envelope itself fails, every sub-request gets the envelope's answer,
or no answer at all (status None) when the connection failed. So each write is a small job
that sends one step per round and reads its own answer:

- create: [look up by tag ->] POST with transactionId. A throttled POST is sent again; a POST
  whose outcome is unknown is never sent again blindly: the next step looks the event up by
  its tag and creates only if it is not there. Two events under one tag: the first is
  adopted, the others are cancelled.
- update: PATCH. A repeat after an unknown outcome may send a second message, so it first
  asks the sending budget (`extra_message`).
- cancel: [look up by tag ->] POST cancel. A repeat is harmless: a meeting already cancelled
  answers ErrorItemNotFound, which is the outcome wanted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.calendar.errors import graph_error
from shared.calendar.gateway import CancelWrite, CreateWrite, ExtraMessage, NewEvent, UpdateWrite, Write, WriteResult
from shared.calendar.retry import RetryPolicy, outcome_unknown, parse_retry_after, transient
from shared.errors import GraphError

MAX_REQUESTS = 20
DUPLICATE_COMMENT = "This was a second copy of the same invitation; your other invitation to this session stands."
log = logging.getLogger("learncal.graph")
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
        url = path + (f"?{parts.query}" if parts.query else "")
    headers = {name: ", ".join(sorted(values)) for name, values in info.headers.get_all().items()
               if name.lower() not in _SKIP_HEADERS}
    if body is _FROM_INFO:
        body = json.loads(info.content) if info.content else None
    if body is None:
        headers.pop("content-type", None)
    method = getattr(info.http_method, "value", info.http_method)
    return SubRequest(request_id, str(method).upper(), url, headers, body)


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


class RequestFactory(Protocol):
    """Builds the batch items of each step (from the SDK's request builders)."""

    def create(self, request_id: str, event: NewEvent) -> SubRequest: ...

    def update(self, request_id: str, event_id: str, changes: dict[str, Any], state: str | None) -> SubRequest: ...

    def cancel(self, request_id: str, event_id: str, comment: str) -> SubRequest: ...

    def find(self, request_id: str, tag: str) -> SubRequest: ...


def start_job(index: int, write: Write, policy: RetryPolicy) -> Job:
    if isinstance(write, CreateWrite):
        return CreateJob(index, policy, write)
    if isinstance(write, UpdateWrite):
        return UpdateJob(index, policy, write)
    return CancelJob(index, policy, write)


def sub_error(response: SubResponse, action: str) -> GraphError:
    """A sub-response's failure in the product's words (the same mapping as top-level errors)."""
    if response.status is None:
        return GraphError(f"The connection to Graph failed while trying to {action}; it is retried.")
    shaped = SimpleNamespace(response_status_code=response.status, response_headers=response.headers,
                             error=SimpleNamespace(code=response.error_code, message=response.error_message))
    return graph_error(shaped, action=action)


def found_ids(response: SubResponse) -> list[str]:
    """Ids of live events in a lookup's answer (a cancelled meeting is not a live invitation)."""
    items = response.body.get("value") if isinstance(response.body, dict) else None
    return [str(e["id"]) for e in items or [] if isinstance(e, dict) and e.get("id") and not e.get("isCancelled")]


class Job:
    """One write's progress: the sub-requests of its current step, its answers, and its end."""

    action = "write the meeting"

    def __init__(self, index: int, policy: RetryPolicy) -> None:
        self.index = index
        self.policy = policy
        self.wake = 0.0  # monotonic time before which the job waits (Retry-After or backoff)
        self.failures = 0
        self.messages = 0
        self.result: WriteResult | None = None
        self.answers: dict[str, SubResponse] = {}
        self._serial = 0

    def request_id(self) -> str:
        self._serial += 1
        return f"{self.index}.{self._serial}"

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        raise NotImplementedError

    def accept(self, request: SubRequest, response: SubResponse) -> None:
        self.answers[request.id] = response

    async def advance(self, extra_message: ExtraMessage | None) -> None:
        answers = list(self.answers.values())
        self.answers.clear()
        await self.step(answers, extra_message)

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        raise NotImplementedError

    def retry(self, last: SubResponse, retry_after: float | None = None) -> None:
        """Wait as Graph asked (or back off) and try the current step again, within the policy."""
        self.failures += 1
        if self.failures >= self.policy.attempts:
            self.end("unknown", error=sub_error(last, self.action))
            return
        wait = retry_after if retry_after is not None else last.retry_after
        self.wake = time.monotonic() + self.policy.delay(self.failures, wait)

    def end(self, status: str, **details: Any) -> None:
        self.result = WriteResult(status, messages=self.messages, **details)  # type: ignore[arg-type]

    def give_up(self) -> None:
        """The run's time is up while this write still waits: leave it to the next run."""
        self.end("unknown")

    def outcome(self) -> WriteResult:
        return self.result or WriteResult("unknown", messages=self.messages)


class CreateJob(Job):
    action = "invite the attendee"

    def __init__(self, index: int, policy: RetryPolicy, write: CreateWrite) -> None:
        super().__init__(index, policy)
        self.write = write
        self.phase = "look" if write.look_first else "create"
        self.adopted: str | None = None
        self.duplicates: list[str] = []

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        event = self.write.event
        if self.phase == "look":
            return [factory.find(self.request_id(), event.tag)]
        if self.phase == "create":
            return [factory.create(self.request_id(), event)]
        return [factory.cancel(self.request_id(), event_id, DUPLICATE_COMMENT) for event_id in self.duplicates]

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        if self.phase == "drop":
            await self._dropped(answers)
            return
        answer = answers[0]
        if self.phase == "look":
            await self._looked(answer, extra_message)
        else:
            self._created(answer)

    async def _looked(self, answer: SubResponse, extra_message: ExtraMessage | None) -> None:
        if answer.ok:
            ids = found_ids(answer)
            if not ids:
                self.phase = "create"  # not there: the earlier attempt never landed; create now
                return
            self.adopted = ids[0]
            for duplicate in ids[1:]:
                if extra_message is not None and await extra_message():
                    self.duplicates.append(duplicate)
                else:
                    log.warning("a duplicate meeting was left for a later run (sending budget)")
            if self.duplicates:
                self.phase = "drop"
            else:
                self.end("done", event_id=self.adopted, adopted=True)
        elif transient(answer.status):
            self.retry(answer)
        else:
            self.end("failed", error=sub_error(answer, "look up a meeting by its tag"))

    def _created(self, answer: SubResponse) -> None:
        if answer.ok:
            body = answer.body if isinstance(answer.body, dict) else {}
            if body.get("isCancelled"):
                self.end("done", superseded=True)  # Graph matched an old meeting's transactionId
            elif not body.get("id"):
                self.end("failed", error=GraphError("Graph accepted the meeting but returned no event id."))
            else:
                self.messages = 1
                self.end("done", event_id=str(body["id"]))
        elif answer.status == 429:
            self.retry(answer)
        elif outcome_unknown(answer.status):
            self.messages = 1  # it may have been delivered: charged once, never sent blindly again
            self.phase = "look"
            self.retry(answer)
        else:
            self.end("failed", error=sub_error(answer, self.action))

    async def _dropped(self, answers: list[SubResponse]) -> None:
        waiting: list[str] = []
        last: SubResponse | None = None
        for event_id, answer in zip(list(self.duplicates), answers, strict=True):
            if answer.ok or outcome_unknown(answer.status):
                self.messages += 1
            if answer.status == 429 or outcome_unknown(answer.status):
                waiting.append(event_id)
                last = answer
        self.duplicates = waiting
        if last is None:
            self.end("done", event_id=self.adopted, adopted=True)
        else:
            self.retry(last)
            if self.result is not None:
                self.end("done", event_id=self.adopted, adopted=True)  # the duplicate is reported, not fatal


class UpdateJob(Job):
    action = "update the meeting"

    def __init__(self, index: int, policy: RetryPolicy, write: UpdateWrite) -> None:
        super().__init__(index, policy)
        self.write = write

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        write = self.write
        return [factory.update(self.request_id(), write.event_id, write.changes, write.state)]

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        answer = answers[0]
        if answer.ok:
            self.messages += 1
            self.end("done", event_id=self.write.event_id)
        elif answer.status == 404 and answer.error_code == "ErrorItemNotFound":
            self.end("gone")  # deleted by hand in the organizer's mailbox: the executor invites anew
        elif answer.status == 429:
            self.retry(answer)
        elif outcome_unknown(answer.status):
            self.messages += 1  # it may have been delivered; a repeat is a second message
            if extra_message is not None and await extra_message():
                self.retry(answer)
            else:
                self.end("unknown")  # left to the next run, which sends it again within its budget
        else:
            self.end("failed", error=sub_error(answer, self.action))


class CancelJob(Job):
    action = "cancel the meeting"

    def __init__(self, index: int, policy: RetryPolicy, write: CancelWrite) -> None:
        super().__init__(index, policy)
        self.write = write
        self.pending: list[str] | None = [write.event_id] if write.event_id else None
        self.maybe_sent: set[str] = set()

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        if self.pending is None:
            return [factory.find(self.request_id(), self.write.tag)]
        return [factory.cancel(self.request_id(), event_id, self.write.comment) for event_id in self.pending]

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        if self.pending is None:
            await self._looked(answers[0], extra_message)
            return
        waiting: list[str] = []
        last: SubResponse | None = None
        for event_id, answer in zip(list(self.pending), answers, strict=True):
            if answer.ok or outcome_unknown(answer.status):
                self.maybe_sent.add(event_id)
            if answer.ok or answer.error_code == "ErrorItemNotFound":
                continue  # cancelled now, or already gone: the outcome wanted
            if answer.status == 429 or outcome_unknown(answer.status):
                waiting.append(event_id)
                last = answer
                continue
            self.messages = len(self.maybe_sent)
            self.end("failed", error=sub_error(answer, self.action))
            return
        self.pending = waiting
        self.messages = len(self.maybe_sent)
        if last is None:
            self.end("done", event_id=self.write.event_id)
        else:
            self.retry(last)

    async def _looked(self, answer: SubResponse, extra_message: ExtraMessage | None) -> None:
        if not answer.ok:
            if transient(answer.status):
                self.retry(answer)
            else:
                self.end("failed", error=sub_error(answer, "look up a meeting by its tag"))
            return
        ids = found_ids(answer)
        if not ids:
            self.end("done")  # the create never landed: nothing to cancel
            return
        chosen = ids[:1]
        for extra in ids[1:]:
            if extra_message is not None and await extra_message():
                chosen.append(extra)
        self.pending = chosen
        if len(chosen) < len(ids):
            log.warning("some copies of a meeting are left for a later run to cancel (sending budget)")

"""How each write proceeds through rounds of batches until it is done.

Each write is a small job that sends one step per round (one or more sub-requests) and reads
its own answers:

- create: [look up by tag ->] POST with transactionId. A POST Graph did not run (429, 424) is
  sent again; a POST whose outcome is unknown is never sent again blindly: the next step
  looks the event up by its tag and creates only if it is not there. Two events under one
  tag: the first is adopted, the others are cancelled.
- update: PATCH. A repeat after an unknown outcome may send a second message, so it first
  asks the sending budget (`extra_message`). An event that no longer exists (deleted by
  hand in the organizer's mailbox) ends "gone".
- cancel: [look up by tag ->] POST cancel. After an unknown outcome (or when the caller says
  an earlier run's outcome is unknown, `check_first`) the event is read by id before any
  repeat: not found, or `isCancelled`, is done. Whether a tenant answers a repeated cancel
  with 404, 400 or 202 and a second message is undocumented, so no cancel is repeated blindly.

A look-up by tag adopts or cancels only events whose own tag value, read back in the same
answer (`$expand` of the tag property), equals the tag exactly. Graph's filter compares
extended-property values case-insensitively, and a filter Graph did not apply returns
unrelated meetings; both kinds of foreign events are ignored. A look-up follows
`@odata.nextLink` to the last page before it concludes that an event is not there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, Protocol

from shared.calendar.batch import SubRequest, SubResponse
from shared.calendar.errors import graph_error
from shared.calendar.gateway import (
    TAG_PROPERTY_ID,
    CancelWrite,
    CreateWrite,
    ExtraMessage,
    NewEvent,
    UpdateWrite,
    Write,
    WriteResult,
)
from shared.calendar.retry import RetryPolicy, not_attempted, outcome_unknown, transient
from shared.errors import GraphError

DUPLICATE_COMMENT = "This was a second copy of the same invitation; your other invitation to this session stands."
log = logging.getLogger("learncal.graph")


class RequestFactory(Protocol):
    """Builds the batch items of each step (from the SDK's request builders)."""

    def create(self, request_id: str, event: NewEvent) -> SubRequest: ...

    def update(self, request_id: str, event_id: str, changes: dict[str, Any], state: str | None) -> SubRequest: ...

    def cancel(self, request_id: str, event_id: str, comment: str) -> SubRequest: ...

    def read(self, request_id: str, event_id: str) -> SubRequest: ...

    def find(self, request_id: str, tag: str, next_link: str | None = None) -> SubRequest: ...


def start_job(index: int, write: Write, policy: RetryPolicy) -> Job:
    if isinstance(write, CreateWrite):
        return CreateJob(index, policy, write)
    if isinstance(write, UpdateWrite):
        return UpdateJob(index, policy, write)
    return CancelJob(index, policy, write)


def sub_error(response: SubResponse, action: str) -> GraphError:
    """A sub-response's failure in the product's words (the same mapping as top-level errors)."""
    if response.status is None:
        tried = f" {response.error_message}" if response.error_message else ""
        return GraphError(f"The connection to Graph failed while trying to {action}; it is retried.{tried}")
    shaped = SimpleNamespace(response_status_code=response.status, response_headers=response.headers,
                             error=SimpleNamespace(code=response.error_code, message=response.error_message))
    return graph_error(shaped, action=action)


def _same_property(found: Any, wanted: str) -> bool:
    return isinstance(found, str) and " ".join(found.split()).lower() == " ".join(wanted.split()).lower()


def tag_value(item: dict[str, Any]) -> str | None:
    """The event's own tag value, from its expanded extended properties (None: not expanded or untagged)."""
    for prop in item.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and _same_property(prop.get("id"), TAG_PROPERTY_ID):
            value = prop.get("value")
            return value if isinstance(value, str) else None
    return None


def tagged_ids(body: Any, tag: str) -> list[str]:
    """Ids of live events in a look-up's answer whose own tag is exactly `tag` (case-sensitive)."""
    items = body.get("value") if isinstance(body, dict) else None
    ids: list[str] = []
    for item in items or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        if tag_value(item) != tag:
            log.debug("a look-up by tag answered with a meeting carrying another tag; it is ignored")
            continue
        if not item.get("isCancelled"):  # a cancelled meeting is not a live invitation
            ids.append(str(item["id"]))
    return ids


class TagLookup:
    """One look-up by tag, page by page: the ids of live events whose tag is exactly this one."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.ids: list[str] = []
        self._next: str | None = None

    def request(self, factory: RequestFactory, request_id: str) -> SubRequest:
        return factory.find(request_id, self.tag, self._next)

    def read(self, answer: SubResponse) -> bool:
        """Take one page's matches; True when it was the last page."""
        body = answer.body if isinstance(answer.body, dict) else {}
        self.ids.extend(i for i in tagged_ids(body, self.tag) if i not in self.ids)
        link = body.get("@odata.nextLink")
        self._next = str(link) if link else None
        return self._next is None

    def restart(self) -> None:
        self.ids = []
        self._next = None


class Cancels:
    """Cancels of known events. No cancel is sent twice blindly: after an unknown outcome, or a
    refusal, the event is read by id, and a meeting gone or cancelled needs nothing more."""

    def __init__(self, event_ids: Sequence[str], comment: str, *, check_first: bool = False) -> None:
        self.comment = comment
        self.steps: dict[str, str] = {e: "check" if check_first else "cancel" for e in event_ids}
        self.refused: dict[str, SubResponse] = {}
        self.maybe_sent: set[str] = set()

    def requests(self, factory: RequestFactory, next_id: Callable[[], str]) -> list[SubRequest]:
        return [factory.read(next_id(), event_id) if step == "check" else
                factory.cancel(next_id(), event_id, self.comment) for event_id, step in self.steps.items()]

    def read(self, answers: Sequence[SubResponse]) -> tuple[str, SubResponse | None]:
        """"done"; "again" (the next step at once); "wait" (after that answer's wait); "failed" (that answer)."""
        waited: SubResponse | None = None
        for (event_id, step), answer in zip(list(self.steps.items()), answers, strict=True):
            verdict = self._checked(event_id, answer) if step == "check" else self._cancelled(event_id, answer)
            if verdict == "failed":
                return "failed", self.refused.get(event_id, answer)
            if verdict == "done":
                del self.steps[event_id]
            elif verdict == "wait":
                waited = answer
        if not self.steps:
            return "done", None
        return ("wait", waited) if waited is not None else ("again", None)

    def _checked(self, event_id: str, answer: SubResponse) -> str:
        if answer.ok:
            if isinstance(answer.body, dict) and answer.body.get("isCancelled"):
                return "done"
            if event_id in self.refused:
                return "failed"  # still live, and Graph refused to cancel it
            self.steps[event_id] = "cancel"
            return "next"
        if answer.error_code == "ErrorItemNotFound":
            return "done"
        return "wait" if transient(answer.status) else "failed"

    def _cancelled(self, event_id: str, answer: SubResponse) -> str:
        if answer.ok or outcome_unknown(answer.status):
            self.maybe_sent.add(event_id)
        if answer.ok or answer.error_code == "ErrorItemNotFound":
            return "done"  # cancelled now, or already gone: the outcome wanted
        if not_attempted(answer.status):
            return "wait"
        if outcome_unknown(answer.status) or event_id not in self.refused:
            if not outcome_unknown(answer.status):
                self.refused[event_id] = answer  # perhaps cancelled already: a tenant may refuse a repeat
            self.steps[event_id] = "check"
            return "wait" if outcome_unknown(answer.status) else "next"
        return "failed"


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


    def looked_up(self, lookup: TagLookup, answer: SubResponse) -> list[str] | None:
        """The ids a tag look-up found once all its pages are read; None while it reads on, waits
        to retry, or has failed (the job then ends or waits by itself)."""
        if not answer.ok:
            if transient(answer.status):
                self.retry(answer)
            else:
                self.end("failed", error=sub_error(answer, "look up a meeting by its tag"))
            return None
        if not lookup.read(answer):
            return None  # the next page, in the next round
        return lookup.ids

class CreateJob(Job):
    action = "invite the attendee"

    def __init__(self, index: int, policy: RetryPolicy, write: CreateWrite) -> None:
        super().__init__(index, policy)
        self.write = write
        self.phase = "look" if write.look_first else "create"
        self.lookup = TagLookup(write.event.tag)
        self.adopted: str | None = None
        self.drops: Cancels | None = None
        self.created_messages = 0

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        if self.phase == "look":
            return [self.lookup.request(factory, self.request_id())]
        if self.phase == "create":
            return [factory.create(self.request_id(), self.write.event)]
        assert self.drops is not None
        return self.drops.requests(factory, self.request_id)

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        if self.phase == "drop":
            self._dropped(answers)
        elif self.phase == "look":
            await self._looked(answers[0], extra_message)
        else:
            self._created(answers[0])

    async def _looked(self, answer: SubResponse, extra_message: ExtraMessage | None) -> None:
        ids = self.looked_up(self.lookup, answer)
        if ids is None:
            return
        if not ids:
            self.phase = "create"  # not there: the earlier attempt never landed; create now
            return
        self.adopted = ids[0]
        duplicates: list[str] = []
        for duplicate in ids[1:]:
            if extra_message is not None and await extra_message():
                duplicates.append(duplicate)
            else:
                log.warning("a duplicate meeting was left for a later run (sending budget)")
        if duplicates:
            self.drops = Cancels(duplicates, DUPLICATE_COMMENT)
            self.phase = "drop"
        else:
            self.end("done", event_id=self.adopted, adopted=True)

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
        elif not_attempted(answer.status):
            self.retry(answer)
        elif outcome_unknown(answer.status):
            self.messages = self.created_messages = 1  # it may have been delivered: charged once, never sent blindly
            self.phase = "look"
            self.lookup.restart()
            self.retry(answer)
        else:
            self.end("failed", error=sub_error(answer, self.action))

    def _dropped(self, answers: list[SubResponse]) -> None:
        assert self.drops is not None
        verdict, last = self.drops.read(answers)
        self.messages = self.created_messages + len(self.drops.maybe_sent)
        if verdict == "wait" and last is not None:
            self.retry(last)
            if self.result is None:
                return
        elif verdict == "again":
            return
        if verdict == "failed":
            log.warning("a duplicate meeting could not be cancelled; a later run tries again")
        self.end("done", event_id=self.adopted, adopted=True)  # a duplicate left is reported, not fatal


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
        elif answer.error_code == "ErrorItemNotFound":
            self.end("gone", event_id=self.write.event_id)  # deleted in the mailbox: the person has no meeting
        elif not_attempted(answer.status):
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
        self.lookup = TagLookup(write.tag)
        self.cancels: Cancels | None = None
        if write.event_id:
            self.cancels = Cancels([write.event_id], write.comment, check_first=write.check_first)

    def requests(self, factory: RequestFactory) -> list[SubRequest]:
        if self.cancels is None:
            return [self.lookup.request(factory, self.request_id())]
        return self.cancels.requests(factory, self.request_id)

    async def step(self, answers: list[SubResponse], extra_message: ExtraMessage | None) -> None:
        if self.cancels is None:
            await self._looked(answers[0], extra_message)
            return
        verdict, last = self.cancels.read(answers)
        self.messages = len(self.cancels.maybe_sent)
        if verdict == "done":
            self.end("done", event_id=self.write.event_id)
        elif verdict == "failed" and last is not None:
            self.end("failed", error=sub_error(last, self.action))
        elif verdict == "wait" and last is not None:
            self.retry(last)

    async def _looked(self, answer: SubResponse, extra_message: ExtraMessage | None) -> None:
        ids = self.looked_up(self.lookup, answer)
        if ids is None:
            return
        if not ids:
            self.end("done")  # the create never landed: nothing to cancel
            return
        chosen = ids[:1]
        for extra in ids[1:]:
            if extra_message is not None and await extra_message():
                chosen.append(extra)
        self.cancels = Cancels(chosen, self.write.comment)
        if len(chosen) < len(ids):
            log.warning("some copies of a meeting are left for a later run to cancel (sending budget)")

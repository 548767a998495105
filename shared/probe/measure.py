"""The measurements, one function each. Every event a step creates is entered in the ledger
before anything else happens to it, so the clean-up finds it even when the step fails.

What Microsoft documents, and what each step asks because the documentation leaves it open:
- four concurrent requests per app and mailbox, sub-requests of a batch included
  (learn.microsoft.com/graph/throttling-limits, "Outlook service limits"; /graph/json-batching):
  are two batches in flight throttled, and with which code and Retry-After?
- tag look-ups by extended property (/graph/api/singlevaluelegacyextendedproperty-get): is a
  `%24filter` inside a batch applied, and is the value compared regardless of case?
- cancel (/graph/api/event-cancel): what does a second cancel of the same meeting answer?
- `transactionId` (/graph/api/resources/event): what does a repeat answer once the first
  meeting was cancelled?
- the scope refusal of an application access policy or RBAC for Applications
  (/graph/auth-limit-mailbox-access, /exchange/permissions-exo/application-rbac): its wording today.
- subject length (/graph/api/resources/event): is an over-long subject refused or cut?
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.calendar.batch import SubResponse
from shared.probe.profile import Observation, inconclusive
from shared.probe.requests import SUBJECT, Requests, ids_in
from shared.probe.wire import Wire

CONCURRENT_BATCHES = 2
REQUESTS_PER_BATCH = 8
LONG_SUBJECT = 300


@dataclass
class Ledger:
    """What the probe may have created: event ids seen, and every tag written (for the final look-up)."""

    run: str
    event_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def tag(self, name: str) -> str:
        tag = f"learncal-probe-{self.run}-{name}"
        self.tags.append(tag)
        return tag

    def created(self, response: SubResponse) -> str | None:
        event_id = response.body.get("id") if response.ok and isinstance(response.body, dict) else None
        if event_id and str(event_id) not in self.event_ids:
            self.event_ids.append(str(event_id))
        return str(event_id) if event_id else None


def answer(response: SubResponse) -> dict[str, Any]:
    """The parts of an answer worth keeping in the profile (never a token or a body with content)."""
    data: dict[str, Any] = {"status": response.status}
    if response.error_code:
        data["code"] = response.error_code
    if response.error_message:
        data["message"] = response.error_message
    return data


async def out_of_scope(wire: Wire, attendee: str) -> Observation:
    """A read of the attendee's calendar: refused with the tenant's own words, or not restricted."""
    response = await wire.calendar(attendee)
    if response.ok:
        return Observation("not restricted", "not restricted: the app can read the attendee's calendar "
                           "(its Exchange scope does not stop at the test mailbox)", {"status": response.status})
    if response.status == 403:
        return Observation("refused", f"403 {response.error_code}: {response.error_message}", answer(response))
    if response.error_code in ("ErrorInvalidUser", "Request_ResourceNotFound", "MailboxNotEnabledForRESTAPI"):
        return inconclusive(f"{response.status} {response.error_code}: the attendee has no mailbox in this tenant, "
                            "so the scope could not be tried; name a tenant user as attendee", **answer(response))
    return inconclusive(f"answered {response.status} {response.error_code or ''}".rstrip(), **answer(response))


async def tag_filters(wire: Wire, requests: Requests, ledger: Ledger) -> dict[str, Observation]:
    """Two events with different tags; one look-up literal, one with `%24filter`, one in the other case."""
    alpha, beta = ledger.tag("Alpha"), ledger.tag("Beta")
    created = await wire.settled([requests.create(alpha), requests.create(beta)])
    alpha_id, beta_id = (ledger.created(r) for r in created)
    if not alpha_id or not beta_id:
        failed = next((r for r in created if not r.ok), created[0])  # ok without an id counts as failed too
        reason = f"the probe events could not be created ({failed.status} {failed.error_code or ''})".rstrip()
        return {"encodedBatchQueryOptions": inconclusive(reason, **answer(failed)),
                "extendedPropertyFilterCase": inconclusive(reason, **answer(failed))}
    literal, encoded, other_case = await wire.settled([
        requests.find(alpha), requests.find(alpha, encoded=True), requests.find(alpha.swapcase()),
    ])
    found = set(ids_in(literal.body)) if literal.ok else set()
    if found != {alpha_id}:
        reason = f"the literal $filter itself did not find exactly the probe event ({literal.status})"
        return {"encodedBatchQueryOptions": inconclusive(reason, literal=answer(literal)),
                "extendedPropertyFilterCase": inconclusive(reason, literal=answer(literal))}
    return {"encodedBatchQueryOptions": _encoded(encoded, alpha_id),
            "extendedPropertyFilterCase": _case(other_case, alpha_id)}


def _encoded(response: SubResponse, alpha_id: str) -> Observation:
    if not response.ok:
        return inconclusive(f"the encoded look-up answered {response.status}", **answer(response))
    returned = ids_in(response.body)
    foreign = [i for i in returned if i != alpha_id]
    details = {"returned": len(returned), "otherEvents": len(foreign)}
    if foreign:
        return Observation("ignored", f"ignored: %24filter in a batch returned {len(returned)} events, "
                           f"{len(foreign)} of them without the tag asked for", details)
    if returned == [alpha_id]:
        return Observation("decoded", "applied: %24filter in a batch returned only the tagged event", details)
    return inconclusive("the encoded look-up returned nothing at all", **details)


def _case(response: SubResponse, alpha_id: str) -> Observation:
    if not response.ok:
        return inconclusive(f"the look-up in the other case answered {response.status}", **answer(response))
    returned = ids_in(response.body)
    if returned == [alpha_id]:
        return Observation("insensitive", "case-insensitive: the tag in the other case found the event",
                           {"returned": 1})
    if not returned:
        return Observation("sensitive", "case-sensitive: the tag in the other case found nothing", {"returned": 0})
    return inconclusive(f"the look-up in the other case returned {len(returned)} events", returned=len(returned))


async def cancel_twice(wire: Wire, requests: Requests, ledger: Ledger, attendee: str) -> dict[str, Observation]:
    """A meeting with the test attendee: cancel, cancel again, then POST its transactionId again."""
    transaction_id = f"learncal-probe-{ledger.run}-repeat"
    meeting = requests.create(ledger.tag("Meeting"), attendee=attendee, transaction_id=transaction_id)
    created = await wire.one(meeting)
    event_id = ledger.created(created)
    if not event_id:
        reason = f"the test meeting could not be created ({created.status} {created.error_code or ''})".rstrip()
        return {"repeatCancel": inconclusive(reason, **answer(created)),
                "transactionIdAfterCancel": inconclusive(reason, **answer(created))}
    first = await wire.one(requests.cancel(event_id))
    if not first.ok:
        reason = f"the first cancel answered {first.status} {first.error_code or ''}".rstrip()
        return {"repeatCancel": inconclusive(reason, first=answer(first)),
                "transactionIdAfterCancel": inconclusive(reason, first=answer(first))}
    second = await wire.one(requests.cancel(event_id))
    repeat = await wire.one(meeting)  # the same body, the same transactionId
    ledger.created(repeat)
    return {"repeatCancel": _second_cancel(first, second), "transactionIdAfterCancel": _repeat(repeat, event_id)}


def _second_cancel(first: SubResponse, second: SubResponse) -> Observation:
    details = {"first": answer(first), "second": answer(second)}
    said = f"{second.status} {second.error_code or ''}".rstrip()
    if second.ok:
        return Observation("accepted", f"accepted again ({said}): the attendee may get a second cancellation",
                           details)
    if second.status == 404:
        return Observation("notFound", f"refused as gone ({said})", details)
    if second.status == 400:
        return Observation("badRequest", f"refused as a bad request ({said})", details)
    return inconclusive(f"answered {said}", **details)


def _repeat(response: SubResponse, first_id: str) -> Observation:
    body = response.body if isinstance(response.body, dict) else {}
    details = {**answer(response), "sameEvent": body.get("id") == first_id, "isCancelled": body.get("isCancelled")}
    if response.ok and (body.get("id") == first_id or body.get("isCancelled")):
        return Observation("returnsCancelled", f"{response.status}: answered with the cancelled meeting; "
                           "nothing new was created", details)
    if response.ok and body.get("id"):
        return Observation("createsNew", f"{response.status}: created a new meeting (and invited the attendee)",
                           details)
    return inconclusive(f"answered {response.status} {response.error_code or ''}".rstrip(), **details)


async def long_subject(wire: Wire, requests: Requests, ledger: Ledger) -> Observation:
    subject = (SUBJECT + " " + "x" * LONG_SUBJECT)[:LONG_SUBJECT]
    response = await wire.one(requests.create(ledger.tag("Subject"), subject=subject))
    ledger.created(response)
    if response.status == 400:
        return Observation("refuse", f"refused: 400 {response.error_code}: {response.error_message}",
                           {"length": LONG_SUBJECT, **answer(response)})
    body = response.body if isinstance(response.body, dict) else {}
    stored = body.get("subject")
    if response.ok and isinstance(stored, str):
        details = {"length": LONG_SUBJECT, "status": response.status, "storedLength": len(stored)}
        if len(stored) < LONG_SUBJECT:
            return Observation("truncate", f"cut to {len(stored)} characters", details)
        return Observation("accepted", f"kept all {LONG_SUBJECT} characters", details)
    return inconclusive(f"answered {response.status} {response.error_code or ''}".rstrip(),
                        length=LONG_SUBJECT, **answer(response))


async def batch_concurrency(wire: Wire, requests: Requests) -> Observation:
    """Two batches of small reads of the mailbox, sent at the same moment; how many came back 429."""
    batches = [[requests.page() for _ in range(REQUESTS_PER_BATCH)] for _ in range(CONCURRENT_BATCHES)]
    began = time.monotonic()
    answers = [r for rs in await asyncio.gather(*(wire.batch(b) for b in batches)) for r in rs]
    seconds = round(time.monotonic() - began, 3)
    statuses = Counter(str(r.status) for r in answers)
    throttled = [r for r in answers if r.status == 429]
    details: dict[str, Any] = {
        "batches": CONCURRENT_BATCHES, "requestsPerBatch": REQUESTS_PER_BATCH, "throttled": len(throttled),
        "statuses": dict(sorted(statuses.items())), "seconds": seconds,
    }
    if throttled:
        details["codes"] = sorted({r.error_code or "" for r in throttled})
        details["messages"] = sorted({r.error_message or "" for r in throttled})
        details["withRetryAfter"] = sum(1 for r in throttled if r.retry_after is not None)
        total = len(answers)
        return Observation("throttled", f"{len(throttled)} of {total} sub-requests throttled (429 "
                           f"{', '.join(details['codes'])})", details)
    if all(r.ok for r in answers):
        return Observation("notThrottled", f"none of {len(answers)} sub-requests throttled", details)
    return inconclusive(f"answers {details['statuses']}", **details)

"""GET /api/responses and GET /api/responses/counts: attendees' answers, for the learning system and the console.

Read only (Reader role). A filter the service cannot use is refused with 400 naming it, so a
mistyped name never widens a query into "everything".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import azure.functions as func

from shared.admin.auth import READER_ROLE, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, ok
from shared.admin.problem import Problem
from shared.store.responses import RESPONSES, BadQuery, ResponseStore, normal_response

FILTERS = ("offeringId", "activityId", "email", "response", "changedSince", "limit", "after")
COUNT_FILTERS = ("offeringId", "activityId")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_IGNORED = frozenset({"code"})  # a function key, when a caller sends one out of habit


def bad_filter(name: str, message: str) -> Problem:
    return Problem(400, "bad-filter", f"The filter {name} {message}", title="Bad filter",
                   errors=[{"field": name, "message": message}])


def _params(req: func.HttpRequest, known: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    given = {name: found[0] for name, found in parse_qs(urlparse(req.url).query).items()}
    given.update(req.params)  # the host fills `params`; a directly built request has only the URL
    for name, value in given.items():
        if name in _IGNORED:
            continue
        if name not in known:
            raise bad_filter(name, f"is not known; use {', '.join(known)}.")
        values[name] = value.strip()
    return values


@dataclass(frozen=True)
class ResponseQuery:
    """The filters of GET /api/responses (and `learncal responses`), checked."""

    offering_id: str | None = None
    activity_id: str | None = None
    email: str | None = None
    response: str | None = None
    changed_since: datetime | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None

    def store_filters(self) -> dict[str, Any]:
        return {"offering_id": self.offering_id, "activity_id": self.activity_id, "email": self.email,
                "response": self.response, "changed_since": self.changed_since}


def parse_query(values: dict[str, str]) -> ResponseQuery:
    """The filters from query values; Problem 400 naming the first one that cannot be used."""
    def text(name: str, longest: int) -> str | None:
        value = values.get(name)
        if value is None or value == "":
            return None
        if len(value) > longest:
            raise bad_filter(name, f"must be at most {longest} characters.")
        return value

    response = text("response", 40)
    if response is not None:
        try:
            response = normal_response(response)
        except ValueError:
            raise bad_filter("response", f"must be one of {', '.join(RESPONSES)}.") from None
    email = text("email", 320)
    if email is not None and "@" not in email:
        raise bad_filter("email", "must be an e-mail address such as ada@contoso.com.")
    since = text("changedSince", 64)
    changed_since = None
    if since is not None:
        try:
            changed_since = datetime.fromisoformat(since.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise bad_filter("changedSince", "must be an ISO 8601 date or time such as 2026-01-31 or "
                             "2026-01-31T08:00:00Z.") from None
        changed_since = changed_since if changed_since.tzinfo else changed_since.replace(tzinfo=UTC)
    limit_text = text("limit", 7)
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise bad_filter("limit", f"must be a whole number from 1 to {MAX_LIMIT}.")
        limit = int(limit_text)
    return ResponseQuery(offering_id=text("offeringId", 256), activity_id=text("activityId", 256),
                         email=email.lower() if email else None, response=response, changed_since=changed_since,
                         limit=limit, after=text("after", 2048))


def _list(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    """The first page reads each organizer's changed answers first (shared/responses/runner.py
    `read_now`), so it is current even where change notifications cannot reach; the next pages
    continue what was read."""
    query = parse_query(_params(req, FILTERS))
    current = services()
    if query.after is None:
        from shared.responses.runner import read_now

        read_now(current.settings, tables=current.tables)
    try:
        page = ResponseStore(current.tables).query(**query.store_filters(), limit=query.limit, after=query.after)
    except BadQuery as error:
        raise bad_filter(error.field, str(error).removeprefix(f"{error.field} ")) from None
    return ok({"items": [record.item() for record in page.items], "next": page.next})


def responses(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _list}, role=READER_ROLE)


def _counts(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    values = _params(req, COUNT_FILTERS)
    offering_id = values.get("offeringId") or ""
    if not offering_id or len(offering_id) > 256:
        raise bad_filter("offeringId", "is required: the offering whose response counts to show.")
    activity_id = values.get("activityId") or None
    points = ResponseStore(services().tables).counts_over_time(offering_id, activity_id)
    return ok({"offeringId": offering_id, "activityId": activity_id, "points": points})


def response_counts(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _counts}, role=READER_ROLE)

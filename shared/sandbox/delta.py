"""`GET /users/{id}/calendarView/delta`: change tracking over a calendar view, as Outlook serves it.

Sources: learn.microsoft.com/graph/api/event-delta (startDateTime and endDateTime on the initial
request only; `$skiptoken` in `@odata.nextLink`, `$deltatoken` in `@odata.deltaLink`; `Prefer:
odata.maxpagesize`; no `$select`, `$expand`, `$filter`, `$orderby`, `$search`; removed events and
events outside the window that changed come back under `@removed` with reason `deleted`),
learn.microsoft.com/graph/delta-query-events (tokens encode the window and every option; a
round ends with a deltaLink) and learn.microsoft.com/graph/delta-query-overview (Outlook keeps
delta tokens in a cache of limited size; an expired token is a 40X error `syncStateNotFound`).

A round is pinned at its first request: it covers the changes up to the store's change number
then, so paging is stable while the calendar keeps changing; what changes meanwhile comes in
the next round. Each item's latest change is all the store keeps, so a round costs what changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from shared.sandbox import events as ev
from shared.sandbox.graph_http import GraphError, GraphRequest, GraphResponse
from shared.sandbox.realism import Realism
from shared.sandbox.store import EventRow, Store

MAX_PAGE_SIZE = 1000
UNSUPPORTED = ("select", "expand", "filter", "orderby", "search", "top", "skip", "count")
_SCAN = 200  # change rows read per store query while filling a page


@dataclass(frozen=True)
class Round:
    """Where a delta round stands: the mailbox and window, the changes it covers, how far it has read."""

    mailbox: str
    start: str  # UTC, "YYYY-MM-DDTHH:MM:SSZ"
    end: str
    since: int  # changes after this number ...
    upto: int  # ... up to this one
    after: int  # the last change number already returned in this round
    initial: bool  # a full synchronization: what is gone is not reported


def _sync_state_not_found() -> GraphError:
    return GraphError(410, "syncStateNotFound", "The sync state generation is not found or has expired. Restart "
                      "the synchronization with a new initial delta request.")


def _instant(text: str | None, name: str) -> str:
    if not text:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the query "
                         "string parameters StartDateTime and EndDateTime.")
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", f"The value '{text}' of parameter '{name}' is not a valid "
                         "ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # no offset: UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_window(row: EventRow, start: str, end: str) -> bool:
    if row.start_utc == row.end_utc:
        return start <= row.start_utc < end
    return row.start_utc < end and row.end_utc > start


def _query_value(request: GraphRequest, name: str) -> str | None:
    """A query parameter by name, any case, with or without `$` (the docs spell it startdatetime too)."""
    for key, value in request.query.items():
        if key.lstrip("$").lower() == name.lower():
            return value
    return None


class CalendarDelta:
    def __init__(self, store: Store, realism: Any) -> None:
        self._store = store
        self._realism = realism  # a callable returning the current Realism

    def serve(self, request: GraphRequest, mailbox: str, zone: str | None) -> GraphResponse:
        realism: Realism = self._realism()
        options = [k for k in request.query if k.lstrip("$").lower() in UNSUPPORTED]
        if options and realism.delta_query_options == "refuse":
            names = ", ".join("$" + k.lstrip("$") for k in options)
            raise GraphError(400, "ErrorInvalidUrlQuery", "The following parameters are not supported with change "
                             f"tracking over the 'CalendarView' resource: '{names}'.")
        state = self._round(request, mailbox)
        size = self._page_size(request, realism)
        found = list(self._items(state, size + 1))
        page, more = found[:size], len(found) > size
        last = page[-1][0] if page else state.after
        body: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/$metadata#Collection(event)",
            "value": [self._render(row, event_id, state, zone) for _seq, event_id, row in page],
        }
        link = f"{request.base_url}{quote(request.path)}"
        if more:
            token = self._issue(Round(**{**asdict(state), "after": last}), "skip", realism)
            body["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            upto = state.upto
            token = self._issue(Round(state.mailbox, state.start, state.end, upto, upto, upto, False), "delta",
                                realism)
            body["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if "odata.maxpagesize" in request.prefer() else {}
        return GraphResponse(200, body, headers)

    def _round(self, request: GraphRequest, mailbox: str) -> Round:
        skip, delta = _query_value(request, "skiptoken"), _query_value(request, "deltatoken")
        token = skip or delta
        if token is None:
            start = _instant(_query_value(request, "startDateTime"), "startDateTime")
            end = _instant(_query_value(request, "endDateTime"), "endDateTime")
            if end <= start:
                raise GraphError(400, "ErrorInvalidParameter", "The endDateTime must be later than the startDateTime.")
            return Round(mailbox, start, end, 0, self._store.change_seq(), 0, True)
        data = self._store.delta_token(token)
        if data is None or data.get("mailbox") != mailbox or ("skip" if skip else "delta") != data.get("kind"):
            raise _sync_state_not_found()
        state = Round(**{k: v for k, v in data.items() if k != "kind"})
        if delta:  # a new round: the changes since the last one ended, up to now
            return Round(mailbox, state.start, state.end, state.upto, self._store.change_seq(), state.upto, False)
        return state

    def _issue(self, state: Round, kind: str, realism: Realism) -> str:
        """A new opaque token for `state`; the store keeps the latest `deltaTokenCache` of them."""
        token = secrets.token_urlsafe(24)
        self._store.put_delta_token(token, {**asdict(state), "kind": kind}, realism.delta_token_cache)
        return token

    @staticmethod
    def _page_size(request: GraphRequest, realism: Realism) -> int:
        wanted = request.prefer().get("odata.maxpagesize")
        if wanted is None:
            return realism.delta_page_size
        if not wanted.isdigit() or int(wanted) < 1:
            raise GraphError(400, "ErrorInvalidParameter", f"The odata.maxpagesize preference '{wanted}' is not a "
                             "positive whole number.")
        return min(int(wanted), MAX_PAGE_SIZE)

    def _items(self, state: Round, limit: int) -> Iterator[tuple[int, str, EventRow | None]]:
        """(change number, id, row or None when it is reported removed) of the round's items after `after`."""
        after, yielded = state.after, 0
        while yielded < limit:
            changes = self._store.changes(state.mailbox, after=after, upto=state.upto, limit=_SCAN)
            if not changes:
                return
            rows = self._store.events_by_id([event_id for _seq, event_id, removed in changes if not removed])
            for seq, event_id, removed in changes:
                after = seq
                row = rows.get(event_id)
                live = row is not None and not removed and not row.cancelled
                inside = live and row is not None and _in_window(row, state.start, state.end)
                if state.initial and not inside:
                    continue  # a full synchronization lists what is there
                yield seq, event_id, row if inside else None
                yielded += 1
                if yielded >= limit:
                    return

    @staticmethod
    def _render(row: EventRow | None, event_id: str, state: Round, zone: str | None) -> dict[str, Any]:
        if row is None:
            # Deleted, cancelled, or changed outside the window: all "deleted" (event-delta, Response).
            return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
        return {"@odata.type": "#microsoft.graph.event", **ev.render(row, zone_name=zone)}

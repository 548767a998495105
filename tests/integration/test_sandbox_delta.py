"""Delta queries of an organizer's calendar view: `GET /users/{id}/calendarView/delta`.

Sources: learn.microsoft.com/graph/api/event-delta (startDateTime/endDateTime on the initial
request; `@odata.nextLink` with `$skiptoken`, `@odata.deltaLink` with `$deltatoken`; `Prefer:
odata.maxpagesize`; no `$select`/`$expand`/`$filter`/`$orderby`/`$search`; removed events, and
events outside the window that changed, under `@removed` with reason `deleted`),
learn.microsoft.com/graph/delta-query-events (the example rounds) and
learn.microsoft.com/graph/delta-query-overview ("Token duration": an expired token is a 40X
error `syncStateNotFound`; Outlook keeps tokens in a cache of limited size).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest_sandbox import Harness
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder

ADA = "ada@learners.example"
NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
WINDOW = ((NOW - timedelta(days=1)).isoformat() + "Z", (NOW + timedelta(days=30)).isoformat() + "Z")


def create(sandbox: Harness, token: str, subject: str, days: int = 3) -> dict[str, Any]:
    start = NOW + timedelta(days=days)
    body = {"subject": subject, "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": ADA}}]}
    answer = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=token, json=body)
    assert answer.status_code == 201
    return dict(answer.json())


def delta(sandbox: Harness, token: str, url: str | None = None, page: int | None = None,
          **query: str) -> httpx.Response:
    headers = {"Prefer": f"odata.maxpagesize={page}"} if page else {}
    if url is None:
        params = {"startDateTime": WINDOW[0], "endDateTime": WINDOW[1], **query}
        return sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/calendarView/delta", token=token,
                           params=params, headers=headers)
    assert url.startswith(sandbox.info["graphUrl"])
    return sandbox.raw("GET", url[len(sandbox.running.base_url):], token=token, headers=headers)


def full_round(sandbox: Harness, token: str, url: str | None = None,
               page: int | None = None) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of one round, the deltaLink that ends it, and the number of pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        answer = delta(sandbox, token, url, page)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["value"]
        pages += 1
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


def test_the_initial_round_pages_through_the_window_with_the_sdk(sandbox: Harness) -> None:
    token = sandbox.token()
    inside = {create(sandbox, token, f"Session {n}", days=n + 1)["id"] for n in range(5)}
    create(sandbox, token, "Far away", days=60)  # outside the window
    sandbox.admin.reset_stats()

    async def work(graph: GraphServiceClient) -> tuple[list[str], list[str], str]:
        builder = graph.users.by_user_id(sandbox.organizer).calendar_view.delta
        config = RequestConfiguration(query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=WINDOW[0], end_date_time=WINDOW[1]))
        config.headers.add("Prefer", "odata.maxpagesize=2")
        answer = await builder.get(request_configuration=config)
        ids, subjects, links = [], [], []
        while answer is not None:
            ids += [e.id or "" for e in answer.value or []]
            subjects += [e.subject or "" for e in answer.value or []]
            if answer.odata_next_link is None:
                return ids, subjects, answer.odata_delta_link or ""
            links.append(answer.odata_next_link)
            answer = await builder.with_url(answer.odata_next_link).get(request_configuration=config)
        raise AssertionError("no deltaLink")

    ids, subjects, delta_link = sandbox.graph(work)

    assert set(ids) == inside and len(ids) == 5
    assert sorted(subjects) == [f"Session {n}" for n in range(5)]
    assert "$deltatoken=" in delta_link
    assert sandbox.admin.stats()["requests"] == 3  # pages of 2, 2, 1: each is a Graph request


def test_without_a_page_preference_a_page_holds_ten(sandbox: Harness) -> None:
    token = sandbox.token()
    for n in range(12):
        create(sandbox, token, f"S{n}")

    first = delta(sandbox, token).json()
    items, _link, pages = full_round(sandbox, token, first["@odata.nextLink"])

    assert len(first["value"]) == 10 and len(items) == 2 and pages == 1


def test_the_next_round_returns_only_what_changed(sandbox: Harness) -> None:
    token = sandbox.token()
    kept = create(sandbox, token, "Kept")
    renamed = create(sandbox, token, "Renamed")
    answered = create(sandbox, token, "Answered")
    cancelled = create(sandbox, token, "Cancelled")
    moved = create(sandbox, token, "Moved")
    _items, link, _pages = full_round(sandbox, token)
    org = f"/v1.0/users/{sandbox.organizer}/events"

    assert sandbox.raw("PATCH", f"{org}/{renamed['id']}", token=token, json={"subject": "New name"}).status_code == 200
    sandbox.admin.respond(ADA, "accepted", subject="Answered")
    assert sandbox.raw("POST", f"{org}/{cancelled['id']}/cancel", token=token, json={}).status_code == 202
    far = (NOW + timedelta(days=90)).isoformat()
    assert sandbox.raw("PATCH", f"{org}/{moved['id']}", token=token, json={
        "start": {"dateTime": far, "timeZone": "UTC"}, "end": {"dateTime": far, "timeZone": "UTC"}}).status_code == 200
    added = create(sandbox, token, "Added")
    sandbox.admin.reset_stats()

    items, next_link, pages = full_round(sandbox, token, link)

    by_id = {item["id"]: item for item in items}
    assert kept["id"] not in by_id
    assert set(by_id) == {renamed["id"], answered["id"], cancelled["id"], moved["id"], added["id"]}
    assert by_id[renamed["id"]]["subject"] == "New name"
    [ada] = by_id[answered["id"]]["attendees"]
    assert ada["status"]["response"] == "accepted"
    assert by_id[cancelled["id"]]["@removed"] == {"reason": "deleted"}
    assert by_id[moved["id"]]["@removed"] == {"reason": "deleted"}  # changed, and now outside the window
    assert by_id[added["id"]]["subject"] == "Added" and "@removed" not in by_id[added["id"]]
    assert sandbox.admin.stats()["requests"] == pages == 1

    again, _link, _pages = full_round(sandbox, token, next_link)
    assert again == []  # nothing changed since


def test_a_round_is_pinned_at_its_first_page(sandbox: Harness) -> None:
    token = sandbox.token()
    for n in range(3):
        create(sandbox, token, f"S{n}")
    first = delta(sandbox, token, page=2).json()
    late = create(sandbox, token, "Late")

    rest, link, _pages = full_round(sandbox, token, first["@odata.nextLink"], page=2)
    following, _link, _pages = full_round(sandbox, token, link)

    assert len(first["value"] + rest) == 3 and late["id"] not in {i["id"] for i in rest}
    assert [i["id"] for i in following] == [late["id"]]


def test_an_unknown_or_evicted_token_answers_sync_state_not_found(sandbox: Harness) -> None:
    token = sandbox.token()
    create(sandbox, token, "S")
    _items, link, _pages = full_round(sandbox, token)
    base = link.split("$deltatoken=")[0]

    unknown = delta(sandbox, token, base + "$deltatoken=made-up")
    sandbox.admin.configure(deltaTokenCache=1)
    full_round(sandbox, token)  # issues a newer token; the cache keeps only that one
    evicted = delta(sandbox, token, link)

    for answer in (unknown, evicted):
        assert answer.status_code == 410 and answer.json()["error"]["code"] == "syncStateNotFound"


def test_a_reset_sandbox_forgets_its_tokens(sandbox: Harness) -> None:
    token = sandbox.token()
    _items, link, _pages = full_round(sandbox, token)

    sandbox.admin.reset()

    assert delta(sandbox, sandbox.token(), link).status_code == 410


def test_query_options_delta_does_not_support_are_refused_or_ignored(sandbox: Harness) -> None:
    token = sandbox.token()
    create(sandbox, token, "S")

    refused = delta(sandbox, token, **{"$select": "subject"})
    sandbox.admin.configure(deltaQueryOptions="ignore")
    ignored = delta(sandbox, token, **{"$select": "subject"})

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ErrorInvalidUrlQuery"
    assert "$select" in refused.json()["error"]["message"]
    assert ignored.status_code == 200 and "start" in ignored.json()["value"][0]  # every property, as without it


def test_the_initial_request_needs_its_window(sandbox: Harness) -> None:
    token = sandbox.token()
    path = f"/v1.0/users/{sandbox.organizer}/calendarView/delta"

    missing = sandbox.raw("GET", path, token=token, params={"startDateTime": WINDOW[0]})
    bad = sandbox.raw("GET", path, token=token, params={"startDateTime": "soon", "endDateTime": WINDOW[1]})

    assert missing.status_code == 400 and "EndDateTime" in missing.json()["error"]["message"]
    assert bad.status_code == 400 and "startDateTime" in bad.json()["error"]["message"]


def test_delta_needs_a_calendar_read_permission(sandbox: Harness) -> None:
    app = sandbox.admin.put_app("0a1b2c3d-0000-4000-8000-00000000d17a", roles=["User.Read.All"])
    credential = sandbox.credential_for(app["clientId"], app["secrets"][0])

    answer = delta(sandbox, sandbox.token(credential))

    assert answer.status_code == 403 and answer.json()["error"]["code"] == "ErrorAccessDenied"

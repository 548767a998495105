"""The responses table on Azurite: latest answer kept, filters, paging, counts over time, retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.store.responses import BadQuery, ResponseRecord, ResponseStore
from shared.store.tables import Tables, key_part

NOW = datetime.now(UTC).replace(microsecond=0)


def answer(offering: str, activity: str, email: str, response: str, minutes_ago: int | None, *,
           role: str = "learner", recorded_minutes_ago: int = 0) -> ResponseRecord:
    return ResponseRecord(
        offering_id=offering, activity_id=activity, email=email, role=role, response=response,
        responded_at=None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago),
        organizer="learning@contoso.example", event_id=f"evt-{activity}-{email.lower()}",
        recorded_at=NOW - timedelta(minutes=recorded_minutes_ago),
    )


def test_the_latest_answer_is_kept_and_only_real_changes_are_returned(tables: Tables) -> None:
    store = ResponseStore(tables)

    first = store.record([answer("OFF-1", "S1", "Ada@Contoso.example", "accepted", 30)])
    again = store.record([answer("OFF-1", "S1", "ada@contoso.example", "accepted", 30)])
    later = store.record([answer("OFF-1", "S1", "ada@contoso.example", "declined", 10)])
    stale = store.record([answer("OFF-1", "S1", "ada@contoso.example", "tentativelyAccepted", 20),
                          answer("OFF-1", "S1", "ada@contoso.example", "notResponded", None)])

    assert [(r.email, r.response) for r in first] == [("ada@contoso.example", "accepted")]
    assert again == [] and stale == []
    assert [r.response for r in later] == ["declined"]
    (kept,) = store.query().items
    assert (kept.response, kept.responded_at) == ("declined", NOW - timedelta(minutes=10))


def test_an_answer_to_a_new_meeting_replaces_the_old_meetings_answer(tables: Tables) -> None:
    store = ResponseStore(tables)
    store.record([answer("OFF-1", "S1", "ada@contoso.example", "accepted", 30)])
    reinvited = replace(answer("OFF-1", "S1", "ada@contoso.example", "notResponded", None), event_id="evt-new")

    (changed,) = store.record([reinvited])

    assert (changed.response, changed.event_id) == ("none", "evt-new")
    (kept,) = store.query().items
    assert (kept.response, kept.responded_at, kept.event_id) == ("none", None, "evt-new")


def test_graph_no_answer_is_stored_as_none_and_an_unknown_answer_is_refused(tables: Tables) -> None:
    store = ResponseStore(tables)
    (stored,) = store.record([answer("OFF-1", "S1", "bo@contoso.example", "notResponded", None)])
    assert stored.response == "none" and stored.responded_at is None
    with pytest.raises(ValueError, match="maybe"):
        store.record([answer("OFF-1", "S1", "bo@contoso.example", "maybe", 5)])


def test_filters_by_offering_session_person_response_and_change_time(tables: Tables) -> None:
    store = ResponseStore(tables)
    store.record([
        answer("OFF-1", "S1", "a@contoso.example", "accepted", 50, recorded_minutes_ago=50),
        answer("OFF-1", "S1", "b@contoso.example", "declined", 40, recorded_minutes_ago=40),
        answer("OFF-1", "S10", "a@contoso.example", "declined", 30, recorded_minutes_ago=5),
        answer("OFF-1/x", "S1", "a@contoso.example", "accepted", 20, recorded_minutes_ago=3),
        answer("OFF-2", "S1", "c@contoso.example", "tentativelyAccepted", 10, recorded_minutes_ago=1),
    ])

    def keys(**filters: object) -> set[tuple[str, str, str]]:
        return {(r.offering_id, r.activity_id, r.email) for r in store.query(**filters).items}  # type: ignore[arg-type]

    assert keys(offering_id="OFF-1") == {("OFF-1", "S1", "a@contoso.example"), ("OFF-1", "S1", "b@contoso.example"),
                                          ("OFF-1", "S10", "a@contoso.example")}
    # S1 is a prefix of S10: the session's key range must not take the other session's rows
    assert keys(offering_id="OFF-1", activity_id="S1") == {("OFF-1", "S1", "a@contoso.example"),
                                                            ("OFF-1", "S1", "b@contoso.example")}
    assert keys(activity_id="S1") == {("OFF-1", "S1", "a@contoso.example"), ("OFF-1", "S1", "b@contoso.example"),
                                      ("OFF-1/x", "S1", "a@contoso.example"), ("OFF-2", "S1", "c@contoso.example")}
    assert keys(email="A@contoso.example", response="declined") == {("OFF-1", "S10", "a@contoso.example")}
    assert keys(changed_since=NOW - timedelta(minutes=4)) == {("OFF-1/x", "S1", "a@contoso.example"),
                                                              ("OFF-2", "S1", "c@contoso.example")}
    assert keys(response="notResponded") == set()


def test_pages_follow_each_other_without_gaps_or_repeats(tables: Tables) -> None:
    store = ResponseStore(tables)
    expected = {(f"OFF-{o}", f"S{s}", f"p{p}@contoso.example") for o in range(3) for s in range(2) for p in range(4)}
    store.record(answer(o, s, p, "accepted", 5) for o, s, p in expected)

    seen: list[tuple[str, str, str]] = []
    after: str | None = None
    pages = 0
    while True:
        page = store.query(limit=5, after=after)
        pages += 1
        assert len(page.items) <= 5
        seen.extend((r.offering_id, r.activity_id, r.email) for r in page.items)
        if page.next is None:
            break
        after = page.next
    assert pages == 5 and len(seen) == 24 and set(seen) == expected

    filtered = store.query(offering_id="OFF-1", limit=5)
    rest = store.query(offering_id="OFF-1", limit=5, after=filtered.next)
    assert {r.offering_id for r in filtered.items + rest.items} == {"OFF-1"}
    assert len({(r.activity_id, r.email) for r in filtered.items + rest.items}) == 8 and rest.next is None
    assert store.query(offering_id="OFF-1", limit=8).next is None


def test_a_bad_page_token_or_limit_names_the_field(tables: Tables) -> None:
    store = ResponseStore(tables)
    with pytest.raises(BadQuery) as bad:
        store.query(after="not-a-token")
    assert bad.value.field == "after"
    with pytest.raises(BadQuery) as bad:
        store.query(limit=0)
    assert bad.value.field == "limit"


def test_counts_over_time_follow_each_persons_answers(tables: Tables) -> None:
    store = ResponseStore(tables)
    store.record([answer("OFF-1", "S1", "a@contoso.example", "accepted", 60),
                  answer("OFF-1", "S1", "b@contoso.example", "tentativelyAccepted", 50),
                  answer("OFF-1", "S1", "c@contoso.example", "none", None),
                  answer("OFF-1", "S2", "d@contoso.example", "accepted", 55)])
    store.record([answer("OFF-1", "S1", "a@contoso.example", "declined", 40)])

    points = store.counts_over_time("OFF-1", "S1")

    def at(minutes: int) -> str:
        return (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    assert [(p["at"], p["accepted"], p["tentativelyAccepted"], p["declined"], p["none"]) for p in points] == [
        (at(60), 1, 0, 0, 2), (at(50), 1, 1, 0, 1), (at(40), 0, 1, 1, 1)]
    # a long history is thinned for the chart, keeping its first and its last point
    assert [p["at"] for p in store.counts_over_time("OFF-1", "S1", points=2)] == [at(60), at(40)]


def test_prune_keeps_live_invitations_and_removes_answers_kept_past_their_period(tables: Tables) -> None:
    store = ResponseStore(tables)
    invitations = tables["invitations"]

    def mapping(activity: str, email: str, state: str, end: datetime) -> None:
        row = f"{key_part(activity)}!{key_part(email)}"
        invitations.upsert_entity({"PartitionKey": key_part("OFF-1"), "RowKey": row, "State": state, "EndUtc": end})

    mapping("S-future", "a@contoso.example", "live", NOW + timedelta(days=3))
    mapping("S-ended-long-ago", "a@contoso.example", "live", NOW - timedelta(days=31))
    mapping("S-ended-lately", "a@contoso.example", "live", NOW - timedelta(days=2))
    mapping("S-cancelled", "a@contoso.example", "cancelled", NOW + timedelta(days=3))
    store.record(answer("OFF-1", activity, "a@contoso.example", "accepted", 5)
                 for activity in ("S-future", "S-ended-long-ago", "S-ended-lately", "S-cancelled"))

    assert store.prune(NOW, keep_days=30) == 1
    assert {r.activity_id for r in store.query().items} == {"S-future", "S-ended-lately", "S-cancelled"}

    # the cancelled invitation's countdown started at the first prune and does not restart
    assert store.prune(NOW + timedelta(days=29), keep_days=30) == 1  # S-ended-lately: ended 31 days before
    assert store.prune(NOW + timedelta(days=30, minutes=1), keep_days=30) == 1
    assert {r.activity_id for r in store.query().items} == {"S-future"}


def test_a_large_batch_of_one_offering_keeps_the_latest_answer_of_each_person(tables: Tables) -> None:
    store = ResponseStore(tables)
    store.record([answer("OFF-9", "S1", f"p{n}@contoso.example", "accepted", 30) for n in range(4)])

    changed = store.record(
        [answer("OFF-9", "S1", f"p{n}@contoso.example", "accepted", 30) for n in range(8)]  # 4 known, 4 new
        + [answer("OFF-9", "S1", "p0@contoso.example", "declined", 20),
           answer("OFF-9", "S1", "p0@contoso.example", "tentativelyAccepted", 25),  # older than the decline
           answer("OFF-9", "S1", "p1@contoso.example", "declined", 10)])

    assert sorted((r.email, r.response) for r in changed) == sorted(
        [(f"p{n}@contoso.example", "accepted") for n in range(4, 8)]
        + [("p0@contoso.example", "declined"), ("p1@contoso.example", "declined")])
    kept = {r.email: r.response for r in store.query(offering_id="OFF-9").items}
    assert kept == {**{f"p{n}@contoso.example": "accepted" for n in range(2, 8)},
                    "p0@contoso.example": "declined", "p1@contoso.example": "declined"}

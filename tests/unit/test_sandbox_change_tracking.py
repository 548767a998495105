"""The sandbox store's change tracking, which its delta queries and change notifications read.

learn.microsoft.com/graph/api/event-delta (a round returns each changed item; removed ones as
`@removed`) and learn.microsoft.com/graph/api/resources/changenotification (changeType created,
updated, deleted): one record per item with its latest change, reported only after a commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.sandbox.realism import Realism
from shared.sandbox.store import EventChange, EventRow, Store
from shared.sandbox.subscriptions import parse_instant

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()  # an upcoming day, relative to today


def row(event_id: str, mailbox: str = "org@contoso.example", *, cancelled: bool = False) -> EventRow:
    return EventRow(id=event_id, mailbox=mailbox, organizer="org@contoso.example", ical_uid="uid",
                    start_utc=f"{SOON}T09:00:00Z", end_utc=f"{SOON}T10:00:00Z",
                    data={"changeKey": f"key-{event_id}"}, cancelled=cancelled)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


def test_changes_are_reported_after_commit_with_their_kind(store: Store) -> None:
    seen: list[EventChange] = []
    store.on_event_changes(seen.extend)

    with store.transaction():
        store.save_event(row("a"))
        store.save_event(row("a"))
        assert seen == []  # nothing before the commit
    store.save_event(row("a", cancelled=True))
    store.delete_event("a")  # already gone from the calendar: no second "deleted"

    assert [(c.kind, c.event_id) for c in seen] == [("created", "a"), ("updated", "a"), ("deleted", "a")]
    assert seen[0].change_key == "key-a" and seen[2].mailbox == "org@contoso.example"


def test_a_rolled_back_change_is_never_reported(store: Store) -> None:
    seen: list[EventChange] = []
    store.on_event_changes(seen.extend)
    before = store.change_seq()

    with pytest.raises(RuntimeError), store.transaction():
        store.save_event(row("b"))
        raise RuntimeError("abandoned")

    assert seen == [] and store.change_seq() == before and store.changes("org@contoso.example", after=0,
                                                                            upto=10**9, limit=10) == []


def test_each_item_keeps_only_its_latest_change_per_mailbox(store: Store) -> None:
    store.save_event(row("a"))
    store.save_event(row("b"))
    store.save_event(row("c", mailbox="ada@learners.example"))
    store.save_event(row("a"))
    store.delete_event("b")

    found = store.changes("org@contoso.example", after=0, upto=store.change_seq(), limit=10)

    assert [(event_id, removed) for _seq, event_id, removed in found] == [("a", False), ("b", True)]
    assert found[-1][0] == store.change_seq()  # b's delete was the last change
    later = store.changes("org@contoso.example", after=found[0][0], upto=store.change_seq(), limit=10)
    assert [event_id for _seq, event_id, _removed in later] == ["b"]


def test_wiping_the_store_forgets_changes_tokens_and_subscriptions(store: Store) -> None:
    store.save_event(row("a"))
    store.put_delta_token("t", {"mailbox": "m"}, keep=10)
    store.put_subscription({"id": "s"})

    store.wipe()

    assert store.changes("org@contoso.example", after=0, upto=10**9, limit=10) == []
    assert store.delta_token("t") is None and store.subscriptions() == []


def test_the_token_cache_keeps_the_newest(store: Store) -> None:
    for name in ("t1", "t2", "t3"):
        store.put_delta_token(name, {"n": name}, keep=2)

    assert [store.delta_token(n) is not None for n in ("t1", "t2", "t3")] == [False, True, True]


@pytest.mark.parametrize("spelling", ["{d}T03:04:05Z", "{d}T03:04:05.1234567Z", "{d}T03:04:05", "{d}T04:04:05+01:00"])
def test_graph_instants_parse_in_every_spelling(spelling: str) -> None:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    expected = datetime(day.year, day.month, day.day, 3, 4, 5, tzinfo=UTC)
    assert parse_instant(spelling.format(d=day.isoformat()), "x").replace(microsecond=0) == expected


@pytest.mark.parametrize(("key", "value"), [("missedNotifications", 1.5), ("deltaPageSize", 0),
                                            ("validationTimeoutSeconds", 0), ("allowHttpNotificationUrl", "yes"),
                                            ("deltaQueryOptions", "maybe"), ("missedLifecycleEvent", "always")])
def test_bad_switch_values_are_refused_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        Realism.from_json({key: value})

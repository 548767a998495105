"""A run planned in many small chunks, planned twice (too large to hold between the guard and the
work table), sends exactly what the feed asks: every person one meeting per session, each offering
from one pool mailbox, the pool balanced. Through the real CLI's service, Azurite and the sandbox;
the expectations come from the feed written here and the sandbox's calendars."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from tests.support.dates import local
from tests.support.world import World

POOL = ["desk.one@contoso.example", "desk.two@contoso.example"]


def feed(offerings: int, sessions: int, learners: int) -> dict[str, Any]:
    items = []
    for n in range(offerings):
        items.append({
            "id": f"CH-{n:02}", "title": f"Chunked {n:02}", "status": "active",
            "activities": [{
                "id": f"S{s}", "title": f"Part {s}", "start": local(5 + n + 7 * s, "09:00"),
                "end": local(5 + n + 7 * s, "10:00"), "timeZone": "Europe/Berlin",
                "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/1"},
                "instructors": [{"email": f"coach{n:02}@contoso.example", "name": "Coach", "primary": True}],
            } for s in range(sessions)],
            "enrollments": [{"learnerEmail": f"c{n:02}.{i}@contoso.example", "status": "active"}
                            for i in range(learners)],
        })
    return {"schemaVersion": 1, "source": "tests", "offerings": items}


def test_a_run_planned_in_chunks_and_twice_sends_what_the_feed_asks(world: World,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import sync
    from shared.bootstrap import build
    from shared.settings import Settings
    from shared.sync.service import SyncRequest

    for number, address in enumerate(POOL, start=1):
        world.sandbox.put_user(address, displayName=f"Desk {number}", hasMailbox=True)
    document = feed(offerings=6, sessions=2, learners=3)
    path = world.feed_file(document)
    expected = 6 * 2 * (3 + 1)
    monkeypatch.setattr(sync.service, "CHUNK_INVITATIONS", 8)  # one offering a chunk
    monkeypatch.setattr(sync.service, "KEEP_PLANNED", 10)  # more than one chunk: planned again to be queued
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, world.env[name])
    app = build(Settings.from_env({**os.environ, **world.env, "LEARNCAL_ORGANIZERS": ",".join(POOL)}))

    preview = app.sync.sync(SyncRequest(feed=path, dry_run=True))
    assert preview.status == "completed" and preview.created == expected
    assert preview.plan is not None and len(preview.plan) == expected
    starts = [(p["offering"], p["activity"]) for p in preview.plan]
    assert starts.index(("CH-01", "S0")) < starts.index(("CH-00", "S1"))  # soonest session first across chunks

    first = app.sync.sync(SyncRequest(feed=path))
    assert first.status == "completed" and not first.errors, first.to_json()
    assert (first.created, first.deferred) == (expected, 0)

    senders: dict[str, Counter[str]] = {}
    for offering in document["offerings"]:
        people = [e["learnerEmail"] for e in offering["enrollments"]] + [offering["activities"][0]["instructors"][0][
            "email"]]
        found = Counter[str]()
        for person in people:
            meetings = world.calendar(person)
            assert sorted(m["subject"] for m in meetings) == sorted(
                f"{offering['title']}: {a['title']}" for a in offering["activities"])
            found.update(m["organizer"].lower() for m in meetings)
        senders[offering["id"]] = found
    assert all(len(s) == 1 for s in senders.values()), senders  # each offering from one mailbox
    per_mailbox = Counter(next(iter(s)) for s in senders.values())
    assert per_mailbox == {POOL[0]: 3, POOL[1]: 3}  # offerings of equal size, balanced across the pool

    again = app.sync.sync(SyncRequest(feed=path))
    assert (again.created, again.unchanged, again.offerings_examined) == (0, expected, 0)

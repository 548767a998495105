"""A pool of organizer mailboxes, as an administrator runs it: `learncal sync` against the sandbox.

The expectations come from the sandbox's calendars and the feed written here (who organizes
each meeting an attendee holds), never from the product's planner or pinning code.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from typing import Any

from shared.settings import Settings
from shared.store.sendlog import TableSendLog
from shared.store.tables import Tables, table_service
from tests.support.dates import local, zulu
from tests.support.world import World

POOL = ["pool.one@contoso.example", "pool.two@contoso.example", "pool.three@contoso.example"]


def add_mailboxes(world: World, addresses: list[str]) -> None:
    for number, address in enumerate(addresses, start=1):
        world.sandbox.put_user(address, displayName=f"Learning Desk {number}", hasMailbox=True)


def pool_feed(offerings: int, learners: int, *, extra: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """`offerings` offerings of one session each, `learners` learners + one instructor each (equal sizes)."""
    items = []
    for n in range(offerings):
        oid = f"OFF-{n:03}"
        people = [f"l{n:03}.{i}@contoso.example" for i in range(learners)] + (extra or {}).get(oid, [])
        items.append({
            "id": oid, "title": f"Course {n:03}", "status": "active",
            "activities": [{
                "id": f"ACT-{n:03}", "title": f"Session {n:03}", "start": local(10 + n, "09:00"),
                "end": local(10 + n, "10:00"), "timeZone": "Europe/Berlin",
                "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/1"},
                "instructors": [{"email": f"teacher{n:03}@contoso.example", "name": "Teacher", "primary": True}],
            }],
            "enrollments": [{"learnerEmail": p, "status": "active"} for p in people],
        })
    return {"schemaVersion": 1, "source": "tests", "offerings": items}


def organizers_by_session(world: World, feed: dict[str, Any]) -> dict[str, Counter[str]]:
    """For each session subject: which organizer each attendee's meeting comes from (attendee calendars)."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for offering in feed["offerings"]:
        activity = offering["activities"][0]
        people = [e["learnerEmail"] for e in offering["enrollments"]] + [i["email"] for i in activity["instructors"]]
        for person in people:
            for item in world.calendar(person):  # each person is in one offering only
                found[offering["id"]][item["organizer"].lower()] += 1
    return found


def send_log(world: World) -> TableSendLog:
    settings = Settings.from_env({"AzureWebJobsStorage": world.env["AzureWebJobsStorage"]})
    return TableSendLog(Tables(table_service(settings), prefix=world.env["LEARNCAL_TABLE_PREFIX"]))


def test_a_pool_of_three_splits_offerings_and_keeps_each_offering_with_one_organizer(world: World) -> None:
    add_mailboxes(world, POOL)
    feed = pool_feed(6, 3)
    path = world.feed_file(feed)
    env = {"LEARNCAL_ORGANIZERS": ",".join(POOL)}

    first = world.sync(path, **env)
    assert first.code == 0, first.stderr
    assert (first.summary["created"], first.summary["deferred"]) == (24, 0)
    assert first.summary["organizers"] == POOL and first.summary["warnings"] == []

    by_offering = organizers_by_session(world, feed)
    assert set(by_offering) == {o["id"] for o in feed["offerings"]}
    for offering_id, senders in by_offering.items():
        assert len(senders) == 1, f"{offering_id} came from {dict(senders)}"
        assert sum(senders.values()) == 4
    offerings_per_mailbox = Counter(next(iter(s)) for s in by_offering.values())
    assert offerings_per_mailbox == {address: 2 for address in POOL}
    for address in POOL:  # the organizers' own calendars hold exactly their offerings' meetings
        assert len(world.calendar(address)) == 8

    again = world.sync(path, **env).summary
    assert (again["created"], again["updated"], again["cancelled"], again["deferred"]) == (0, 0, 0, 0)
    assert again["unchanged"] == 24
    assert world.stats()["throttled"] == 0


def test_each_mailbox_of_the_pool_stays_within_its_own_minute_budget(world: World) -> None:
    add_mailboxes(world, POOL)
    world.sandbox.configure(**{"messagesPerMinute": 5, "sendLimitMode": "reject"})
    feed = pool_feed(6, 3)  # 24 invitations: 8 per mailbox, 5 of them within the minute
    env = {"LEARNCAL_ORGANIZERS": ",".join(POOL), "LEARNCAL_SEND_PER_MINUTE": "5", "LEARNCAL_RUN_SECONDS": "20"}
    since = time.time() - 60

    result = world.sync(feed, **env)
    assert result.code == 0, result.stderr
    assert (result.summary["created"], result.summary["deferred"]) == (15, 9)  # K mailboxes: K x 5 this minute
    stats = world.stats()
    assert (stats["throttled"], stats["sendLimitExceeded"], stats["messagesRejected"]) == (0, 0, 0)
    assert stats["messagesSent"] == 15
    log = send_log(world)
    for address in POOL:
        assert len(world.calendar(address)) == 5, address
        buckets = log.load(address, since)
        assert sum(b.count for b in buckets) == 5 and max(b.count for b in buckets) <= 5


def test_a_mailbox_leaving_the_pool_keeps_its_invitations_and_its_offerings_move_with_a_warning(
    world: World,
) -> None:
    add_mailboxes(world, POOL)
    feed = pool_feed(3, 2)
    first = world.sync(feed, LEARNCAL_ORGANIZERS=",".join(POOL))
    assert first.code == 0, first.stderr
    by_offering = organizers_by_session(world, feed)
    leaving = POOL[2]
    moved = next(o for o, senders in by_offering.items() if set(senders) == {leaving})
    index = int(moved.removeprefix("OFF-"))
    sent_before = [f"l{index:03}.{i}@contoso.example" for i in range(2)] + [f"teacher{index:03}@contoso.example"]

    newcomer = "newcomer@contoso.example"
    changed = pool_feed(3, 2, extra={moved: [newcomer]})
    session = changed["offerings"][index]["activities"][0]
    session["start"], session["end"] = local(10 + index, "13:00"), local(10 + index, "14:00")  # a key change
    changed_path = world.feed_file(changed)
    preview = world.cli("sync", "--feed", changed_path, "--dry-run", "--quiet", LEARNCAL_ORGANIZERS=",".join(POOL[:2]))
    assert preview.code == 0, preview.stderr
    assert "warning" in preview.stdout and moved in preview.stdout and leaving in preview.stdout
    second = world.sync(changed_path, LEARNCAL_ORGANIZERS=",".join(POOL[:2]))
    assert second.code == 0, second.stderr
    summary = second.summary
    assert (summary["created"], summary["updated"]) == (1, 3)

    new_sender = world.calendar(newcomer)[0]["organizer"].lower()
    assert new_sender in POOL[:2]
    assert [(w["offeringId"], w["from"], w["to"]) for w in summary["warnings"]] == [(moved, leaving, new_sender)]
    assert moved in summary["warnings"][0]["message"] and leaving in summary["warnings"][0]["message"]
    assert "1 offering moved to another organizer" in summary["message"]
    [record] = json.loads(world.cli("runs", "--limit", "1", "--json").stdout)["value"]
    assert record["runId"] == summary["runId"] and record["warnings"] == summary["warnings"]
    for person in sent_before:  # sent invitations keep their organizer; the update came from it too
        [meeting] = world.calendar(person)
        assert meeting["organizer"].lower() == leaving
        assert meeting["startUtc"][:16] == zulu(session["start"], "Europe/Berlin")[:16]
        assert [m["type"] for m in world.messages(person)] == ["meetingRequest", "meetingUpdate"]
    assert len(world.calendar(leaving)) == 3  # the leaving mailbox organizes its three meetings, nothing new
    assert len(world.calendar(new_sender)) == 3 + 1

    third = world.sync(changed, LEARNCAL_ORGANIZERS=",".join(POOL[:2])).summary
    assert (third["created"], third["updated"], third["warnings"]) == (0, 0, [])  # moved once, reported once


def test_offerings_sent_before_pins_existed_stay_with_the_mailbox_that_sent_them(world: World) -> None:
    add_mailboxes(world, POOL)
    feed = pool_feed(2, 2)
    assert world.sync(feed, LEARNCAL_ORGANIZERS=POOL[0]).code == 0  # a single organizer sent everything
    tables = Tables(table_service(Settings.from_env({"AzureWebJobsStorage": world.env["AzureWebJobsStorage"]})),
                    prefix=world.env["LEARNCAL_TABLE_PREFIX"])
    offerings = tables["offerings"]
    for row in list(offerings.list_entities()):  # as rows written before offerings were pinned
        offerings.upsert_entity({"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], "Organizer": ""})

    newcomer = "newcomer@contoso.example"
    grown = world.sync(pool_feed(2, 2, extra={"OFF-001": [newcomer]}), LEARNCAL_ORGANIZERS=",".join(POOL))

    assert grown.code == 0, grown.stderr
    assert (grown.summary["created"], grown.summary["warnings"]) == (1, [])
    # the least loaded mailbox would be another one; the offering keeps the mailbox of its invitations
    assert [item["organizer"] for item in world.calendar(newcomer)] == [POOL[0]]

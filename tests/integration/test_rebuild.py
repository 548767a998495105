"""`learncal mapping rebuild`: a lost mapping is restored from the organizer's calendar.

Sync, lose every table, rebuild, sync again: nothing is sent, because every event carries
its tag and the fingerprints of what was sent. Events it cannot match are reported.
"""

from __future__ import annotations

import json
from typing import Any

from shared.calendar.gateway import TAG_PROPERTY_ID
from shared.store.tables import TABLES
from tests.support.convergence import problems
from tests.support.dates import local
from tests.support.feeds import DEE, base_feed, enrollment
from tests.support.world import World


def lose_every_table(world: World) -> None:
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    for name in TABLES.values():
        service.delete_table(world.env["LEARNCAL_TABLE_PREFIX"] + name)


def rebuild(world: World, *args: str) -> tuple[int, dict[str, Any]]:
    result = world.cli("mapping", "rebuild", "--json", *args)
    assert result.stdout.strip(), result.stderr
    return result.code, json.loads(result.stdout.strip().splitlines()[-1])


def graph_post(world: World, path: str, body: dict[str, Any]) -> None:
    """A meeting made by someone else with the app's identity (not through the sync)."""
    assert world.graph("POST", path, body) == 201


def tagged_meeting(tag: str) -> dict[str, Any]:
    return {"subject": "Made by hand", "start": {"dateTime": local(60, "09:00"), "timeZone": "UTC"},
            "end": {"dateTime": local(60, "10:00"), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": "someone@contoso.example"}}],
            "singleValueExtendedProperties": [{"id": TAG_PROPERTY_ID, "value": tag}]}


def test_sync_lose_the_tables_rebuild_sync_again_sends_nothing(world: World) -> None:
    feed = world.feed_file(base_feed())
    assert world.sync(feed).summary["created"] == 10
    lose_every_table(world)

    code, report = rebuild(world)
    assert code == 0
    assert (report["restored"], report["withoutState"], report["unreadable"], report["duplicates"]) == (10, 0, [], [])

    before = world.stats()
    again = world.sync(feed).summary
    after = world.stats()
    assert (again["created"], again["updated"], again["cancelled"], again["unchanged"]) == (0, 0, 0, 10)
    assert (after["requests"], after["messagesSent"]) == (before["requests"], before["messagesSent"])


def test_after_a_rebuild_only_real_changes_go_out(world: World) -> None:
    feed = base_feed()
    world.sync(feed)
    lose_every_table(world)
    assert rebuild(world)[0] == 0
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    summary = world.sync(feed).summary
    assert (summary["created"], summary["updated"], summary["cancelled"]) == (0, 0, 1)
    assert problems(world, feed) == []


def test_a_second_rebuild_finds_everything_already_right(world: World) -> None:
    world.sync(base_feed())
    assert rebuild(world)[1]["already"] == 10
    code, report = rebuild(world)
    assert code == 0 and (report["restored"], report["already"]) == (0, 10)


def test_unreadable_tags_and_duplicates_are_reported(world: World) -> None:
    world.sync(base_feed())
    organizer = world.info["organizer"]
    ada_tag = next(m["tag"] for m in world.calendar(organizer) if "ada.learner" in m["tag"])
    graph_post(world, f"/users/{organizer}/events", tagged_meeting("not-a-tag-of-ours"))
    graph_post(world, f"/users/{organizer}/events", tagged_meeting(ada_tag))
    lose_every_table(world)

    code, report = rebuild(world)
    assert code == 2
    assert [u["reason"] for u in report["unreadable"]] == ["unreadable tag 'not-a-tag-of-ours'"]
    assert [(d["tag"], len(d["eventIds"])) for d in report["duplicates"]] == [(ada_tag, 2)]
    assert report["restored"] == 10


def test_rebuild_reads_through_throttling_outside_batches(world: World) -> None:
    world.sync(base_feed())
    lose_every_table(world)
    world.sandbox.configure(**{"faultSeed": 3, "faults": [
        {"status": 429, "code": "ApplicationThrottled", "method": "GET", "path": "/users/*/events", "probability": 0.5,
         "retryAfter": 0.3, "times": 3}]})
    code, report = rebuild(world)
    assert code == 0 and report["restored"] == 10
    assert world.stats()["throttled"] >= 1


def test_rebuild_is_refused_while_a_sync_run_holds_the_mailbox(world: World) -> None:
    from azure.data.tables import TableServiceClient

    from shared.store.lease import LeaseStore
    from shared.store.tables import Tables

    world.sync(base_feed())
    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    leases = LeaseStore(Tables(service, prefix=world.env["LEARNCAL_TABLE_PREFIX"]))
    running = leases.acquire(world.info["organizer"], seconds=60)  # a sync run in progress
    before = world.stats()["requests"]
    for args in (("--dry-run",), ()):
        refused = world.cli("mapping", "rebuild", "--json", *args)
        assert refused.code == 1 and refused.stdout == ""
        assert "in progress" in refused.stderr and "again after the run" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert world.stats()["requests"] == before  # the calendar was not read beside the run

    leases.release(running)
    code, report = rebuild(world)
    assert code == 0 and report["already"] == 10
    again = leases.acquire(world.info["organizer"], seconds=60)  # the rebuild let go of the lease
    leases.release(again)

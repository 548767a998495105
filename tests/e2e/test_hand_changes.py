"""What others do to the sync's meetings and records: a meeting deleted by hand in the
organizer's mailbox, and a mapping table replaced under a running installation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from azure.data.tables import TableServiceClient

from tests.support.feeds import ADA, DEE, PAT, activity, base_feed, offering
from tests.support.world import World


def in_the_coming_weeks(feed: dict[str, Any]) -> dict[str, Any]:
    """Every session moved so the earliest is a month from today; times and gaps are kept."""
    starts = [datetime.fromisoformat(a["start"]) for o in feed["offerings"] for a in o["activities"]]
    shift = (date.today() + timedelta(days=30)) - min(starts).date()
    for item in feed["offerings"]:
        for session in item["activities"]:
            for name in ("start", "end"):
                session[name] = (datetime.fromisoformat(session[name]) + shift).isoformat()
    return feed


def utc_text(local: str, zone: str) -> str:
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def synced(world: World, feed: dict[str, Any] | str, *args: str) -> dict[str, Any]:
    result = world.sync(feed, *args)
    assert result.code == 0, result.stdout + result.stderr
    return result.summary


def organizer_event(world: World, activity_id: str, person: str) -> dict[str, Any]:
    organizer = world.info["organizer"]
    found = [m for m in world.calendar(organizer) if (m["tag"] or "").endswith(f"/{activity_id}/{person}")]
    assert len(found) == 1, found
    return found[0]


def test_a_meeting_deleted_by_hand_then_moved_is_sent_again_exactly_once(world: World) -> None:
    feed = in_the_coming_weeks(base_feed())
    assert synced(world, feed)["created"] == 10
    deleted = organizer_event(world, "ACT-9", DEE)
    assert world.graph("DELETE", f"/users/{world.info['organizer']}/events/{deleted['id']}") == 204

    session = activity(feed, "OFF-2002", "ACT-9")
    for name in ("start", "end"):
        session[name] = (datetime.fromisoformat(session[name]) + timedelta(hours=1)).isoformat()
    summary = synced(world, feed)
    assert (summary["created"], summary["updated"], summary["recreated"]) == (0, 2, 1)  # Ada and Pat updated
    assert summary["recreatedTags"] == [deleted["tag"]]
    assert "sent again" in summary["message"]

    assert [m["type"] for m in world.messages(DEE)] == ["meetingRequest", "meetingCancellation", "meetingRequest"]
    mine = world.calendar(DEE)
    assert [m["startUtc"] for m in mine] == [utc_text(session["start"], "America/New_York")]
    again = organizer_event(world, "ACT-9", DEE)
    assert again["id"] != deleted["id"] and again["startUtc"] == mine[0]["startUtc"]
    for person in (ADA, PAT):
        assert organizer_event(world, "ACT-9", person)["startUtc"] == mine[0]["startUtc"]

    before = world.stats()
    quiet = synced(world, feed)
    after = world.stats()
    assert (quiet["created"], quiet["updated"], quiet["cancelled"], quiet["recreated"]) == (0, 0, 0, 0)
    assert (after["writes"], after["messagesSent"]) == (before["writes"], before["messagesSent"])


def stopped_before_any_send(world: World, feed: str, *, dry_run_too: bool = False) -> None:
    """The run (and a dry run before it) stops, says what to do, and sends nothing."""
    before = world.stats()
    for args in ((("--dry-run",),) if dry_run_too else ()) + ((),):
        result = world.sync(feed, *args)
        assert result.code == 1, result.stdout + result.stderr
        summary = result.summary
        assert summary["status"] == "failed" and summary["created"] == 0
        assert "learncal mapping rebuild" in summary["message"] and world.info["organizer"] in summary["message"]
    after = world.stats()
    assert (after["writes"], after["messagesSent"]) == (before["writes"], before["messagesSent"])


def rebuilt_then_converged(world: World, feed: str, *, created: int) -> None:
    rebuilt = world.cli("mapping", "rebuild", "--json")
    assert rebuilt.code == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout.strip().splitlines()[-1])["restored"] == 10
    summary = synced(world, feed)
    assert (summary["created"], summary["updated"], summary["cancelled"]) == (created, 0, 0)
    tags = [m["tag"] for m in world.calendar(world.info["organizer"])]
    assert len(tags) == len(set(tags)) == 10 + created  # no meeting twice
    for person in (ADA, DEE, PAT):
        received = [m["type"] for m in world.messages(person)]
        assert received.count("meetingRequest") == len(world.calendar(person))


def test_a_replaced_storage_account_stops_the_run_until_the_mapping_is_rebuilt(world: World) -> None:
    feed = world.feed_file(in_the_coming_weeks(base_feed()))
    assert synced(world, feed)["created"] == 10
    world.env["LEARNCAL_TABLE_PREFIX"] = "R" + uuid.uuid4().hex[:10]  # every table new and empty
    stopped_before_any_send(world, feed, dry_run_too=True)
    rebuilt_then_converged(world, feed, created=0)


def test_a_deleted_invitations_table_stops_the_run_at_the_next_change(world: World) -> None:
    feed = in_the_coming_weeks(base_feed())
    assert synced(world, feed)["created"] == 10
    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    service.delete_table(world.env["LEARNCAL_TABLE_PREFIX"] + "Invitations")
    offering(feed, "OFF-2002")["enrollments"].append({"learnerEmail": "new.learner@contoso.example",
                                                      "status": "active"})
    path = world.feed_file(feed)
    stopped_before_any_send(world, path)
    rebuilt_then_converged(world, path, created=1)  # only the new learner is invited

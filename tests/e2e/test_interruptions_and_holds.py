"""Rules that keep people from silently losing a meeting, through `learncal sync`, the sandbox and Azurite.

- a cancellation that could not be confirmed, for someone wanted again by the next feed;
- a session moved to a later date after its old end passed;
- a malformed learner address next to a moved and a cancelled session.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store.tables import key_part
from tests.support.feeds import ADA, BO, CY, DEE, INES, PAT, SAM, activity, base_feed, enrollment
from tests.support.shifting import rebased, shifted, utc_text
from tests.support.world import World

EVERYONE = (ADA, BO, CY, DEE, INES, SAM, PAT)


def feed_now() -> dict[str, Any]:
    return rebased(base_feed(), days_ahead=20)


def received(world: World) -> dict[str, Counter[str]]:
    return {who: Counter(m["type"] for m in world.messages(who)) for who in EVERYONE}


def since(world: World, before: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    after = received(world)
    return {who: dict(after[who] - before[who]) for who in EVERYONE if after[who] - before[who]}


def sync(world: World, feed: dict[str, Any], code: int = 0) -> dict[str, Any]:
    result = world.sync(feed)
    assert result.code == code, result.stdout + result.stderr
    return result.summary


def times(world: World, who: str) -> dict[str, tuple[str, str]]:
    return {m["subject"]: (m["startUtc"], m["endUtc"]) for m in world.calendar(who)}


def test_cancellation_left_unconfirmed_then_wanted_again_ends_with_a_new_invitation(world: World) -> None:
    feed = feed_now()
    sync(world, feed)
    withdrawn = feed_now()
    enrollment(withdrawn, "OFF-1001", BO)["status"] = "withdrawn"
    # Graph refuses the cancellations: the run records them as started, not confirmed.
    world.sandbox.configure(faults=[{"method": "POST", "path": "/users/*/events/*/cancel", "status": 403,
                                     "code": "ErrorAccessDenied", "message": "Access is denied."}])
    failed = sync(world, withdrawn, code=1)
    assert failed["cancelled"] == 0 and len(failed["errors"]) == 2
    world.sandbox.configure(faults=[])
    before = received(world)

    summary = sync(world, feed)  # re-enrolled before the cancellation went through
    assert (summary["cancelled"], summary["created"], summary["errors"]) == (2, 2, [])
    assert since(world, before) == {BO: {"meetingCancellation": 2, "meetingRequest": 2}}
    assert len(world.calendar(BO)) == 2
    per_session: dict[str, list[str]] = {}
    for message in world.messages(BO):
        per_session.setdefault(message["meetingSubject"], []).append(message["type"])
    assert all(kinds == ["meetingRequest", "meetingCancellation", "meetingRequest"] for kinds in per_session.values())
    again = sync(world, feed)
    assert (again["created"], again["cancelled"], again["offeringsExamined"]) == (0, 0, 0)
    assert len(world.calendar(BO)) == 2


def age_mapping(world: World, offering_id: str, ended: datetime) -> int:
    """Make the mapping say this offering's meetings were sent for a session that has ended."""
    from azure.data.tables import TableServiceClient, UpdateMode

    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    table = service.get_table_client(world.env["LEARNCAL_TABLE_PREFIX"] + "Invitations")
    rows = list(table.query_entities("PartitionKey eq @pk", parameters={"pk": key_part(offering_id)}))
    for row in rows:
        row["StartUtc"], row["EndUtc"] = ended - timedelta(hours=2), ended
        table.update_entity(row, mode=UpdateMode.MERGE)
    return len(rows)


def test_session_moved_later_after_its_old_end_passed_is_updated(world: World) -> None:
    feed = feed_now()
    sync(world, feed)
    assert age_mapping(world, "OFF-2002", datetime.now(UTC) - timedelta(days=1)) == 3
    act = activity(feed, "OFF-2002", "ACT-9")
    act["start"], act["end"] = shifted(act["start"], days=7), shifted(act["end"], days=7)
    before = received(world)

    summary = sync(world, feed)
    assert summary["updated"] == 3 and summary["created"] == 0
    assert since(world, before) == {who: {"meetingUpdate": 1} for who in (ADA, DEE, PAT)}
    wanted = (utc_text(act["start"], "America/New_York"), utc_text(act["end"], "America/New_York"))
    for who in (DEE, PAT):
        assert times(world, who) == {"Data Privacy Basics": wanted}


def test_malformed_address_holds_only_what_it_could_stand_for(world: World) -> None:
    feed = feed_now()
    sync(world, feed)
    act1 = activity(feed, "OFF-1001", "ACT-1")
    act1["start"], act1["end"] = shifted(act1["start"], hours=1), shifted(act1["end"], hours=1)
    activity(feed, "OFF-1001", "ACT-2")["status"] = "cancelled"
    broken = feed
    enrollment(broken, "OFF-1001", BO)["learnerEmail"] = "bo.learner@"
    before = received(world)

    summary = sync(world, broken, code=2)
    assert [r["path"] for r in summary["rejected"]] == ["offerings[0].enrollments[1].learnerEmail"]
    assert (summary["updated"], summary["cancelled"], summary["held"]) == (3, 3, 1)
    # Bo may be the broken entry: his Workshop 1 waits; the cancelled session reaches him anyway
    assert since(world, before) == {
        ADA: {"meetingUpdate": 1, "meetingCancellation": 1},
        INES: {"meetingUpdate": 1, "meetingCancellation": 1},
        SAM: {"meetingUpdate": 1},
        BO: {"meetingCancellation": 1},
    }
    moved = (utc_text(act1["start"], "Europe/Berlin"), utc_text(act1["end"], "Europe/Berlin"))
    assert list(times(world, ADA).values()).count(moved) == 1
    assert list(times(world, BO)) == ["Leading Hybrid Teams: Workshop 1: Foundations"]
    assert times(world, BO)["Leading Hybrid Teams: Workshop 1: Foundations"] != moved

    enrollment(broken, "OFF-1001", "bo.learner@")["learnerEmail"] = BO  # fixed: Bo catches up
    before = received(world)
    summary = sync(world, broken)
    assert (summary["updated"], summary["cancelled"], summary["created"]) == (1, 0, 0)
    assert since(world, before) == {BO: {"meetingUpdate": 1}}
    assert times(world, BO) == {"Leading Hybrid Teams: Workshop 1: Foundations": moved}
    assert CY not in since(world, before)

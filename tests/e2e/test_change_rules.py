"""Each change rule of the calendar semantics, end to end: what every person received and now has."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.support.dates import day, dst_gap, local, moved, zulu
from tests.support.feeds import ADA, BO, CY, DEE, INES, PAT, SAM, activity, base_feed, enrollment, offering
from tests.support.world import World

EVERYONE = (ADA, BO, CY, DEE, INES, SAM, PAT)


def snapshot(world: World) -> dict[str, Counter[str]]:
    return {who: world.received(who) for who in EVERYONE}


def delta(world: World, before: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    """What each person received since `before`, e.g. {ADA: {"meetingUpdate": 1}}."""
    out = {}
    for who in EVERYONE:
        diff = world.received(who) - before[who]
        if diff:
            out[who] = dict(diff)
    return out


def synced(world: World, feed: dict[str, Any], *args: str, code: int = 0, **env: str) -> dict[str, Any]:
    result = world.sync(feed, *args, **env)
    assert result.code == code, result.stdout + result.stderr
    return result.summary


def subjects(world: World, who: str) -> set[str]:
    return {m["subject"] for m in world.calendar(who)}


def test_key_change_updates_each_affected_person_once(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    before = snapshot(world)
    act1 = activity(feed, "OFF-1001", "ACT-1")
    act1["start"] = moved(act1["start"], clock="10:00")
    summary = synced(world, feed)
    assert summary["updated"] == 4
    assert delta(world, before) == {who: {"meetingUpdate": 1} for who in (ADA, BO, INES, SAM)}
    meeting = next(m for m in world.calendar(BO) if m["subject"].endswith("Foundations"))
    assert meeting["startUtc"] == zulu(act1["start"], "Europe/Berlin")


def test_non_key_change_waits_for_reconcile_then_reaches_everyone(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    before = snapshot(world)
    offering(feed, "OFF-2002")["title"] = "Data Privacy Essentials"
    activity(feed, "OFF-2002", "ACT-9")["title"] = "Data Privacy Essentials"
    summary = synced(world, feed)
    assert (summary["updated"], summary["waitingForReconcile"]) == (0, 3)
    assert delta(world, before) == {}

    marked = world.cli("reconcile", "OFF-2002")
    assert marked.code == 0, marked.stderr
    summary = synced(world, feed)
    assert summary["updated"] == 3 and summary["reconciled"] == ["OFF-2002"]
    assert delta(world, before) == {who: {"meetingUpdate": 1} for who in (ADA, DEE, PAT)}
    assert subjects(world, DEE) == {"Data Privacy Essentials"}
    assert synced(world, feed)["updated"] == 0  # the mark was cleared


def test_reconcile_of_an_unknown_offering_is_a_clear_error(world: World) -> None:
    synced(world, base_feed())
    result = world.cli("reconcile", "OFF-NOPE")
    assert result.code == 1
    assert "OFF-NOPE" in result.stderr and "not known" in result.stderr and "Traceback" not in result.stderr


def test_primary_instructor_link_moves_on_reconcile(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    act1 = activity(feed, "OFF-1001", "ACT-1")
    act1["location"] = {
        "kind": "virtual",
        "joinUrl": "https://meet.example.com/j/1",
        "hostUrl": "https://meet.example.com/h/1",
    }
    synced(world, feed)  # a key change: Ines (primary) now has the host link
    ines = next(m for m in world.calendar(INES) if m["subject"].endswith("Foundations"))
    assert "https://meet.example.com/h/1" in ines["body"]["content"]
    act1["instructors"][0]["primary"] = False
    act1["instructors"][1]["primary"] = True
    before = snapshot(world)
    assert synced(world, feed)["updated"] == 0  # which instructor is primary is not a key field
    world.cli("reconcile", "OFF-1001")
    synced(world, feed)
    assert delta(world, before) == {INES: {"meetingUpdate": 1}, SAM: {"meetingUpdate": 1}}
    sam = world.calendar(SAM)[0]["body"]["content"]
    ines = next(m for m in world.calendar(INES) if m["subject"].endswith("Foundations"))["body"]["content"]
    assert "https://meet.example.com/h/1" in sam and "meet.example.com" not in ines


@pytest.mark.parametrize(
    ("change", "who", "reason"),
    [
        (
            lambda f: enrollment(f, "OFF-1001", BO).update(status="cancelled"),
            BO,
            "enrollment in this offering was cancelled",
        ),
        (
            lambda f: offering(f, "OFF-1001")["enrollments"].remove(enrollment(f, "OFF-1001", BO)),
            BO,
            "no longer enrolled",
        ),
        (lambda f: activity(f, "OFF-1001", "ACT-1")["instructors"].pop(), SAM, "no longer an instructor"),
    ],
)
def test_people_removed_get_one_cancellation_with_a_reason(world: World, change: Any, who: str, reason: str) -> None:
    feed = base_feed()
    synced(world, feed)
    before = snapshot(world)
    change(feed)
    summary = synced(world, feed)
    cancelled = delta(world, before)
    assert list(cancelled) == [who] and sum(cancelled[who].values()) == summary["cancelled"] >= 1
    assert reason in world.messages(who)[-1]["comment"]


@pytest.mark.parametrize(
    ("change", "reason", "count"),
    [
        (lambda f: activity(f, "OFF-1001", "ACT-2").update(status="cancelled"), "session was cancelled", 3),
        (lambda f: offering(f, "OFF-1001")["activities"].pop(), "removed from the offering", 3),
        (lambda f: offering(f, "OFF-1001").update(status="cancelled"), "was cancelled", 7),
    ],
)
def test_cancelled_sessions_and_offerings_cancel_every_meeting(
    world: World, change: Any, reason: str, count: int
) -> None:
    feed = base_feed()
    synced(world, feed)
    change(feed)
    assert synced(world, feed)["cancelled"] == count
    assert all(
        reason in m["comment"] for who in EVERYONE for m in world.messages(who) if m["type"] == "meetingCancellation"
    )
    assert len(world.calendar(DEE)) == 1  # the other offering is unaffected


def test_completed_enrollment_keeps_its_meetings_and_gets_no_new_ones(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    enrollment(feed, "OFF-1001", BO)["status"] = "completed"
    enrollment(feed, "OFF-1001", CY)["status"] = "completed"
    assert synced(world, feed)["cancelled"] == 0
    assert len(world.calendar(BO)) == 2 and world.calendar(CY) == []


def test_an_offering_absent_from_the_feed_is_untouched(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    before = snapshot(world)
    feed["offerings"] = [offering(feed, "OFF-2002")]
    assert synced(world, feed)["cancelled"] == 0
    assert delta(world, before) == {} and len(world.calendar(BO)) == 2


def test_instructor_added_is_invited_and_learner_instructor_gets_one_meeting(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    activity(feed, "OFF-2002", "ACT-9")["instructors"].append({"email": DEE, "name": "Dee as instructor"})
    before = snapshot(world)
    summary = synced(world, feed)
    # Dee was a learner of ACT-9; now instructor too: her one meeting becomes an instructor's meeting
    assert summary["created"] == 0 and summary["updated"] == 1
    assert delta(world, before) == {DEE: {"meetingUpdate": 1}}
    assert len(world.calendar(DEE)) == 1 and "instructor" in world.calendar(DEE)[0]["body"]["content"]
    activity(feed, "OFF-2002", "ACT-9")["instructors"].append({"email": "new.trainer@contoso.example"})
    assert synced(world, feed)["created"] == 1
    assert len(world.calendar("new.trainer@contoso.example")) == 1


def test_inactive_status_makes_no_graph_request_and_reactivation_catches_up(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    before = world.stats()
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    summary = synced(world, feed, LEARNCAL_STATUS="inactive")
    assert summary["status"] == "skipped" and summary["skipped"]
    assert world.stats()["requests"] == before["requests"]
    assert len(world.calendar(DEE)) == 1
    [latest] = json.loads(world.cli("runs", "--limit", "1", "--json").stdout)["value"]
    assert (latest["status"], latest["state"]) == ("skipped", "skipped")
    assert synced(world, feed)["cancelled"] == 1
    assert world.calendar(DEE) == []


def test_allowlist_invites_nobody_else_and_counts_who_was_left_out(world: World) -> None:
    summary = synced(world, base_feed(), LEARNCAL_RECIPIENT_ALLOWLIST=f"{ADA}, {PAT}")
    assert summary["created"] == 4 and summary["leftOut"] == 6
    assert world.calendar(BO) == [] and world.calendar(INES) == [] and len(world.calendar(ADA)) == 3


def test_ended_activities_get_nothing(world: World) -> None:
    feed = base_feed()
    act = activity(feed, "OFF-2002", "ACT-9")
    act["start"], act["end"] = local(-400, "14:00"), local(-400, "15:30")
    assert synced(world, feed)["created"] == 7
    assert world.calendar(PAT) == [] and len(world.calendar(DEE)) == 0


def test_organizer_change_keeps_old_meetings_with_their_organizer(world: World) -> None:
    old = world.info["organizer"]
    new = "learning.desk@contoso.example"
    world.sandbox.put_user(new, hasMailbox=True)
    feed = base_feed()
    synced(world, feed)
    act9 = activity(feed, "OFF-2002", "ACT-9")
    act9["start"] = moved(act9["start"], clock="13:00")
    offering(feed, "OFF-2002")["enrollments"].append(
        {"learnerEmail": "eve.learner@contoso.example", "status": "active"}
    )
    summary = synced(world, feed, LEARNCAL_ORGANIZER=new)
    assert (summary["created"], summary["updated"]) == (1, 3)
    assert world.calendar(DEE)[0]["organizer"].lower() == old
    assert world.calendar("eve.learner@contoso.example")[0]["organizer"].lower() == new

    world.sandbox.delete_user(old)  # the old organizer can no longer be reached
    act9["start"] = moved(act9["start"], clock="12:00")
    result = world.sync(feed, LEARNCAL_ORGANIZER=new)
    assert result.code == 1
    errors = result.summary["errors"]
    assert len(errors) == 3 and all("OFF-2002" in e["invitation"] for e in errors)
    assert result.summary["updated"] == 1  # Eve's meeting, sent by the new organizer


def test_time_zones_outside_graphs_list_half_hours_and_dst(world: World) -> None:
    feed = base_feed()
    act = activity(feed, "OFF-1001", "ACT-1")
    change = dst_gap("Europe/Amsterdam")[:10]  # the next spring-forward day
    act.update(timeZone="Europe/Amsterdam", start=f"{change}T01:30:00", end=f"{change}T04:00:00")  # across DST
    act2 = activity(feed, "OFF-1001", "ACT-2")
    act2.update(timeZone="Asia/Kolkata", start=local(42, "09:00"), end=local(42, "10:30"))
    synced(world, feed)
    meetings = {m["subject"]: m for m in world.calendar(BO)}
    amsterdam = meetings["Leading Hybrid Teams: Workshop 1: Foundations"]
    assert amsterdam["start"]["timeZone"] == "W. Europe Standard Time"
    assert (amsterdam["startUtc"], amsterdam["endUtc"]) == (f"{change}T00:30:00Z", f"{change}T02:00:00Z")
    kolkata = meetings["Leading Hybrid Teams: Workshop 2: Practice"]
    assert (kolkata["startUtc"], kolkata["endUtc"]) == (f"{day(42)}T03:30:00Z", f"{day(42)}T05:00:00Z")


def test_invalid_items_are_rejected_by_path_and_their_meetings_left_alone(world: World) -> None:
    feed = base_feed()
    synced(world, feed)
    before = snapshot(world)
    activity(feed, "OFF-1001", "ACT-1")["timeZone"] = "Mars/Olympus"
    activity(feed, "OFF-1001", "ACT-2")["start"] = dst_gap("Europe/Berlin") + ":00"  # does not exist in Berlin
    activity(feed, "OFF-1001", "ACT-2")["end"] = dst_gap("Europe/Berlin")[:10] + "T04:00:00"
    enrollment(feed, "OFF-2002", DEE)["learnerEmail"] = "dee@@contoso"
    result = world.sync(feed)
    assert result.code == 2
    paths = {r["path"] for r in result.summary["rejected"]}
    assert {
        "offerings[0].activities[0].timeZone",
        "offerings[0].activities[1].start",
        "offerings[1].enrollments[1].learnerEmail",
    } <= paths
    assert all(r["reason"] for r in result.summary["rejected"])
    assert result.summary["cancelled"] == 0 and delta(world, before) == {}
    assert len(world.calendar(BO)) == 2 and len(world.calendar(DEE)) == 1


def test_feed_text_is_escaped_in_the_body(world: World) -> None:
    feed = base_feed()
    off = offering(feed, "OFF-2002")
    off["description"] = (
        '<script>alert("x")</script> & <b>bold</b> \u202e\u0645\u0631\u062d\u0628\u0627 ' + "long " * 3000
    )
    activity(feed, "OFF-2002", "ACT-9")["title"] = "Privacy <img src=x onerror=alert(1)>"
    synced(world, feed)
    body = world.calendar(DEE)[0]["body"]["content"]
    assert "<script>" not in body and "&lt;script&gt;" in body and "<img" not in body
    assert "\u0645\u0631\u062d\u0628\u0627" in body
    assert world.calendar(DEE)[0]["subject"] == "Data Privacy Basics: Privacy <img src=x onerror=alert(1)>"


def test_mass_cancellation_guard_stops_then_allows_an_explicit_override(world: World) -> None:
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"].extend(
        {"learnerEmail": f"learner{i}@contoso.example", "status": "active"} for i in range(30)
    )
    synced(world, feed)
    truncated = base_feed()
    truncated["offerings"][0]["activities"] = []  # a wrong feed: every session of the big offering gone
    before = world.stats()["messagesSent"]
    stopped = world.sync(truncated, LEARNCAL_MASS_CANCEL_MIN="20")
    assert stopped.code == 1 and "would cancel" in stopped.summary["message"]
    assert "--allow-mass-cancel" in stopped.summary["message"]
    assert world.stats()["messagesSent"] == before
    small = base_feed()
    offering(small, "OFF-1001")["enrollments"].extend(
        {"learnerEmail": f"learner{i}@contoso.example", "status": "active"} for i in range(30)
    )
    offering(small, "OFF-2002")["status"] = "cancelled"  # an ordinary change does not trip it
    assert synced(world, small, LEARNCAL_MASS_CANCEL_MIN="20")["cancelled"] == 3
    assert synced(world, truncated, "--allow-mass-cancel", LEARNCAL_MASS_CANCEL_MIN="20")["cancelled"] == 67

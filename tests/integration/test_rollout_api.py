"""POST /api/rollout: a non-key change reaches invitations already sent only by a roll-out, once each.

Expected counts come from the feed written here (who holds which session), and what people
received is read from the sandbox's inspection endpoints, never from the product.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import conftest_admin
from conftest_admin import World, payload, principal, request

from shared.store.offerings import OfferingStore
from tests.support.feeds import base_feed, offering, write

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

READER = principal(["LearningCalendar.Reader"], "rea.der@contoso.example")


def holders(item: dict[str, Any]) -> Counter[str]:
    """Each person's invitations in one offering: active learners in every session, instructors in theirs."""
    held: Counter[str] = Counter()
    learners = {e["learnerEmail"].lower() for e in item.get("enrollments", []) if e.get("status") == "active"}
    for session in item["activities"]:
        for person in learners | {i["email"].lower() for i in session.get("instructors", [])}:
            held[person] += 1
    return held


def everyone(feed: dict[str, Any]) -> set[str]:
    return {p for item in feed["offerings"] for p in holders(item)}


def received(world: World, people: set[str]) -> dict[str, Counter[str]]:
    return {person: Counter(m["type"] for m in world.sandbox.messages(person)) for person in people}


def test_a_title_change_waits_for_the_rollout_which_sends_one_update_per_invitation(
    world: World, tmp_path: Path,
) -> None:
    feed = base_feed()
    path = tmp_path / "feed.json"
    services = world.services(feed=write(feed, path))
    assert world.sync({}, services)["state"] == "completed"
    people = everyone(feed)
    before = received(world, people)

    changed = offering(feed, "OFF-1001")
    changed["title"] = "Leading Hybrid Teams (new edition)"
    write(feed, path)
    quiet = world.sync({}, services)
    assert (quiet["state"], quiet["sent"]) == ("completed", 0), quiet  # a non-key change waits
    assert received(world, people) == before

    counted = world.call("rollout", request("POST", "rollout", {"dryRun": True}), services)
    assert counted.status_code == 200, counted.get_body()
    count = payload(counted)
    expected = holders(changed)
    assert (count["updates"], count["offerings"], count["runId"], count["dryRun"]) == (
        sum(expected.values()), 1, None, True)
    assert all(s.reconcile_requested_at is None for s in OfferingStore(world.tables).all().values())
    assert world.call("rollout", request("POST", "rollout", {}, headers={
        **READER, "X-Learncal-Request": "1"}), services).status_code == 403

    started = world.call("rollout", request("POST", "rollout", {"dryRun": False}), services)
    assert started.status_code == 202, started.get_body()
    ticket = payload(started)
    assert started.headers["Location"] == f"/api/runs/{ticket['runId']}"
    assert OfferingStore(world.tables).get("OFF-1001").reconcile_requested_at is not None  # type: ignore[union-attr]
    world.drain_runs(services)
    run = world.follow(ticket["runId"], services)

    assert (run["state"], run["sent"]) == ("completed", count["updates"]), run
    after = received(world, people)
    for person in people:
        assert after[person] - before[person] == Counter(
            {"meetingUpdate": expected[person]} if expected[person] else {}), person
        for event in world.sandbox.calendar(person):
            if expected[person] and "Leading Hybrid Teams" in event["subject"]:
                assert "new edition" in event["subject"], event["subject"]
    assert all(s.reconcile_requested_at is None for s in OfferingStore(world.tables).all().values())
    entries = payload(world.call("audit_trail", request("GET", "audit")))["value"]
    started_entries = [e for e in entries if e["action"] == "rollout.start"]
    assert len(started_entries) == 1
    assert (started_entries[0]["changes"]["updates"], started_entries[0]["changes"]["offerings"]) == (
        count["updates"], 1)

    again = payload(world.call("rollout", request("POST", "rollout", {"dryRun": True}), services))
    assert (again["updates"], again["offerings"], again["runId"]) == (0, 0, None)
    nothing = world.call("rollout", request("POST", "rollout", {}), services)
    assert nothing.status_code == 200 and payload(nothing)["runId"] is None


def test_a_rollout_without_a_feed_says_what_to_set(world: World) -> None:
    response = world.call("rollout", request("POST", "rollout", {"dryRun": True}))

    assert response.status_code == 409, response.get_body()
    assert "LEARNCAL_FEED" in payload(response)["detail"]
    bad = world.call("rollout", request("POST", "rollout", {"dryRun": "yes"}))
    assert bad.status_code == 422 and payload(bad)["errors"][0]["field"] == "dryRun"


def test_a_rollout_whose_writes_are_still_queued_is_not_skipped_by_the_next_run(world: World, tmp_path: Path) -> None:
    feed = base_feed()
    path = tmp_path / "feed.json"
    services = world.services(feed=write(feed, path))
    assert world.sync({}, services)["state"] == "completed"
    people = everyone(feed)
    before = received(world, people)
    changed = offering(feed, "OFF-2002")
    changed["title"] = "Data Privacy Basics, revised"
    write(feed, path)
    expected = holders(changed)

    started = world.call("rollout", request("POST", "rollout", {}), services)
    assert started.status_code == 202, started.get_body()
    world.drain_runs(services, send=False)  # the run planned and queued the updates; no send worker ran yet

    marked = OfferingStore(world.tables).get("OFF-2002")
    assert marked is not None and marked.reconcile_requested_at is not None and not marked.settled
    assert received(world, people) == before
    later = world.sync({}, services)  # a run while the roll-out's writes wait: it plans the offering again

    assert later["state"] == "completed", later
    after = received(world, people)
    for person in people:
        assert after[person] - before[person] == Counter(
            {"meetingUpdate": expected[person]} if expected[person] else {}), person
    state = OfferingStore(world.tables).get("OFF-2002")
    assert state is not None and state.reconcile_requested_at is None and state.settled

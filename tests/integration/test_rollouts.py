"""Large first rollouts to one organizer mailbox: never throttled, every invitation sent once.

learn.microsoft.com/graph/throttling-limits ("Outlook service limits"): four concurrent requests
per app and mailbox, batch sub-requests included, and Graph runs up to four sub-requests of a
batch at once. The sandbox (strict by default) runs batches that way and answers any request
beyond the four with 429 ApplicationThrottled (MailboxConcurrency).
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.convergence import problems
from tests.support.feeds import base_feed
from tests.support.world import World

LEARNERS = 80


def rollout(feed: dict[str, Any], offering_id: str, days_ahead: int) -> list[str]:
    """Adds an offering of one session with LEARNERS learners and one instructor; returns who is invited."""
    template = copy.deepcopy(base_feed()["offerings"][0])
    start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(hour=9, minute=0, second=0, microsecond=0)
    teacher = f"teacher.{offering_id.lower()}@contoso.example"
    learners = [f"{offering_id.lower()}.learner{n:02d}@contoso.example" for n in range(LEARNERS)]
    session = {**template["activities"][0], "id": "ACT-1",
               "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
               "end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
               "instructors": [{"email": teacher, "name": "Teacher", "primary": True}]}
    feed["offerings"].append({**template, "id": offering_id, "activities": [session],
                              "enrollments": [{"learnerEmail": e, "status": "active"} for e in learners]})
    return [teacher, *learners]


def test_two_large_first_rollouts_to_one_mailbox_are_never_throttled(world: World) -> None:
    world.sandbox.configure(faults=[{"status": None, "method": "POST", "path": "/users/*/events", "latency": 0.02}])
    feed: dict[str, Any] = {**base_feed(), "offerings": []}
    first = rollout(feed, "OFF-R1", 20)
    one = world.sync(copy.deepcopy(feed))
    second = rollout(feed, "OFF-R2", 21)
    two = world.sync(feed)

    for run, people in ((one, first), (two, second)):
        assert run.code == 0, run.stderr
        summary = run.summary
        assert (summary["status"], summary["created"], summary["deferred"], summary["errors"]) == (
            "completed", len(people), 0, []), summary
    stats = world.stats()
    assert stats["throttled"] == 0
    assert stats["maxConcurrentPerMailbox"] == 4  # the mailbox's four places were used, never more
    for person in first + second:
        assert world.received(person) == Counter({"meetingRequest": 1}), person
    tags = Counter(e["tag"] for e in world.calendar(world.info["organizer"]))
    assert len(tags) == len(first) + len(second) and set(tags.values()) == {1}
    assert problems(world, feed) == []

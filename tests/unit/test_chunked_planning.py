"""Planning a run chunk by chunk gives exactly the plan of the whole feed, in the planner's order.

The feeds are generated (seeded), with sessions relative to today. The property is
equivalence, so the unchunked planner is the oracle for the actions; the counts of a first
rollout are also checked against the feed itself.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import Activity, Enrollment, Feed, Instructor, InvitationKey, Location, Offering
from shared.planning.chunks import RunPlan, estimated_invitations, merge, offering_chunks, order_key
from shared.planning.desired import desired_state
from shared.planning.plan import SENDING, Action, Cancel, Create, Plan, plan
from shared.planning.sent import SentRecord

NOW = datetime.now(UTC).replace(microsecond=0)
ORGANIZER = "coordinator@contoso.example"
OTHER = "former@contoso.example"  # an earlier organizer whose invitations keep it


def person(index: int) -> str:
    return f"p{index:03d}@contoso.example"


def generated_feed(rng: random.Random, offerings: int) -> Feed:
    items = []
    for number in range(offerings):
        activities = []
        for a in range(rng.randint(1, 4)):
            start = NOW + timedelta(days=rng.randint(-3, 40), hours=rng.randint(0, 23))
            teachers = tuple(Instructor(person(t), f"T{t}", primary=i == 0)
                             for i, t in enumerate(rng.sample(range(40), rng.randint(1, 2))))
            activities.append(Activity(
                id=f"A{a}", title=f"Session {a}", start_local=start.replace(tzinfo=None),
                end_local=(start + timedelta(hours=2)).replace(tzinfo=None), time_zone="UTC",
                start_utc=start, end_utc=start + timedelta(hours=2),
                status=rng.choice(("scheduled",) * 5 + ("cancelled",)),
                location=Location("virtual", "Online", join_url=f"https://meet.example.com/{number}/{a}"),
                instructors=teachers,
            ))
        enrollments = tuple(Enrollment(person(p), rng.choice(("active",) * 6 + ("completed", "withdrawn")))
                            for p in rng.sample(range(40), rng.randint(0, 12)))
        items.append(Offering(id=f"O{number:03d}", title=f"Course {number}",
                              status=rng.choice(("active",) * 8 + ("cancelled",)),
                              activities=tuple(activities), enrollments=enrollments))
    return Feed(tuple(items))


def generated_rows(rng: random.Random, feed: Feed) -> dict[InvitationKey, SentRecord]:
    """Mapping rows as earlier runs may have left them: some current, some stale, some half-done."""
    rows: dict[InvitationKey, SentRecord] = {}
    desired = desired_state(feed, now=NOW)
    for key, invitation in desired.wanted.items():
        if rng.random() < 0.4:
            continue  # never sent
        hashes = invitation.content.hashes()
        if rng.random() < 0.2:
            hashes = {**hashes, "subject": "stale"}
        rows[key] = SentRecord(
            key=key, organizer=rng.choice((ORGANIZER, OTHER)), role=invitation.role,
            state=rng.choice(("live",) * 6 + ("pending", "cancelling", "cancelled")),
            key_fp=invitation.key_fp if rng.random() < 0.8 else "moved", hashes=hashes,
            start_utc=invitation.start_utc, end_utc=invitation.end_utc, event_id=f"ev-{len(rows)}",
        )
    for offering in feed.offerings:  # people no longer wanted
        for activity in offering.activities:
            for p in rng.sample(range(40, 60), rng.randint(0, 3)):
                key = InvitationKey(offering.id, activity.id, person(p))
                rows[key] = SentRecord(key=key, organizer=ORGANIZER, role="learner",
                                       state=rng.choice(("live", "live", "cancelling", "pending")), key_fp="x",
                                       start_utc=activity.start_utc, end_utc=activity.end_utc,
                                       comment="This meeting was cancelled.")
    return rows


def chunked(feed: Feed, rows: dict[InvitationKey, SentRecord], reconcile: frozenset[str],
            limit: int, run_plan: RunPlan | None = None) -> list[Plan]:
    """Plans the feed chunk by chunk, each chunk from its own offerings' rows, as the sync does."""
    parts = []
    for chunk in offering_chunks(feed.offerings, limit=limit):
        ids = {o.id for o in chunk}
        sent = {k: r for k, r in rows.items() if k.offering_id in ids}
        desired = desired_state(Feed(chunk, holds=feed.holds), now=NOW)
        part = plan(desired, sent, organizer=ORGANIZER, reconcile=reconcile, now=NOW)
        if run_plan is not None:
            run_plan.add(part)
        parts.append(part)
    return parts


def lane(action: Action) -> str:
    return action.organizer if isinstance(action, Create) else action.record.organizer


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_chunked_planning_gives_exactly_the_actions_and_counts_of_the_whole_plan(seed: int) -> None:
    rng = random.Random(seed)
    feed = generated_feed(rng, 40)
    rows = generated_rows(rng, feed)
    reconcile = frozenset(o.id for o in feed.offerings if rng.random() < 0.3)
    whole = plan(desired_state(feed, now=NOW), rows, organizer=ORGANIZER, reconcile=reconcile, now=NOW)

    parts = chunked(feed, rows, reconcile, limit=40)
    merged = merge(parts)

    assert len(parts) > 3  # the feed really was split
    assert merged.actions == whole.actions
    assert (merged.unchanged, merged.waiting_for_reconcile, merged.held, merged.left_out, merged.live_before) == (
        whole.unchanged, whole.waiting_for_reconcile, whole.held, whole.left_out, whole.live_before)
    kinds = Counter(type(a).__name__ for a in whole.actions)
    assert {"Create", "Update", "Cancel"} <= set(kinds)  # the generated rows reach every kind of send


@pytest.mark.parametrize("seed", [6, 7])
def test_a_run_keeps_the_head_of_each_organizers_plan_and_counts_the_rest(seed: int) -> None:
    rng = random.Random(seed)
    feed = generated_feed(rng, 40)
    rows = generated_rows(rng, feed)
    whole = plan(desired_state(feed, now=NOW), rows, organizer=ORGANIZER, now=NOW)
    limit = 10
    run_plan = RunPlan(limit=limit, lane=lane)
    chunked(feed, rows, frozenset(), limit=30, run_plan=run_plan)

    sends = [a for a in whole.actions if isinstance(a, SENDING)]
    heads: list[Action] = []
    for organizer in (ORGANIZER, OTHER):
        mine = [a for a in sends if lane(a) == organizer]
        assert len(mine) > limit  # both lanes are cut
        heads += mine[:limit]
    kept = [a for a in run_plan.actions if isinstance(a, SENDING)]
    assert kept == sorted(heads, key=order_key)
    assert run_plan.dropped == len(sends) - 2 * limit
    assert run_plan.dropped_offerings == {a.key.offering_id for a in sends if a not in heads}
    assert run_plan.sends == len(sends)
    assert run_plan.new_cancels == sum(1 for a in sends if isinstance(a, Cancel) and a.record.state != "cancelling")
    assert run_plan.count(Create) == sum(1 for a in sends if isinstance(a, Create))


def test_a_first_rollout_plans_one_invitation_per_person_and_future_session() -> None:
    rng = random.Random(11)
    feed = generated_feed(rng, 60)
    expected = 0  # counted from the feed: every future scheduled session of an active offering
    for offering in feed.offerings:
        if offering.status != "active":
            continue
        for activity in offering.activities:
            if activity.status != "scheduled" or activity.end_utc <= NOW:
                continue
            teachers = {i.email for i in activity.instructors}
            expected += len(teachers) + sum(1 for e in offering.enrollments
                                            if e.status == "active" and e.email not in teachers)
    run_plan = RunPlan(limit=10**6, lane=lane)
    parts = chunked(feed, {}, frozenset(), limit=50, run_plan=run_plan)

    assert expected > 100
    assert run_plan.count(Create) == expected == len(merge(parts).actions)
    assert run_plan.dropped == 0 and len(run_plan.actions) == expected
    starts = [a.start_utc for a in run_plan.actions]
    assert starts == sorted(starts)


def test_chunks_hold_every_offering_once_soonest_first_and_within_the_limit() -> None:
    feed = generated_feed(random.Random(12), 50)
    limit = 60
    chunks = list(offering_chunks(feed.offerings, limit=limit))
    ids = [o.id for chunk in chunks for o in chunk]
    assert sorted(ids) == sorted(o.id for o in feed.offerings)
    for chunk in chunks:
        assert len(chunk) == 1 or sum(map(estimated_invitations, chunk)) <= limit
    soonest = [min(a.start_utc for a in o.activities) for chunk in chunks for o in chunk]
    assert soonest == sorted(soonest)

"""A churning learning feed for the crash test: seeded, with dates relative to today.

Each step changes what a learning system really changes between two syncs: learners withdraw
and come back (often the ones who just withdrew, as when a withdrawal is undone), new
learners enrol, instructors are added, removed or swapped as primary, and sessions move.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, time, timedelta
from typing import Any

from tests.support.shifting import LOCAL, local_text, shifted, today

LEARNERS = tuple(f"crash.learner{i:02d}@contoso.example" for i in range(24))
INSTRUCTORS = tuple(f"crash.trainer{i}@contoso.example" for i in range(5))

# (offering id, title, time zone, [(session title, days ahead, local start, hours)])
SHAPE = (
    ("CR-1", "Crash Course One", "Europe/Berlin", [("Session A", 25, time(9), 2.0), ("Session B", 32, time(9), 2.0)]),
    ("CR-2", "Crash Course Two", "America/New_York",
     [("Session A", 27, time(14), 1.5), ("Session B", 34, time(14), 1.5)]),
    ("CR-3", "Crash Course Three", "Asia/Kolkata", [("Session A", 29, time(10), 2.0)]),
)


def first_feed(rng: random.Random) -> dict[str, Any]:
    offerings = []
    for number, (offering_id, title, zone, sessions) in enumerate(SHAPE):
        activities = []
        for index, (name, days, start, hours) in enumerate(sessions):
            begins = datetime.combine(today() + timedelta(days=days), start)
            trainers = [INSTRUCTORS[(number + index) % len(INSTRUCTORS)], INSTRUCTORS[(number + 2) % len(INSTRUCTORS)]]
            activities.append({
                "id": f"{offering_id}-S{index + 1}", "title": name, "timeZone": zone,
                "start": local_text(begins), "end": local_text(begins + timedelta(hours=hours)),
                "location": {"kind": "virtual", "name": "Online", "joinUrl": f"https://meet.example.com/j/{offering_id}",
                             "hostUrl": f"https://meet.example.com/h/{offering_id}"},
                "instructors": [{"email": trainers[0], "primary": True}, {"email": trainers[1]}][: 1 + index % 2],
            })
        learners = rng.sample(LEARNERS, 9)
        offerings.append({
            "id": offering_id, "title": title, "status": "active", "activities": activities,
            "enrollments": [{"learnerEmail": e, "status": "active"} for e in learners],
        })
    return {"schemaVersion": 1, "source": "crash test", "offerings": offerings}


def churned(previous: dict[str, Any], rng: random.Random, just_withdrawn: set[tuple[str, str]]) -> dict[str, Any]:
    """The next feed; `just_withdrawn` (offering, learner) is updated to this step's withdrawals."""
    feed = copy.deepcopy(previous)
    withdrawn_now: set[tuple[str, str]] = set()
    for offering in feed["offerings"]:
        oid = offering["id"]
        enrollments = offering["enrollments"]
        active = [e for e in enrollments if e["status"] == "active"]
        withdrawn = [e for e in enrollments if e["status"] == "withdrawn"]
        undone = [e for e in withdrawn if (oid, e["learnerEmail"]) in just_withdrawn]
        for entry in rng.sample(undone, (len(undone) + 1) // 2):  # a withdrawal undone
            entry["status"] = "active"
        others = [e for e in withdrawn if e["status"] == "withdrawn"]
        for entry in rng.sample(others, min(len(others), rng.randint(0, 1))):  # re-enrolled later
            entry["status"] = "active"
        for entry in rng.sample(active, min(len(active), rng.randint(1, 3))):
            entry["status"] = "withdrawn"
            withdrawn_now.add((oid, entry["learnerEmail"]))
        enrolled = {e["learnerEmail"] for e in enrollments}
        newcomers = [p for p in LEARNERS if p not in enrolled]
        if newcomers and rng.random() < 0.5:
            enrollments.append({"learnerEmail": rng.choice(newcomers), "status": "active"})
        for activity in offering["activities"]:
            _instructor_change(activity, rng)
            if rng.random() < 0.35:
                _move(activity, rng)
    just_withdrawn.clear()
    just_withdrawn.update(withdrawn_now)
    return feed


def _move(activity: dict[str, Any], rng: random.Random) -> None:
    """Move a session by an hour or two, or a day, keeping it in daytime (far from any DST gap)."""
    moves: list[dict[str, float]] = [{"hours": 1}, {"hours": -1}, {"days": 1}, {"hours": 2}]
    start = datetime.strptime(activity["start"], LOCAL)
    fitting = [m for m in moves if 7 <= (start + timedelta(**m)).hour <= 17]
    delta = rng.choice(fitting)
    activity["start"], activity["end"] = shifted(activity["start"], **delta), shifted(activity["end"], **delta)


def _instructor_change(activity: dict[str, Any], rng: random.Random) -> None:
    instructors: list[dict[str, Any]] = activity["instructors"]
    roll = rng.random()
    present = {i["email"] for i in instructors}
    if roll < 0.2:
        spare = [p for p in INSTRUCTORS if p not in present]
        if spare:
            instructors.append({"email": rng.choice(spare)})
    elif roll < 0.35 and len(instructors) > 1:
        instructors.remove(rng.choice([i for i in instructors if not i.get("primary")] or instructors[1:]))
    elif roll < 0.5 and len(instructors) > 1:
        primary = next((i for i in instructors if i.get("primary")), instructors[0])
        primary["primary"] = False
        rng.choice([i for i in instructors if i is not primary])["primary"] = True


def sequence(seed: int, steps: int) -> list[dict[str, Any]]:
    """`steps` feeds: the first, then each one churned from the one before."""
    rng = random.Random(seed)
    feeds = [first_feed(rng)]
    just_withdrawn: set[tuple[str, str]] = set()
    while len(feeds) < steps:
        feeds.append(churned(feeds[-1], rng, just_withdrawn))
    return feeds


def everyone() -> set[str]:
    return set(LEARNERS) | set(INSTRUCTORS)

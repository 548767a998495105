"""Synthetic learning catalogs for the benchmark, generated fast and deterministically.

Shape (defaults): 2,000 offerings x 5 activities = 10,000 sessions; 50 enrollments per
offering = 100,000 enrollments; one instructor per offering (primary on every activity).
Every enrollment is invited to every activity of its offering, so the catalog wants
2,000 x 5 x (50 + 1) = 510,000 invitations. Learners come from a pool of 20,000 people,
each enrolled in about five offerings, so one person holds about 25 meetings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London", "Australia/Sydney")


@dataclass(frozen=True)
class Shape:
    offerings: int = 2_000
    activities_per_offering: int = 5
    enrollments_per_offering: int = 50
    learner_pool: int = 20_000
    first_start: datetime = field(default_factory=lambda: first_monday_after(date.today() + timedelta(days=28)))

    @property
    def sessions(self) -> int:
        return self.offerings * self.activities_per_offering

    @property
    def enrollments(self) -> int:
        return self.offerings * self.enrollments_per_offering

    @property
    def invitations(self) -> int:
        return self.sessions * (self.enrollments_per_offering + 1)


def first_monday_after(day: date) -> datetime:
    """09:00 on the first Monday from `day`: the catalog lies ahead of whatever today is, so it never expires."""
    return datetime.combine(day + timedelta(days=-day.weekday() % 7), time(9, 0))


def learner(index: int) -> str:
    return f"learner{index:05d}@bench.example"


def instructor(offering: int) -> str:
    return f"instructor{offering % 400:03d}@bench.example"


def offering_id(index: int) -> str:
    return f"OFF-{index:05d}"


def build_offering(shape: Shape, index: int, *, title_suffix: str = "") -> dict[str, Any]:
    """One offering: its activities start on consecutive weekdays, an hour apart per offering."""
    begin = shape.first_start + timedelta(hours=index % 8, days=(index // 8) % 300)
    zone = ZONES[index % len(ZONES)]
    teacher = instructor(index)
    activities = []
    for number in range(shape.activities_per_offering):
        start = begin + timedelta(days=7 * number)
        virtual = number % 2 == 1
        location: dict[str, Any] = (
            {"kind": "virtual", "name": "Online", "joinUrl": f"https://meet.bench.example/j/{index}-{number}",
             "hostUrl": f"https://meet.bench.example/h/{index}-{number}"}
            if virtual else
            {"kind": "classroom", "name": f"Room {index % 40}", "address": f"{index % 90 + 1} Main Street"}
        )
        activities.append({
            "id": f"A{number + 1}", "title": f"Session {number + 1}",
            "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "timeZone": zone,
            "location": location, "instructors": [{"email": teacher, "name": f"Instructor {index % 400}",
                                                   "primary": True}],
        })
    step = shape.learner_pool // shape.enrollments_per_offering or 1
    enrollments = [
        {"learnerEmail": learner((index + k * step) % shape.learner_pool), "status": "active"}
        for k in range(shape.enrollments_per_offering)
    ]
    return {
        "id": offering_id(index), "title": f"Course {index}{title_suffix}", "courseTitle": f"Curriculum {index % 97}",
        "description": "A synthetic offering for the benchmark.", "status": "active",
        "activities": activities, "enrollments": enrollments,
    }


def build_feed(shape: Shape, *, retitled: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The whole catalog; offerings in `retitled` carry a changed title (a non-key change)."""
    return {
        "schemaVersion": 1,
        "source": "bench",
        "offerings": [build_offering(shape, i, title_suffix=" (renamed)" if i in retitled else "")
                      for i in range(shape.offerings)],
    }


def write_feed(feed: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(feed, separators=(",", ":")), encoding="utf-8")
    return path

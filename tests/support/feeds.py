"""Feeds for tests, built in code so each test states exactly the situation it needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support.dates import local

INES = "ines.instructor@contoso.example"
SAM = "sam.second@contoso.example"
PAT = "pat.primary@contoso.example"
ADA = "ada.learner@contoso.example"
BO = "bo.learner@contoso.example"
CY = "cy.learner@contoso.example"
DEE = "dee.learner@contoso.example"

# Dates are written "D+<days>T<time>" (that many days from today); base_feed() fills them in.
BASE: dict[str, Any] = {
    "schemaVersion": 1,
    "source": "tests",
    "offerings": [
        {
            "id": "OFF-1001",
            "title": "Leading Hybrid Teams",
            "courseTitle": "Leadership Essentials",
            "description": "Two half-day workshops.",
            "detailsUrl": "https://learning.example.com/offerings/OFF-1001",
            "status": "active",
            "activities": [
                {
                    "id": "ACT-1",
                    "title": "Workshop 1: Foundations",
                    "start": "D+35T09:00:00",
                    "end": "D+35T12:30:00",
                    "timeZone": "Europe/Berlin",
                    "location": {"kind": "classroom", "name": "Training Room 4.12",
                                 "address": "Friedrichstrasse 100, 10117 Berlin"},
                    "instructors": [
                        {"email": INES, "name": "Ines Instructor", "primary": True},
                        {"email": SAM, "name": "Sam Second"},
                    ],
                },
                {
                    "id": "ACT-2",
                    "title": "Workshop 2: Practice",
                    "start": "D+42T09:00:00",
                    "end": "D+42T12:30:00",
                    "timeZone": "Europe/Berlin",
                    "location": {"kind": "virtual", "name": "Online", "joinUrl": "https://meet.example.com/j/111",
                                 "hostUrl": "https://meet.example.com/h/111"},
                    "instructors": [{"email": INES, "name": "Ines Instructor", "primary": True}],
                },
            ],
            "enrollments": [
                {"learnerEmail": ADA, "learnerName": "Ada Learner", "status": "active"},
                {"learnerEmail": BO, "learnerName": "Bo Learner", "status": "active"},
                {"learnerEmail": CY, "learnerName": "Cy Learner", "status": "withdrawn"},
            ],
        },
        {
            "id": "OFF-2002",
            "title": "Data Privacy Basics",
            "status": "active",
            "activities": [
                {
                    "id": "ACT-9",
                    "title": "Data Privacy Basics",
                    "start": "D+20T14:00:00",
                    "end": "D+20T15:30:00",
                    "timeZone": "America/New_York",
                    "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/999"},
                    "instructors": [{"email": PAT, "name": "Pat Primary", "primary": True}],
                }
            ],
            "enrollments": [
                {"learnerEmail": "Ada.Learner@contoso.example", "status": "active"},
                {"learnerEmail": DEE, "status": "active"},
            ],
        },
    ],
}


_RELATIVE = re.compile(r"^D\+(\d+)T(\d\d:\d\d):00$")


def dated(value: Any) -> Any:
    """A copy with every "D+<days>T<hh:mm>:00" made the local time that many days from today."""
    if isinstance(value, dict):
        return {k: dated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dated(v) for v in value]
    if isinstance(value, str) and (match := _RELATIVE.match(value)):
        return local(int(match.group(1)), match.group(2))
    return value


def base_feed() -> dict[str, Any]:
    """BASE with its dates counted from today: ACT-9 in 20 days, ACT-1 in 35, ACT-2 a week after ACT-1."""
    return dict(dated(BASE))


def offering(feed: dict[str, Any], offering_id: str) -> dict[str, Any]:
    return next(o for o in feed["offerings"] if o["id"] == offering_id)


def activity(feed: dict[str, Any], offering_id: str, activity_id: str) -> dict[str, Any]:
    return next(a for a in offering(feed, offering_id)["activities"] if a["id"] == activity_id)


def enrollment(feed: dict[str, Any], offering_id: str, email: str) -> dict[str, Any]:
    return next(e for e in offering(feed, offering_id)["enrollments"] if e["learnerEmail"].lower() == email.lower())


def write(feed: dict[str, Any], path: Path) -> str:
    path.write_text(json.dumps(feed), encoding="utf-8")
    return str(path)

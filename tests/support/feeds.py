"""Feeds for tests, built in code so each test states exactly the situation it needs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

INES = "ines.instructor@contoso.example"
SAM = "sam.second@contoso.example"
PAT = "pat.primary@contoso.example"
ADA = "ada.learner@contoso.example"
BO = "bo.learner@contoso.example"
CY = "cy.learner@contoso.example"
DEE = "dee.learner@contoso.example"

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
                    "start": "2027-03-02T09:00:00",
                    "end": "2027-03-02T12:30:00",
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
                    "start": "2027-03-09T09:00:00",
                    "end": "2027-03-09T12:30:00",
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
                    "start": "2027-02-15T14:00:00",
                    "end": "2027-02-15T15:30:00",
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


def base_feed() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def offering(feed: dict[str, Any], offering_id: str) -> dict[str, Any]:
    return next(o for o in feed["offerings"] if o["id"] == offering_id)


def activity(feed: dict[str, Any], offering_id: str, activity_id: str) -> dict[str, Any]:
    return next(a for a in offering(feed, offering_id)["activities"] if a["id"] == activity_id)


def enrollment(feed: dict[str, Any], offering_id: str, email: str) -> dict[str, Any]:
    return next(e for e in offering(feed, offering_id)["enrollments"] if e["learnerEmail"].lower() == email.lower())


def write(feed: dict[str, Any], path: Path) -> str:
    path.write_text(json.dumps(feed), encoding="utf-8")
    return str(path)

"""The shipped Oracle Learning mapping reads an export shaped as the documented report.

The sample (tests/support/oracle_learning.py) is written from the report's columns in
docs/sources/oracle-learning.md; the expected offerings below are written from the sample by
hand (UTC instants through zoneinfo), never by the product's reader or writer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.errors import FeedUnreadable
from shared.feed.csvfeed import load_mapping
from shared.feed.csvfeed.mapping import APP_ROOT, CsvMapping
from shared.feed.reader import parse_feed
from tests.support import oracle_learning as sample
from tests.support.dates import today

MAPPING = "shared/feed/csvfeed/mappings/oracle-learning.toml"


@pytest.fixture(scope="module")
def mapping() -> CsvMapping:
    return load_mapping(MAPPING)


def wall(s: sample.Session, clock: str) -> datetime:
    day = today() + timedelta(days=s.days)
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute)


def utc(s: sample.Session, clock: str) -> datetime:
    return wall(s, clock).replace(tzinfo=ZoneInfo(s.zone)).astimezone(UTC)


def summary(feed: Any) -> dict[str, Any]:
    """Offerings as plain values, order-free, for comparison with the expected ones."""
    return {
        o.id: {
            "title": o.title,
            "status": o.status,
            "course": o.course_title,
            "description": o.description,
            "activities": {
                a.id: {
                    "title": a.title,
                    "description": a.description,
                    "local": (a.start_local, a.end_local, a.time_zone),
                    "utc": (a.start_utc, a.end_utc),
                    "location": (a.location.kind, a.location.name, a.location.join_url),
                    "instructors": {(i.email, i.name, i.primary) for i in a.instructors},
                }
                for a in o.activities
            },
            "enrollments": {e.email: (e.status, e.name) for e in o.enrollments},
        }
        for o in feed.offerings
    }


def expected() -> dict[str, Any]:
    def activity(s: sample.Session, location: tuple[str, str | None, str | None], instructor: tuple[str, str],
                 description: str | None = None) -> dict[str, Any]:
        return {
            "title": s.title,
            "description": description,
            "local": (wall(s, s.start), wall(s, s.end), s.zone),
            "utc": (utc(s, s.start), utc(s, s.end)),
            "location": location,
            "instructors": {(instructor[0], instructor[1], True)},
        }

    ines = ("ines.instructor@contoso.example", "Ines Instructor")
    return {
        "OLC-OFF-1001": {
            "title": "Leading Hybrid Teams (Spring)",
            "status": "active",
            "course": "Leading Hybrid Teams",
            "description": 'Two sessions, "hands on"; bring a laptop,\nand a charger.',
            "activities": {
                "OLC-ACT-2001": activity(
                    sample.KICKOFF, ("virtual", None, "https://meet.contoso.example/j/2001"), ines
                ),
                "OLC-ACT-2002": activity(sample.PRACTICE, ("classroom", "Room 4.12, Building B", None), ines,
                                         "Case work in small groups."),
            },
            "enrollments": {
                "ada.learner@contoso.example": ("active", "Ada Learner"),
                "bo.learner@contoso.example": ("completed", "Bo Learner"),
                "cy.learner@contoso.example": ("withdrawn", "Cy Learner"),
            },
        },
        "OLC-OFF-1002": {
            "title": "Site Safety Briefing",
            "status": "active",
            "course": "Site Safety",
            "description": None,
            "activities": {
                "OLC-ACT-3001": activity(sample.BRIEFING, ("none", None, None),
                                         ("omar.coach@contoso.example", "Omar Coach")),
            },
            "enrollments": {
                "dee.learner@contoso.example": ("active", "Dee Learner"),
                "eve.learner@contoso.example": ("cancelled", "Eve Learner"),
            },
        },
        "OLC-OFF-1003": {
            "title": "Retired Course Run",
            "status": "cancelled",
            "course": "Retired Course",
            "description": None,
            "activities": {},  # filled below: the cancelled run still lists its activity, without instructors
            "enrollments": {"ada.learner@contoso.example": ("active", "Ada Learner")},
        },
    }


def test_the_mapping_reads_the_sample_export_into_the_expected_offerings(mapping: CsvMapping) -> None:
    data = sample.export()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n#END,rows=12," in data  # shaped as documented
    feed = parse_feed(data, csv_mapping=mapping, name="learncal_oracle_feed.csv")
    assert feed.rejections == ()
    got = summary(feed)
    want = expected()
    retired = sample.LAST_RUN
    want["OLC-OFF-1003"]["activities"] = {
        retired.number: {
            "title": retired.title,
            "description": None,
            "local": (wall(retired, retired.start), wall(retired, retired.end), retired.zone),
            "utc": (utc(retired, retired.start), utc(retired, retired.end)),
            "location": ("classroom", "Training Room 1", None),
            "instructors": set(),
        }
    }
    assert got == want


def test_the_sample_dates_are_relative_to_today() -> None:
    first = sample.rows()[0]
    start = datetime.strptime(first[sample.HEADER.index("ACTIVITY_START")], "%d-%b-%Y %H:%M")
    assert start.date() == today() + timedelta(days=sample.KICKOFF.days)


def test_a_cut_short_export_is_refused(mapping: CsvMapping) -> None:
    data = sample.export()
    cut = data[: data.index(b"OLC-OFF-1002")]  # a delivery that stopped half-way
    with pytest.raises(FeedUnreadable, match="trailer"):
        parse_feed(cut, csv_mapping=mapping, name="learncal_oracle_feed.csv")


def test_an_unknown_oracle_status_is_rejected_and_held_not_guessed(mapping: CsvMapping) -> None:
    data_rows = sample.rows()
    status = sample.HEADER.index("ENROLLMENT_STATUS")
    data_rows[1][status] = "ORA_ASSN_REC_WAITLISTED"  # a status the mapping does not name
    data_rows[5][status] = "ORA_ASSN_REC_WAITLISTED"  # the same learner under the second activity
    feed = parse_feed(sample.export(data_rows), csv_mapping=mapping, name="learncal_oracle_feed.csv")
    (rejection,) = feed.rejections
    assert rejection.path == "row 3, column ENROLLMENT_STATUS"  # the export's own header, the spreadsheet row
    assert "ORA_ASSN_REC_WAITLISTED" in rejection.reason
    assert {(h.offering_id, h.activity_id, h.email) for h in feed.holds} == {
        ("OLC-OFF-1001", None, "ada.learner@contoso.example")
    }
    offering = next(o for o in feed.offerings if o.id == "OLC-OFF-1001")
    assert "ada.learner@contoso.example" not in {e.email for e in offering.enrollments}


def test_the_mapping_ships_with_the_package() -> None:
    path = APP_ROOT / MAPPING
    assert path.is_file()
    text = (APP_ROOT / "pyproject.toml").read_text()
    assert '"shared.feed.csvfeed" = ["mappings/*.toml"]' in text
    assert "shared/feed/csvfeed/mappings" not in (APP_ROOT / ".funcignore").read_text()
    assert Path(MAPPING).suffix == ".toml"


GUIDE = APP_ROOT / "docs" / "sources" / "oracle-learning.md"


def _guide_sql() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    (sql,) = re.findall(r"```sql\n(.*?)```", text, re.S)
    return sql


def test_the_guide_query_produces_every_column_the_mapping_reads(mapping: CsvMapping) -> None:
    sql = _guide_sql().upper()
    mapped = {header for header in mapping.headers.values() if header.isupper()}
    for header in mapped:  # an alias, or a view column selected under its own name
        assert re.search(rf"\b{header}\b", sql), f"the mapping reads {header}, which the guide's query does not produce"
    assert set(sample.HEADER) - {"SORT_KEY"} == mapped  # the sample has exactly the report's columns


def test_every_oracle_object_in_the_query_is_cited() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    objects = set(re.findall(r"\b((?:wlf|per)_[a-z_]+)\b", _guide_sql()))
    assert {"wlf_learning_items_f_vl", "wlf_ci_activity_details_v", "wlf_assignment_records_f"} <= objects
    for name in objects:
        cited = re.search(rf"\[{name.upper()}\]\(https://docs\.oracle\.com/[^)]+\)", text)
        assert cited, f"{name.upper()} is used but not cited with its docs.oracle.com page"
    assert "What could not be verified without an Oracle environment" in text

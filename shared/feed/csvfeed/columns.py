"""The CSV feed's columns: one list that the reader, the documentation and the tests agree on.

Each column names where its value goes in the JSON feed's structure, so a row can be turned
into the very items the JSON reader judges (see `rows.py`). The names are snake_case, as most
learning systems' report writers produce them; a mapping file can rename any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["offering", "session", "location", "person"]


@dataclass(frozen=True)
class Column:
    name: str
    level: Level
    key: str  # the JSON feed's property this column fills (for people: see `rows.py`)
    date: bool = False  # read with the mapping's date formats


COLUMNS: tuple[Column, ...] = (
    Column("offering_id", "offering", "id"),
    Column("offering_title", "offering", "title"),
    Column("offering_status", "offering", "status"),
    Column("course_title", "offering", "courseTitle"),
    Column("offering_description", "offering", "description"),
    Column("offering_details_url", "offering", "detailsUrl"),
    Column("offering_language", "offering", "language"),
    Column("session_id", "session", "id"),
    Column("session_title", "session", "title"),
    Column("session_status", "session", "status"),
    Column("session_start", "session", "start", date=True),
    Column("session_end", "session", "end", date=True),
    Column("time_zone", "session", "timeZone"),
    Column("session_description", "session", "description"),
    Column("session_details_url", "session", "detailsUrl"),
    Column("location_kind", "location", "kind"),
    Column("location_name", "location", "name"),
    Column("location_address", "location", "address"),
    Column("join_url", "location", "joinUrl"),
    Column("host_url", "location", "hostUrl"),
    Column("person_email", "person", "email"),
    Column("person_name", "person", "name"),
    Column("role", "person", "role"),
    Column("enrollment_status", "person", "status"),
    Column("enrollment_id", "person", "enrollmentId"),
    Column("person_language", "person", "language"),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
ROLES: tuple[str, ...] = ("learner", "primaryInstructor", "instructor")
TRAILER_MARKER = "#END"

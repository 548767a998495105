"""A JSON feed written as the CSV format: to show a learning system's team what to export.

Learners are listed under every session, as most exports do; the file ends with its
trailer. Only a well-formed JSON feed can be written: this is a tool for producers, not a
reader, so it refuses what it cannot place instead of guessing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from shared.errors import FeedUnreadable
from shared.feed.csvfeed.columns import COLUMNS, NAMES, TRAILER_MARKER

Row = dict[str, str]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _columns(item: Mapping[str, Any], *levels: str) -> Row:
    row: Row = {}
    for column in COLUMNS:
        if column.level in levels:
            source = (item.get("location") or {}) if column.level == "location" else item
            row[column.name] = _text(source.get(column.key))
    return row


def feed_rows(document: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    offerings = document.get("offerings")
    if not isinstance(offerings, list) or not all(isinstance(o, dict) for o in offerings):
        raise FeedUnreadable("Only a JSON feed with an offerings list of objects can be written as CSV")
    for offering in offerings:
        base = _columns(offering, "offering")
        learners = [
            {"person_email": _text(e.get("learnerEmail")), "person_name": _text(e.get("learnerName")),
             "role": "learner", "enrollment_status": _text(e.get("status")),
             "person_language": _text(e.get("language"))}
            for e in offering.get("enrollments") or [] if isinstance(e, dict)
        ]
        sessions = [a for a in offering.get("activities") or [] if isinstance(a, dict)]
        for activity in sessions:
            session = _columns(activity, "session", "location")
            instructors = [
                {"person_email": _text(i.get("email")), "person_name": _text(i.get("name")),
                 "role": "primaryInstructor" if i.get("primary") is True else "instructor",
                 "person_language": _text(i.get("language"))}
                for i in activity.get("instructors") or [] if isinstance(i, dict)
            ]
            rows += [{**base, **session, **person} for person in (instructors + learners) or [{}]]
        if not sessions:
            rows += [{**base, **person} for person in learners or [{}]]
    return rows


def feed_as_csv(document: Mapping[str, Any], *, delimiter: str = ",") -> str:
    rows = feed_rows(document)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(NAMES)
    writer.writerows([row.get(name, "") for name in NAMES] for row in rows)
    writer.writerow([TRAILER_MARKER, f"rows={len(rows)}"])
    return out.getvalue()


def json_feed_as_csv(data: bytes, *, delimiter: str = ",") -> str:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedUnreadable(f"Only a JSON feed can be written as CSV, and this is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise FeedUnreadable("Only a JSON feed (an object with an offerings list) can be written as CSV")
    return feed_as_csv(document, delimiter=delimiter)

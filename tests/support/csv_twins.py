"""CSV twins of JSON feeds, written from the documented column list (docs/feed-csv.md) alone.

Kept apart from the product's CSV code on purpose: a twin is the oracle's input, so a
mistake in the reader's column table cannot be repeated here and hide itself.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from datetime import date, datetime, timedelta
from typing import Any

HEADER = [
    "offering_id", "offering_title", "offering_status", "course_title", "offering_description",
    "offering_details_url", "session_id", "session_title", "session_status", "session_start", "session_end",
    "time_zone", "session_description", "session_details_url", "location_kind", "location_name",
    "location_address", "join_url", "host_url", "person_email", "person_name", "role", "enrollment_status",
    "enrollment_id", "offering_language", "person_language",
]
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:\d{2})?$")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def rows_of(feed: dict[str, Any]) -> list[dict[str, str]]:
    """One row per session and person, learners repeated under every session, as exports do."""
    rows: list[dict[str, str]] = []
    for offering in feed["offerings"]:
        base = {
            "offering_id": _text(offering.get("id")), "offering_title": _text(offering.get("title")),
            "offering_status": _text(offering.get("status")), "course_title": _text(offering.get("courseTitle")),
            "offering_description": _text(offering.get("description")),
            "offering_details_url": _text(offering.get("detailsUrl")),
            "offering_language": _text(offering.get("language")),
        }
        sessions = []
        for activity in offering.get("activities", []):
            where = activity.get("location") or {}
            sessions.append((activity, {
                "session_id": _text(activity.get("id")), "session_title": _text(activity.get("title")),
                "session_status": _text(activity.get("status")), "session_start": _text(activity.get("start")),
                "session_end": _text(activity.get("end")), "time_zone": _text(activity.get("timeZone")),
                "session_description": _text(activity.get("description")),
                "session_details_url": _text(activity.get("detailsUrl")),
                "location_kind": _text(where.get("kind")), "location_name": _text(where.get("name")),
                "location_address": _text(where.get("address")), "join_url": _text(where.get("joinUrl")),
                "host_url": _text(where.get("hostUrl")),
            }))
        learners = [
            {"person_email": _text(e.get("learnerEmail")), "person_name": _text(e.get("learnerName")),
             "role": "learner", "enrollment_status": _text(e.get("status")), "enrollment_id": f"E-{n}",
             "person_language": _text(e.get("language"))}
            for n, e in enumerate(offering.get("enrollments", []), start=1)
        ]
        for activity, session in sessions:
            people = [
                {"person_email": _text(i.get("email")), "person_name": _text(i.get("name")),
                 "role": "primaryInstructor" if i.get("primary") else "instructor",
                 "person_language": _text(i.get("language"))}
                for i in activity.get("instructors", [])
            ] + learners
            for person in people or [{}]:
                rows.append({**base, **session, **person})
        if not sessions:
            for person in learners or [{}]:
                rows.append({**base, **person})
    return rows


def csv_text(feed: dict[str, Any], *, delimiter: str = ",", rows: list[dict[str, str]] | None = None,
             trailer: bool = True) -> str:
    rows = rows_of(feed) if rows is None else rows
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(name, "") for name in HEADER])
    if trailer:
        writer.writerow(["#END", f"rows={len(rows)}"])
    return out.getvalue()


def excel_unicode_text(feed: dict[str, Any]) -> bytes:
    """Excel's "Unicode Text (*.txt)": UTF-16 little-endian with a byte-order mark, tab-separated."""
    return codecs.BOM_UTF16_LE + csv_text(feed, delimiter="\t").encode("utf-16-le")


def shift_of(feed: dict[str, Any], today: date | None = None) -> timedelta:
    """Whole weeks that move the feed's earliest session to three or four weeks from today.

    Whole weeks keep each session's weekday; dates that are not real (kept on purpose in some
    examples) are left out of the reckoning and left as they are.
    """
    today = today or date.today()
    found: list[datetime] = []
    for offering in feed["offerings"]:
        for activity in offering.get("activities", []) if isinstance(offering, dict) else []:
            for key in ("start", "end"):
                value = activity.get(key) if isinstance(activity, dict) else None
                if isinstance(value, str) and _LOCAL.match(value):
                    with contextlib.suppress(ValueError):  # a date that is not real, kept on purpose
                        found.append(datetime.fromisoformat(value))
    if not found:
        return timedelta(0)
    return timedelta(weeks=(today + timedelta(days=21) - min(found).date()).days // 7 + 1)


def shifted(feed: dict[str, Any], by: timedelta | None = None) -> dict[str, Any]:
    """The feed with every session moved by `by`, else by its own `shift_of`."""
    return dict(_moved(feed, shift_of(feed) if by is None else by))


def _moved(value: Any, by: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: (_shift_text(v, by) if k in ("start", "end") else _moved(v, by)) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, by) for v in value]
    return value


def _shift_text(value: Any, by: timedelta) -> Any:
    if not isinstance(value, str) or not _LOCAL.match(value):
        return value
    try:
        moved = datetime.fromisoformat(value) + by
    except ValueError:
        return value
    return moved.isoformat(timespec="seconds" if _LOCAL.match(value).group(6) else "minutes")  # type: ignore[union-attr]


# An export shaped like an Oracle-style report: its own headers, words and dates.
ORACLE_LIKE_MAPPING = """
[columns]
offering_id = "OFFERING_NUMBER"
offering_title = "OFFERING_NAME"
offering_status = "OFFERING_STATUS"
course_title = "COURSE_NAME"
offering_description = "OFFERING_DESC"
offering_details_url = "OFFERING_URL"
session_id = "SESSION_NUMBER"
session_title = "SESSION_NAME"
session_status = "SESSION_STATUS"
session_start = "START_DATE"
session_end = "END_DATE"
time_zone = "TIMEZONE_CODE"
session_description = "SESSION_DESC"
session_details_url = "SESSION_URL"
location_kind = "DELIVERY_MODE"
location_name = "LOCATION_NAME"
location_address = "LOCATION_ADDRESS"
join_url = "JOIN_URL"
host_url = "HOST_URL"
person_email = "EMAIL_ADDRESS"
person_name = "PERSON_NAME"
role = "PERSON_ROLE"
enrollment_status = "ENROLLMENT_STATUS"
enrollment_id = "ENROLLMENT_NUMBER"

[dates]
formats = ["%d-%b-%Y %H:%M"]

[values.role]
"Learner" = "learner"
"Lead Instructor" = "primaryInstructor"
"Instructor" = "instructor"

[values.enrollment_status]
"ENROLLED" = "active"
"WITHDRAWN" = "withdrawn"

[values.location_kind]
"In Person" = "classroom"
"Online" = "virtual"

[file]
delimiter = "|"
"""

_ORACLE_WORDS = {
    "role": {"learner": "Learner", "primaryInstructor": "Lead Instructor", "instructor": "Instructor"},
    "enrollment_status": {"active": "Enrolled", "withdrawn": "Withdrawn"},
    "location_kind": {"classroom": "In Person", "virtual": "Online"},
}


def oracle_like_export(doc: dict[str, Any], headers: dict[str, str]) -> str:
    """The twin as a report writer with its own headers, words and DD-MON-YYYY dates, pipe-separated."""
    rows = []
    for row in rows_of(doc):
        out = {headers[k]: _ORACLE_WORDS.get(k, {}).get(v, v) for k, v in row.items()}
        for key in ("session_start", "session_end"):
            if row.get(key):
                out[headers[key]] = datetime.fromisoformat(row[key]).strftime("%d-%b-%Y %H:%M").upper()
        rows.append(out)
    lines = ["|".join(headers[h] for h in HEADER)]
    lines += ["|".join(r.get(headers[h], "") for h in HEADER) for r in rows]
    return "\n".join([*lines, f"#END|rows={len(rows)}", ""])

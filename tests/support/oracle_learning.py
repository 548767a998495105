"""A sample export shaped as the Oracle Learning report of docs/sources/oracle-learning.md.

Written out by hand from the report's documented columns, not by the product's CSV writer:
BI Publisher's CSV output with the report's column aliases as header, Oracle's words
(ACTIVE, ORA_ASSN_REC_WITHDRAWN, PRIMARY_INSTRUCTOR, ...), dates as the report's
TO_CHAR(..., 'DD-MON-YYYY') and HH24:MI print them, a UTF-8 byte-order mark, CRLF line ends,
quoted cells where a value holds a comma, a quote or a line break, the extra SORT_KEY column,
and the trailer row last. Dates count from today, so the sample never goes stale.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import date, timedelta

from tests.support.dates import today

HEADER = (
    "OFFERING_NUMBER", "OFFERING_TITLE", "OFFERING_STATUS", "COURSE_TITLE", "OFFERING_DESCRIPTION",
    "ACTIVITY_NUMBER", "ACTIVITY_TITLE", "ACTIVITY_DESCRIPTION", "ACTIVITY_START", "ACTIVITY_END",
    "ACTIVITY_TIME_ZONE", "LOCATION_TYPE", "CLASSROOM_NAME", "JOIN_URL", "EMAIL_ADDRESS", "PERSON_NAME",
    "PERSON_ROLE", "ENROLLMENT_STATUS", "ASSIGNMENT_RECORD_NUMBER", "SORT_KEY",
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class Session:
    """One offering activity as the report prints it."""

    number: str
    title: str
    days: int  # from today
    start: str  # HH:MM
    end: str
    zone: str
    location_type: str
    classroom: str = ""
    join_url: str = ""
    description: str = ""


def oracle_date(day: date, clock: str) -> str:
    """`TO_CHAR(date, 'DD-MON-YYYY') || ' ' || time`, as Oracle prints it (English month, capitals)."""
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year} {clock}"


def _cell(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# The sample: three offerings as Oracle Learning would hold them.
HYBRID = ("OLC-OFF-1001", "Leading Hybrid Teams (Spring)", "ACTIVE", "Leading Hybrid Teams",
          'Two sessions, "hands on"; bring a laptop,\nand a charger.')
KICKOFF = Session("OLC-ACT-2001", "Kick-off workshop", 10, "09:00", "12:30", "Europe/Berlin", "VIRTUAL",
                  join_url="https://meet.contoso.example/j/2001")
PRACTICE = Session("OLC-ACT-2002", "Practice, in person", 17, "14:00", "16:00", "Europe/Berlin", "CLASSROOM",
                   classroom="Room 4.12, Building B", description="Case work in small groups.")
SAFETY = ("OLC-OFF-1002", "Site Safety Briefing", "ACTIVE", "Site Safety", "")
BRIEFING = Session("OLC-ACT-3001", "Briefing", 24, "08:30", "09:15", "America/New_York", "NONE")
RETIRED = ("OLC-OFF-1003", "Retired Course Run", "CANCELLED", "Retired Course", "")
LAST_RUN = Session("OLC-ACT-4001", "Last run", 31, "10:00", "11:00", "Europe/London", "CLASSROOM",
                   classroom="Training Room 1")


def rows() -> list[list[str]]:
    """The data rows: instructors first, then each learner under every activity (as the report joins them)."""
    out: list[list[str]] = []

    def row(offering: tuple[str, str, str, str, str], s: Session, email: str, name: str, role: str,
            status: str = "", record: str = "") -> None:
        day = today() + timedelta(days=s.days)
        out.append([
            *offering, s.number, s.title, s.description, oracle_date(day, s.start), oracle_date(day, s.end), s.zone,
            s.location_type, s.classroom, s.join_url, email, name, role, status, record, str(len(out) + 1),
        ])

    for s in (KICKOFF, PRACTICE):
        row(HYBRID, s, "Ines.Instructor@contoso.example", "Ines Instructor", "PRIMARY_INSTRUCTOR")
        row(HYBRID, s, "ada.learner@contoso.example", "Ada Learner", "LEARNER", "ORA_ASSN_REC_ACTIVE", "OLC-AR-1")
        row(HYBRID, s, "bo.learner@contoso.example", "Bo Learner", "LEARNER", "COMPLETED", "OLC-AR-2")
        row(HYBRID, s, "cy.learner@contoso.example", "Cy Learner", "LEARNER", "ORA_ASSN_REC_WITHDRAWN", "OLC-AR-3")
    row(SAFETY, BRIEFING, "omar.coach@contoso.example", "Omar Coach", "PRIMARY_INSTRUCTOR")
    row(SAFETY, BRIEFING, "dee.learner@contoso.example", "Dee Learner", "LEARNER", "ACTIVE", "OLC-AR-4")
    row(SAFETY, BRIEFING, "eve.learner@contoso.example", "Eve Learner", "LEARNER", "DELETED", "OLC-AR-5")
    row(RETIRED, LAST_RUN, "ada.learner@contoso.example", "Ada Learner", "LEARNER", "ACTIVE", "OLC-AR-6")
    return out


def export(data_rows: list[list[str]] | None = None) -> bytes:
    """The report's CSV output: byte-order mark, header, rows, and the trailer with empty cells after it."""
    data_rows = rows() if data_rows is None else data_rows
    lines = [",".join(HEADER)]
    lines += [",".join(_cell(v) for v in r) for r in data_rows]
    lines.append(",".join(["#END", f"rows={len(data_rows)}"] + [""] * (len(HEADER) - 2)))
    return codecs.BOM_UTF8 + ("\r\n".join(lines) + "\r\n").encode("utf-8")

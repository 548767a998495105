"""One offering, activity or enrollment at a time: from raw JSON to a domain value, or to reasons.

Each item is judged on its own so that one bad row costs only itself. Beyond the schema's
own constraints, an activity must name a time zone Outlook can show and times that exist in
it, and end after it starts; these need the parsed values, so they run after the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.domain import Activity, Enrollment, Instructor, Location, Offering, Rejection
from shared.feed.formats import unstorable_character
from shared.feed.messages import join_path, rejections
from shared.feed.models import ActivityEntry, EnrollmentEntry, OfferingEntry
from shared.timezones import TimeZoneError, graph_time_zone, to_utc

M = TypeVar("M", bound=BaseModel)
Problems = list[Rejection]


def _validated(model: type[M], raw: Any, path: str) -> tuple[M | None, Problems]:
    """The model's verdict plus the storable-text check, which the schema cannot express."""
    try:
        entry = model.model_validate(raw)
    except ValidationError as exc:
        return None, list(rejections(exc, path))
    problems = list(_unstorable_text(entry.model_dump(by_alias=True, exclude_none=True), path))
    return (None, problems) if problems else (entry, [])


def _unstorable_text(value: Any, path: str) -> Iterator[Rejection]:
    if isinstance(value, str):
        bad = unstorable_character(value)
        if bad:
            yield Rejection(path, f"contains the character {bad}, which calendars cannot store")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable_text(item, join_path(path, [key]))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_text(item, join_path(path, [index]))


def read_offering_fields(raw: Any, path: str) -> tuple[OfferingEntry | None, Problems]:
    """The offering's own fields; its activities and enrollments are judged one by one later."""
    if isinstance(raw, dict):
        raw = {k: ([] if k in ("activities", "enrollments") and isinstance(v, list) else v) for k, v in raw.items()}
    return _validated(OfferingEntry, raw, path)


def to_offering(entry: OfferingEntry, activities: list[Activity], enrollments: list[Enrollment]) -> Offering:
    return Offering(
        id=entry.id,
        title=entry.title,
        status=entry.status,
        activities=tuple(activities),
        enrollments=tuple(enrollments),
        course_title=entry.course_title,
        description=entry.description,
        details_url=entry.details_url,
        language=entry.language,
    )


def read_enrollment(raw: Any, path: str) -> tuple[Enrollment | None, Problems]:
    entry, problems = _validated(EnrollmentEntry, raw, path)
    if entry is None:
        return None, problems
    return Enrollment(email=entry.learner_email.lower(), status=entry.status, name=entry.learner_name,
                      language=entry.language), []


def read_activity(raw: Any, path: str) -> tuple[Activity | None, Problems]:
    """Also checks the time zone here, so planning can always send the zone to Graph without a failure."""
    entry, problems = _validated(ActivityEntry, raw, path)
    if entry is None:
        return None, problems
    try:
        graph_time_zone(entry.time_zone)
    except TimeZoneError as exc:
        return None, [Rejection(f"{path}.timeZone", str(exc))]
    start_utc = _instant(entry.start, entry.time_zone, f"{path}.start", problems)
    end_utc = _instant(entry.end, entry.time_zone, f"{path}.end", problems)
    if start_utc is None or end_utc is None:
        return None, problems
    if end_utc <= start_utc:
        return None, [
            Rejection(
                f"{path}.end",
                f"the activity ends ({_wall(entry.end)}) before or when it starts ({_wall(entry.start)}); "
                "the end must be later than the start",
            )
        ]
    return _to_activity(entry, start_utc, end_utc), []


def _instant(local: datetime, zone: str, path: str, problems: Problems) -> datetime | None:
    try:
        return to_utc(local, zone)
    except TimeZoneError as exc:
        problems.append(Rejection(path, str(exc)))
        return None


def _wall(local: datetime) -> str:
    return local.isoformat(timespec="minutes" if local.second == 0 else "seconds")


def _to_activity(entry: ActivityEntry, start_utc: datetime, end_utc: datetime) -> Activity:
    where = entry.location
    location = (
        Location(kind=where.kind, name=where.name, address=where.address, join_url=where.join_url,
                 host_url=where.host_url)
        if where is not None
        else Location()
    )
    return Activity(
        id=entry.id,
        title=entry.title,
        start_local=entry.start,
        end_local=entry.end,
        time_zone=entry.time_zone,
        start_utc=start_utc,
        end_utc=end_utc,
        status=entry.status,
        description=entry.description,
        details_url=entry.details_url,
        location=location,
        instructors=tuple(Instructor(email=i.email.lower(), name=i.name, primary=i.primary, language=i.language)
                          for i in entry.instructors),
    )

"""The values a template receives, per role: everything the feed says about the session, within the link rules.

The link rules are the product's (see `shared/planning/content.py`, `template_role`): a learner's
template never receives the host link, the primary instructor's receives the host link and
the join link, another instructor's receives no link at all. A placeholder a role does not
receive is unknown to that role's template: it is refused when the template is saved.

Dates and times are formatted by Babel from CLDR data in the invitation's language and the
session's own time zone, never assembled by hand. Only the values a template uses are
computed: formatting dates costs far more than the rest, and the English built-in body does
not show them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain import Activity, Offering
from shared.templates.languages import babel_locale
from shared.templates.model import TEMPLATE_ROLES


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str
    roles: tuple[str, ...] = TEMPLATE_ROLES


PLACEHOLDERS: tuple[Placeholder, ...] = (
    Placeholder("offering_title", "the offering's title"),
    Placeholder("course_title", "the course's title, or none"),
    Placeholder("offering_description", "the offering's description (plain text; `|paragraphs` makes paragraphs)"),
    Placeholder("session_title", "the session's (activity's) title"),
    Placeholder("session_description", "the session's description, or none"),
    Placeholder("start", "start date and time, e.g. \"Tuesday, March 2, 2027 at 9:00 AM\""),
    Placeholder("end", "end date and time"),
    Placeholder("start_date", "start date, e.g. \"Tuesday, March 2, 2027\""),
    Placeholder("start_time", "start time, e.g. \"9:00 AM\" or \"09:00\""),
    Placeholder("end_date", "end date"),
    Placeholder("end_time", "end time"),
    Placeholder("ends_same_day", "true when the session ends on the day it starts (in its time zone)"),
    Placeholder("time_zone", "the session's IANA time zone, e.g. Europe/Berlin"),
    Placeholder("time_zone_name", "the zone's name in the language, e.g. \"Central European Summer Time\""),
    Placeholder("location", "where, as the meeting's location shows it (a room and address, or \"Online\")"),
    Placeholder("location_kind", "classroom, virtual or none"),
    Placeholder("location_name", "the room or meeting's name, or none"),
    Placeholder("location_address", "the room's address, or none"),
    Placeholder("join_url", "the join link, or none", ("learner", "primaryInstructor")),
    Placeholder("host_url", "the host (start) link, or none", ("primaryInstructor",)),
    Placeholder("details_url", "the session's details link, else the offering's, or none"),
    Placeholder("instructor_names", "the session's instructors' names, a list (primary first)"),
    Placeholder("primary_instructor_name", "the primary instructor's name, or none"),
    Placeholder("person_name", "the invited person's name, or none"),
    Placeholder("language", "the language the invitation is written in, e.g. de or de-CH"),
    Placeholder("responses_requested", "true when people are asked to accept or decline"),
)
BY_ROLE: dict[str, frozenset[str]] = {
    role: frozenset(p.name for p in PLACEHOLDERS if role in p.roles) for role in TEMPLATE_ROLES
}
LIST_VALUES = frozenset({"instructor_names"})  # the only values a template may loop over
PERSONAL = frozenset({"person_name"})  # values that differ between people of the same session and role
_DATES = frozenset({"start", "end", "start_date", "start_time", "end_date", "end_time", "time_zone_name",
                    "ends_same_day"})


def template_values(
    offering: Offering, activity: Activity, role: str, *, language: str, location: str,
    responses_requested: bool, person_name: str | None = None, names: Collection[str] | None = None,
) -> dict[str, Any]:
    """The values for one role's template; `names`: only these are needed (None: all the role has).

    `language` is the tag whose formats are used (the template's language, regional variant kept);
    `location` is the meeting's location as the run shows it (translated "Online" included).
    """
    allowed = BY_ROLE[role]
    wanted = allowed if names is None else allowed & set(names)
    loc = activity.location
    values: dict[str, Any] = {
        "offering_title": offering.title,
        "course_title": offering.course_title,
        "offering_description": offering.description,
        "session_title": activity.title,
        "session_description": activity.description,
        "time_zone": activity.time_zone,
        "location": location,
        "location_kind": loc.kind,
        "location_name": loc.name,
        "location_address": loc.address,
        "details_url": activity.details_url or offering.details_url,
        "person_name": person_name,
        "language": language,
        "responses_requested": responses_requested,
    }
    if "join_url" in allowed:
        values["join_url"] = loc.join_url
    if "host_url" in allowed:
        values["host_url"] = loc.host_url
    if wanted & {"instructor_names", "primary_instructor_name"}:
        ordered = sorted(activity.instructors, key=lambda i: not i.primary)
        values["instructor_names"] = [i.name for i in ordered if i.name]
        primary = next((i for i in activity.instructors if i.primary), None)
        values["primary_instructor_name"] = primary.name if primary else None
    if wanted & _DATES:
        values.update(_dates(activity.start_utc, activity.end_utc, activity.time_zone, language))
    return {name: value for name, value in values.items() if name in wanted}


@lru_cache(maxsize=4096)
def _dates(start_utc: datetime, end_utc: datetime, zone: str, language: str) -> dict[str, Any]:
    """Cached: every person and role of a session shares them."""
    from babel.dates import format_date, format_time, get_timezone_name

    locale = babel_locale(language)
    tz = ZoneInfo(zone)
    start, end = start_utc.astimezone(tz), end_utc.astimezone(tz)
    glue = locale.datetime_formats["long"]  # CLDR's pattern joining a date and a time, e.g. "{1} 'at' {0}"

    def both(moment: datetime) -> str:
        date = format_date(moment, "full", locale=locale)
        time = format_time(moment, "short", tzinfo=tz, locale=locale)
        return str(glue).replace("'", "").format(time, date)

    return {
        "start": both(start),
        "end": both(end),
        "start_date": format_date(start, "full", locale=locale),
        "start_time": format_time(start, "short", tzinfo=tz, locale=locale),
        "end_date": format_date(end, "full", locale=locale),
        "end_time": format_time(end, "short", tzinfo=tz, locale=locale),
        "ends_same_day": start.date() == end.date(),
        "time_zone_name": get_timezone_name(start, locale=locale),
    }

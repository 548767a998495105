"""What one person's meeting says: subject, times, location, body and links.

Content is rendered once per (activity, person) and fingerprinted per Graph property, so the
planner can tell exactly which properties changed and PATCH only those.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from html import escape
from typing import Any

from shared.domain import Activity, Offering, Role
from shared.timezones import graph_time_zone

# Graph properties the product owns on every event; anything else on the event is left alone.
PROPERTIES = ("subject", "body", "start", "end", "location")


@dataclass(frozen=True)
class EventContent:
    """The Graph-ready content of one invitation."""

    subject: str
    body_html: str
    start_local: str  # ISO wall-clock time, no offset
    end_local: str
    time_zone: str  # a name Graph accepts
    location: str
    response_requested: bool = False

    def properties(self) -> dict[str, Any]:
        """The owned properties as Graph JSON (also the fingerprint input).

        Whether a response is requested travels with the body: the body's closing wording says
        it, so the two always change together. It is part of the body's entry only when true,
        so every invitation fingerprinted before the setting existed still reads unchanged.
        """
        body: dict[str, Any] = {"contentType": "html", "content": self.body_html}
        if self.response_requested:
            body["responseRequested"] = True
        return {
            "subject": self.subject,
            "body": body,
            "start": {"dateTime": self.start_local, "timeZone": self.time_zone},
            "end": {"dateTime": self.end_local, "timeZone": self.time_zone},
            "location": {"displayName": self.location},
        }

    def hashes(self) -> dict[str, str]:
        return {name: fingerprint(value) for name, value in self.properties().items()}


def fingerprint(value: Any) -> str:
    """A short, stable digest; enough to tell "changed" from "same" without storing the content."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


# Exchange limits an item's subject to 255 characters and Graph refuses a longer one
# (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/subject).
# Exchange counts UTF-16 code units, so a character outside the Basic Multilingual Plane counts twice.
SUBJECT_MAX_LENGTH = 255
ELLIPSIS = "\u2026"


def subject_for(offering: Offering, activity: Activity) -> str:
    if offering.title.strip() == activity.title.strip():
        return fit_subject(offering.title.strip())
    return fit_subject(f"{offering.title.strip()}: {activity.title.strip()}")


def fit_subject(text: str, limit: int = SUBJECT_MAX_LENGTH) -> str:
    """The subject as it is, or cut to fit Graph's limit with an ellipsis, so a long offering and
    activity title is shortened where the person reads it rather than refused by Graph."""
    if _utf16_length(text) <= limit:
        return text
    room = limit - _utf16_length(ELLIPSIS)
    kept: list[str] = []
    for char in text:
        room -= _utf16_length(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def location_for(activity: Activity) -> str:
    loc = activity.location
    if loc.kind == "virtual":
        return loc.name or "Online"
    if loc.kind == "classroom":
        return ", ".join(part for part in (loc.name, loc.address) if part)
    return ""


def link_for(activity: Activity, role: Role, email: str) -> tuple[str, str] | None:
    """The one join link this person may see, as (label, url), following the primary-instructor rule."""
    loc = activity.location
    if role == "learner":
        return ("Join the session", loc.join_url) if loc.join_url else None
    primary = primary_instructor(activity)
    if primary is None or primary != email:
        return None
    if loc.host_url:
        return ("Start the session (host link)", loc.host_url)
    if loc.join_url:
        return ("Join the session", loc.join_url)
    return None


def primary_instructor(activity: Activity) -> str | None:
    """The first instructor flagged primary; a feed may flag several, only one gets the host link."""
    for instructor in activity.instructors:
        if instructor.primary:
            return instructor.email
    return None


def key_fingerprint(activity: Activity, role: Role) -> str:
    """The key fields: a change here is sent at once; anything else waits for a reconcile.

    The role is included because a learner who becomes an instructor needs the instructor's
    content now, not after a reconcile.
    """
    loc = activity.location
    return fingerprint(
        [
            activity.start_local.isoformat(),
            activity.end_local.isoformat(),
            activity.time_zone,
            [loc.kind, loc.name, loc.address, loc.join_url, loc.host_url],
            role,
        ]
    )


def render(
    offering: Offering, activity: Activity, role: Role, email: str, *, request_responses: bool = False,
) -> EventContent:
    return EventContent(
        subject=subject_for(offering, activity),
        body_html=_body(offering, activity, role, email, request_responses),
        start_local=activity.start_local.isoformat(timespec="seconds"),
        end_local=activity.end_local.isoformat(timespec="seconds"),
        time_zone=graph_time_zone(activity.time_zone),
        location=location_for(activity),
        response_requested=request_responses,
    )


CLOSING_NO_RESPONSE = "<p><i>Sent by the learning system. No response is needed; changes are made there.</i></p>"
CLOSING_ASKS_RESPONSE = ("<p><i>Sent by the learning system. Please accept or decline this invitation; changes to the "
                         "session are still made in the learning system.</i></p>")


def _paragraphs(text: str) -> list[str]:
    return [f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n") if p.strip()]


def _anchor(url: str, label: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{escape(label)}</a>'


def _body(offering: Offering, activity: Activity, role: Role, email: str, request_responses: bool) -> str:
    parts: list[str] = []
    if offering.course_title and offering.course_title.strip() != offering.title.strip():
        parts.append(f"<p><b>Course:</b> {escape(offering.course_title)}</p>")
    if role == "instructor":
        parts.append("<p>You are an instructor for this session.</p>")
    for text in (offering.description, activity.description):
        if text:
            parts.extend(_paragraphs(text))
    loc = activity.location
    if loc.kind == "classroom" and (loc.name or loc.address):
        lines = "<br>".join(escape(p) for p in (loc.name, loc.address) if p)
        parts.append(f"<p><b>Location:</b><br>{lines}</p>")
    elif loc.kind == "virtual":
        parts.append(f"<p><b>Location:</b> {escape(loc.name or 'Online')}</p>")
    link = link_for(activity, role, email)
    if link:
        label, url = link
        parts.append(f"<p><b>{escape(label)}:</b> {_anchor(url, url)}</p>")
    details = activity.details_url or offering.details_url
    if details:
        parts.append(f"<p><b>Details:</b> {_anchor(details, details)}</p>")
    parts.append(CLOSING_ASKS_RESPONSE if request_responses else CLOSING_NO_RESPONSE)
    return "<html><body>" + "".join(parts) + "</body></html>"

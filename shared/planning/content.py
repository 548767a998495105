"""What one person's meeting says: subject, times, location, body and links, and the rules behind them.

Content is rendered through the invitation templates (`shared/planning/rendering.py`) and
fingerprinted per Graph property, so the planner can tell exactly which properties changed
and PATCH only those. The link rules here decide which values each role's template receives.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.domain import Activity, Role
from shared.planning.subject import ELLIPSIS, SUBJECT_MAX_LENGTH, fit_subject
from shared.templates.model import TemplateRole

__all__ = ["ELLIPSIS", "PROPERTIES", "SUBJECT_MAX_LENGTH", "EventContent", "fingerprint", "fit_subject",
           "key_fingerprint", "location_for", "primary_instructor", "template_role"]

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


def location_for(activity: Activity, online: str = "Online") -> str:
    """The meeting's location line; `online`: the word for a virtual session without a name, in its language."""
    loc = activity.location
    if loc.kind == "virtual":
        return loc.name or online
    if loc.kind == "classroom":
        return ", ".join(part for part in (loc.name, loc.address) if part)
    return ""


def template_role(activity: Activity, role: Role, email: str) -> TemplateRole:
    """Which template, and so which links, this person's meeting gets (the primary-instructor rule).

    A learner's meeting carries the join link; only the primary instructor's carries a link for
    instructors: the host link (or the join link when there is no host link). Other instructors'
    meetings carry no link. `shared/templates/values.py` gives each role exactly those values.
    """
    if role == "learner":
        return "learner"
    return "primaryInstructor" if primary_instructor(activity) == email else "instructor"


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

"""The learning data and the invitations it implies, as plain values with no I/O.

Everything downstream (planning, Graph, storage) speaks in these types, so the feed format
can evolve without touching the sync core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote

Role = Literal["learner", "instructor"]
OfferingStatus = Literal["active", "cancelled"]
ActivityStatus = Literal["scheduled", "cancelled"]
EnrollmentStatus = Literal["active", "withdrawn", "completed", "cancelled"]
LocationKind = Literal["classroom", "virtual", "none"]

TAG_PREFIX = "lcs1"


@dataclass(frozen=True, order=True)
class InvitationKey:
    """One invitation per (offering, activity, person); the person is a lower-cased address."""

    offering_id: str
    activity_id: str
    email: str

    def tag(self) -> str:
        """The stable tag stored on the Graph event, reversible so a lost mapping can be rebuilt."""
        parts = (quote(self.offering_id, safe=""), quote(self.activity_id, safe=""), quote(self.email, safe="@"))
        return "/".join((TAG_PREFIX, *parts))

    @classmethod
    def from_tag(cls, tag: str) -> InvitationKey | None:
        parts = tag.split("/")
        if len(parts) != 4 or parts[0] != TAG_PREFIX:
            return None
        return cls(unquote(parts[1]), unquote(parts[2]), unquote(parts[3]).lower())


@dataclass(frozen=True)
class Location:
    kind: LocationKind = "none"
    name: str | None = None
    address: str | None = None
    join_url: str | None = None
    host_url: str | None = None


@dataclass(frozen=True)
class Instructor:
    email: str  # lower-cased
    name: str | None = None
    primary: bool = False
    language: str | None = None  # canonical BCP 47 tag; None: the offering's, else the default


@dataclass(frozen=True)
class Activity:
    id: str
    title: str
    start_local: datetime  # naive wall-clock time in `time_zone`
    end_local: datetime
    time_zone: str  # IANA name as given in the feed
    start_utc: datetime  # aware, UTC (first occurrence of an ambiguous local time)
    end_utc: datetime
    status: ActivityStatus = "scheduled"
    description: str | None = None
    details_url: str | None = None
    location: Location = field(default_factory=Location)
    instructors: tuple[Instructor, ...] = ()


@dataclass(frozen=True)
class Enrollment:
    email: str  # lower-cased
    status: EnrollmentStatus
    name: str | None = None
    language: str | None = None  # canonical BCP 47 tag; None: the offering's, else the default


@dataclass(frozen=True)
class Offering:
    id: str
    title: str
    status: OfferingStatus
    activities: tuple[Activity, ...] = ()
    enrollments: tuple[Enrollment, ...] = ()
    course_title: str | None = None
    description: str | None = None
    details_url: str | None = None
    language: str | None = None  # canonical BCP 47 tag of its people's invitations; None: the default


@dataclass(frozen=True)
class Rejection:
    """An item of the feed that was not applied: its path in the feed and a plain reason."""

    path: str  # e.g. "offerings[1].activities[0].timeZone"
    reason: str


HoldAbsent = Literal["learners", "activities"]


@dataclass(frozen=True)
class Hold:
    """Existing invitations matched here are left exactly as they are (their feed item was rejected).

    `activity_id` or `email` of None matches every activity or person of the offering.

    `absent`: the rejected item's identity could not be read (a malformed `learnerEmail`, an
    activity without a readable id), so it may stand for anyone (any activity) missing from
    the offering. Such a hold covers no invitation outright: only cancellations that follow
    from a learner's (an activity's) absence wait; updates and other cancellations go out.
    """

    offering_id: str
    activity_id: str | None = None
    email: str | None = None
    absent: HoldAbsent | None = None

    def covers(self, key: InvitationKey) -> bool:
        return (
            self.absent is None
            and key.offering_id == self.offering_id
            and (self.activity_id is None or self.activity_id == key.activity_id)
            and (self.email is None or self.email == key.email)
        )


@dataclass(frozen=True)
class Feed:
    """A read feed: the offerings that passed validation, what was rejected, and what to hold."""

    offerings: tuple[Offering, ...]
    rejections: tuple[Rejection, ...] = ()
    holds: tuple[Hold, ...] = ()
    source: str | None = None

"""From a read feed to the invitations that should exist now (the desired state).

Also answers, for an invitation that exists but is no longer wanted, *why* - that reason
becomes the cancellation comment - or that it must be left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain import Activity, Feed, Hold, Instructor, InvitationKey, Offering, Role
from shared.planning.content import EventContent, key_fingerprint
from shared.planning.rendering import Renderer
from shared.templates.model import TemplateSet


@dataclass(frozen=True)
class DesiredInvitation:
    key: InvitationKey
    role: Role
    name: str | None
    content: EventContent
    key_fp: str
    start_utc: datetime
    end_utc: datetime
    may_create: bool = True  # False for completed enrollments: kept current, never created


@dataclass(frozen=True)
class Allowlist:
    """Non-production safety: when entries exist, only those addresses or @domains are invited."""

    entries: tuple[str, ...] = ()

    def allows(self, email: str) -> bool:
        if not self.entries:
            return True
        email = email.lower()
        domain = "@" + email.rpartition("@")[2]
        return any(e in (email, domain) for e in self.entries)


@dataclass
class DesiredState:
    wanted: dict[InvitationKey, DesiredInvitation] = field(default_factory=dict)
    offerings: dict[str, Offering] = field(default_factory=dict)  # authoritative: present in the feed
    holds: tuple[Hold, ...] = ()
    left_out: set[InvitationKey] = field(default_factory=set)  # not on the allow-list
    ends: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (offering, activity): its end now
    renderer: Renderer = field(default_factory=lambda: Renderer.of(None))

    @property
    def template_fallbacks(self) -> int:
        """Invitations rendered in the default language because their own language had no template."""
        return self.renderer.fallbacks

    @property
    def template_errors(self) -> list[str]:
        """Saved templates that failed on some session's values (the built-in wording went out instead)."""
        return self.renderer.errors

    def held(self, key: InvitationKey) -> bool:
        return any(h.covers(key) for h in self.holds)

    def is_history(self, key: InvitationKey, recorded_end: datetime | None, now: datetime) -> bool:
        """Whether this invitation's session is over: nothing is ever sent for it again.

        Judged by the session's end in the current feed, so a session moved later after its
        old end passed is sent again; only a session no longer in the feed is judged by the
        end recorded when it was last sent.
        """
        if key in self.wanted:
            return False  # wanted means its session has not ended
        end = self.ends.get((key.offering_id, key.activity_id), recorded_end)
        return end is not None and end <= now

    def waits(self, key: InvitationKey) -> bool:
        """A cancellation that an unreadable feed item may stand against: it waits until the item is fixed.

        A malformed `learnerEmail` may be the enrollment of anyone missing from the offering's
        enrollments; an activity without a readable id may be any activity missing from it.
        The offering's and a session's own cancellation never wait, nor does a withdrawal.
        """
        offering = self.offerings[key.offering_id]
        if offering.status != "active":
            return False
        absent = {h.absent for h in self.holds if h.offering_id == key.offering_id and h.absent}
        if not absent:
            return False
        activity = next((a for a in offering.activities if a.id == key.activity_id), None)
        if activity is None:
            return "activities" in absent
        if activity.status != "scheduled":
            return False
        return "learners" in absent and all(e.email != key.email for e in offering.enrollments)

    def why_unwanted(self, key: InvitationKey, role: Role) -> str:
        """The short reason a cancelled person reads in the cancellation, in their language."""
        offering = self.offerings[key.offering_id]
        return self.renderer.cancellation(offering, self._why(offering, key, role), _language_of(offering, key.email))

    @staticmethod
    def _why(offering: Offering, key: InvitationKey, role: Role) -> str:
        if offering.status == "cancelled":
            return "offeringCancelled"
        activity = next((a for a in offering.activities if a.id == key.activity_id), None)
        if activity is None:
            return "sessionRemoved"
        if activity.status == "cancelled":
            return "sessionCancelled"
        if role == "instructor" and all(i.email != key.email for i in activity.instructors):
            return "noLongerInstructor"
        status = _enrollment_status(offering, key.email)
        if status == "withdrawn":
            return "withdrew"
        if status == "cancelled":
            return "enrollmentCancelled"
        return "noLongerEnrolled"


def _language_of(offering: Offering, email: str) -> str | None:
    """The person's own language as the feed still gives it (enrollment, else any session's instructor entry)."""
    for enrollment in offering.enrollments:
        if enrollment.email == email and enrollment.language:
            return enrollment.language
    for activity in offering.activities:
        for instructor in activity.instructors:
            if instructor.email == email and instructor.language:
                return instructor.language
    return None


def _enrollment_status(offering: Offering, email: str) -> str | None:
    for enrollment in offering.enrollments:
        if enrollment.email == email:
            return enrollment.status
    return None


def desired_state(
    feed: Feed, *, now: datetime, allowlist: Allowlist | None = None, templates: TemplateSet | None = None,
    request_responses: bool = False,
) -> DesiredState:
    """`templates`: the wording in force (None: the built-in set); `request_responses`: invitations ask
    each person to accept or decline (Graph's `responseRequested`, and the closing wording)."""
    allowlist = allowlist or Allowlist()
    renderer = Renderer.of(templates, request_responses=request_responses)
    state = DesiredState(holds=feed.holds, renderer=renderer)
    for offering in feed.offerings:
        state.offerings[offering.id] = offering
        for activity in offering.activities:
            state.ends[(offering.id, activity.id)] = activity.end_utc
        if offering.status != "active":
            continue
        for activity in offering.activities:
            if activity.end_utc <= now or activity.status != "scheduled":
                continue
            for invitation in _invitations(offering, activity, renderer):
                if allowlist.allows(invitation.key.email):
                    state.wanted[invitation.key] = invitation
                else:
                    state.left_out.add(invitation.key)
    return state


def _invitations(offering: Offering, activity: Activity, renderer: Renderer) -> Iterable[DesiredInvitation]:
    """Everyone of one session; the key fingerprint is the same for everyone of a role, so it is hashed once."""
    instructors: dict[str, Instructor] = {}
    for instructor in activity.instructors:
        instructors.setdefault(instructor.email, instructor)
    if instructors:
        key_fp = key_fingerprint(activity, "instructor")
        for email, instructor in instructors.items():
            language = instructor.language or _language_of(offering, email)  # else as a learner, or elsewhere
            yield _invitation(offering, activity, email, "instructor", instructor.name, language, renderer, key_fp,
                              may_create=True)
    key_fp = key_fingerprint(activity, "learner")
    for enrollment in offering.enrollments:
        if enrollment.email in instructors or enrollment.status not in ("active", "completed"):
            continue
        yield _invitation(
            offering, activity, enrollment.email, "learner", enrollment.name, enrollment.language, renderer, key_fp,
            may_create=enrollment.status == "active",
        )


def _invitation(
    offering: Offering, activity: Activity, email: str, role: Role, name: str | None, language: str | None,
    renderer: Renderer, key_fp: str, *, may_create: bool,
) -> DesiredInvitation:
    return DesiredInvitation(
        key=InvitationKey(offering.id, activity.id, email),
        role=role,
        name=name,
        content=renderer.content(offering, activity, role, email, person_language=language, person_name=name),
        key_fp=key_fp,
        start_utc=activity.start_utc,
        end_utc=activity.end_utc,
        may_create=may_create,
    )

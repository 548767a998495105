"""Has the sync converged? Judged only from what people see in the sandbox.

- every attendee's calendar holds exactly the meetings the feed wants for them, with the
  wanted subject, start, end and location;
- every person received exactly one meeting request per wanted invitation, and everyone
  who was invited but is no longer wanted received a cancellation for each request;
- the organizer's calendar holds one event per wanted invitation and nothing else (no
  orphan, no duplicate tag).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.feed.reader import parse_feed
from shared.planning.desired import desired_state


class Sandbox(Protocol):
    info: dict[str, Any]

    def calendar(self, address: str) -> list[dict[str, Any]]: ...

    def messages(self, address: str) -> list[dict[str, Any]]: ...


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def problems(sandbox: Sandbox, feed: dict[str, Any], *, people: set[str] | None = None) -> list[str]:
    """Everything that differs from convergence, in plain words (empty: converged)."""
    desired = desired_state(parse_feed(feed), now=datetime.now(UTC))
    found: list[str] = []
    wanted_by_person: dict[str, list[tuple[str, str, str, str]]] = {}
    for key, invitation in desired.wanted.items():
        props = invitation.content.properties()
        wanted_by_person.setdefault(key.email, []).append(
            (props["subject"], _utc(invitation.start_utc), _utc(invitation.end_utc), props["location"]["displayName"]))
    everyone = set(wanted_by_person) | (people or set()) | _people_in(feed)
    for person in sorted(everyone):
        calendar = sandbox.calendar(person)
        have = sorted((m["subject"], m["startUtc"], m["endUtc"], m["location"]["displayName"]) for m in calendar)
        want = sorted(wanted_by_person.get(person, []))
        if have != want:
            found.append(f"{person}: calendar {have} != wanted {want}")
        messages = sandbox.messages(person)
        requests = Counter(m["eventId"] for m in messages if m["type"] == "meetingRequest")
        cancelled = Counter(m["eventId"] for m in messages if m["type"] == "meetingCancellation")
        live = {m["organizerEventId"] for m in calendar}
        for event_id, count in requests.items():
            if count != 1:
                found.append(f"{person}: {count} meeting requests for one meeting")
            if event_id not in live and cancelled[event_id] == 0:
                found.append(f"{person}: invited to a meeting that is gone but was never cancelled")
        if sum(1 for e in requests if e in live) != len(want):
            found.append(f"{person}: {len(live)} live meetings from {len(requests)} requests, {len(want)} wanted")
    organizer = sandbox.calendar(sandbox.info["organizer"])
    tags = Counter(m["tag"] for m in organizer)
    wanted_tags = {k.tag() for k in desired.wanted}
    if set(tags) != wanted_tags:
        found.append(f"organizer: orphan {sorted(set(tags) - wanted_tags)}, missing {sorted(wanted_tags - set(tags))}")
    duplicates = sorted(t for t, n in tags.items() if n > 1)
    if duplicates:
        found.append(f"organizer: duplicate events for {duplicates}")
    return found


def _people_in(feed: dict[str, Any]) -> set[str]:
    people: set[str] = set()
    for offering in feed.get("offerings", []):
        people.update(e["learnerEmail"].lower() for e in offering.get("enrollments", []))
        for activity in offering.get("activities", []):
            people.update(i["email"].lower() for i in activity.get("instructors", []))
    return people

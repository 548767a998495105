"""Judges a sync from what people hold and what they were sent, knowing only the feed's rules.

Written from the behaviour described in docs/behaviour.md, not from the product's planner:
- who should hold a meeting: every instructor and every actively enrolled learner of each
  scheduled session, not yet ended, of each active offering;
- a person's calendar holds exactly one meeting per such session, at the session's time,
  and none for any other;
- their message history, per session, alternates: a request only while they hold no meeting
  for it, updates and a cancellation only for the meeting they hold; and it ends right
  (holding the meeting in their calendar iff they should).

Sessions are told apart by their subject, so feeds judged here give each session its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tests.support.shifting import LOCAL


class Mailboxes(Protocol):
    def calendar(self, address: str) -> list[dict[str, Any]]: ...

    def messages(self, address: str) -> list[dict[str, Any]]: ...


Slot = tuple[str, str]  # (startUtc, endUtc) as the sandbox shows them


def _utc(local: str, zone: str) -> datetime:
    return datetime.strptime(local, LOCAL).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def subject(offering: dict[str, Any], activity: dict[str, Any]) -> str:
    title, name = offering["title"].strip(), activity["title"].strip()
    return title if title == name else f"{title}: {name}"


def wanted(feed: dict[str, Any], now: datetime) -> dict[str, dict[str, Slot]]:
    """person -> subject -> the time their one meeting for that session must have."""
    out: dict[str, dict[str, Slot]] = defaultdict(dict)
    for offering in feed["offerings"]:
        if offering["status"] != "active":
            continue
        learners = {e["learnerEmail"].lower() for e in offering["enrollments"] if e["status"] == "active"}
        for activity in offering["activities"]:
            end = _utc(activity["end"], activity["timeZone"])
            if activity.get("status", "scheduled") != "scheduled" or end <= now:
                continue
            slot = (_shown(_utc(activity["start"], activity["timeZone"])), _shown(end))
            for person in learners | {i["email"].lower() for i in activity["instructors"]}:
                out[person][subject(offering, activity)] = slot
    return out


def judge(mailboxes: Mailboxes, feed: dict[str, Any], people: set[str]) -> list[str]:
    """Every way the calendars or message histories differ from the rules (empty: all right)."""
    want = wanted(feed, datetime.now(UTC))
    found: list[str] = []
    for person in sorted(people | set(want)):
        holding = _calendar(mailboxes, person, want.get(person, {}), found)
        _history(mailboxes, person, holding, found)
    return found


def _calendar(mailboxes: Mailboxes, person: str, want: dict[str, Slot], found: list[str]) -> dict[str, str]:
    """Checks the calendar; returns subject -> organizer event id of the meeting held."""
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for meeting in mailboxes.calendar(person):
        held[meeting["subject"]].append(meeting)
    for name in sorted(set(held) | set(want)):
        meetings = held.get(name, [])
        slots = [(m["startUtc"], m["endUtc"]) for m in meetings]
        if name in want and slots != [want[name]]:
            found.append(f"{person} / {name}: holds {slots}, should hold one meeting at {want[name]}")
        elif name not in want and meetings:
            found.append(f"{person} / {name}: holds {slots}, should hold none")
    return {name: meetings[0]["organizerEventId"] for name, meetings in held.items() if len(meetings) == 1}


def _history(mailboxes: Mailboxes, person: str, holding_now: dict[str, str], found: list[str]) -> None:
    held: dict[str, str | None] = {}
    for message in sorted(mailboxes.messages(person), key=lambda m: m["id"]):
        name, event, kind = message.get("meetingSubject") or "", message.get("eventId"), message["type"]
        current = held.get(name)
        where = f"{person} / {name}: message {message['id']} ({kind})"
        if kind == "meetingRequest":
            if current is not None:
                found.append(f"{where} while already holding a meeting for this session")
            held[name] = event
        elif kind == "meetingUpdate":
            if current != event:
                found.append(f"{where} for a meeting they do not hold")
        elif kind == "meetingCancellation":
            if current is None:
                found.append(f"{where} while holding no meeting for this session (two cancellations in a row?)")
            elif current != event:
                found.append(f"{where} for a meeting they do not hold")
            held[name] = None
    for name in sorted(set(held) | set(holding_now)):
        if held.get(name) != holding_now.get(name):
            found.append(f"{person} / {name}: their messages leave them holding {held.get(name)}, "
                         f"their calendar holds {holding_now.get(name)}")

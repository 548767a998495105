"""Planning a run a slice of offerings at a time, so its memory follows the slice, not the catalog.

A first rollout of a large catalog wants hundreds of thousands of invitations, each with its
rendered content; held whole, the desired state and the plan of 510,000 invitations take
more than 600 MB. Offerings are independent of each other in the planner (every decision
about an invitation reads only its own offering, its holds and its mapping rows), so the
catalog is planned in chunks of offerings: the plan of the whole feed is exactly the
concatenation of the chunks' plans, put in the planner's order. Pure: no I/O.

`RunPlan` gathers what one run needs from the chunks' plans: every count the run reports
and the guards read, and only the actions the run can send. A run's sending is bounded by
its organizers' budgets (messages a minute over the run's time, and a day), so the most
urgent actions up to that bound are kept per organizer and the rest are counted as deferred:
they are planned again by the next run, as deferred work always was. The kept actions are
the same, in the same order, as the head of the unchunked plan.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.domain import InvitationKey, Offering
from shared.planning.desired import DesiredState
from shared.planning.plan import _URGENCY, SENDING, Action, Cancel, Create, Plan, Remember
from shared.planning.sent import SentRecord

# Invitations planned at a time: about 11 MB of desired state and plan for invitations of the
# benchmark's shape (about 1.1 KB each, most of it the rendered body).
CHUNK_INVITATIONS = 10_000
_NEVER = datetime.max.replace(tzinfo=UTC)


def order_key(action: Action) -> tuple[datetime, int, InvitationKey]:
    """The planner's order: soonest session first, cancellations before updates before invitations."""
    return (action.start_utc, _URGENCY[type(action)], action.key)


def estimated_invitations(offering: Offering) -> int:
    """An upper bound of the invitations an offering can want: every person in every session."""
    return sum(len(a.instructors) + len(offering.enrollments) for a in offering.activities) or 1


def offering_chunks(offerings: Sequence[Offering], *, limit: int = CHUNK_INVITATIONS) -> Iterator[tuple[Offering, ...]]:
    """The offerings in chunks of at most `limit` estimated invitations (an offering is never split),
    taken in the order of their soonest session, so the most urgent work is planned first."""
    ordered = sorted(offerings, key=lambda o: (min((a.start_utc for a in o.activities), default=_NEVER), o.id))
    chunk: list[Offering] = []
    size = 0
    for offering in ordered:
        weight = estimated_invitations(offering)
        if chunk and size + weight > limit:
            yield tuple(chunk)
            chunk, size = [], 0
        chunk.append(offering)
        size += weight
    if chunk:
        yield tuple(chunk)


def merge(plans: Sequence[Plan]) -> Plan:
    """The chunks' plans as one: counts summed, actions in the planner's order (what `plan` gives whole)."""
    whole = Plan()
    for part in plans:
        whole.actions.extend(part.actions)
        whole.unchanged += part.unchanged
        whole.waiting_for_reconcile += part.waiting_for_reconcile
        whole.held += part.held
        whole.left_out += part.left_out
        whole.live_before += part.live_before
    whole.actions.sort(key=order_key)
    return whole


def send_bound(per_minute: int, per_day: int, seconds: float) -> int:
    """The most messages one organizer's pacer can admit in a run of `seconds`.

    No rolling minute holds more than `per_minute`, so a span of T seconds holds at most
    ceil(T / 60) + 1 windows' worth (the first may be full at the start), and no day more
    than `per_day`.
    """
    return max(0, min(per_day, per_minute * (math.ceil(max(seconds, 0.0) / 60.0) + 1)))


@dataclass
class RunPlan:
    """One run's plan gathered chunk by chunk: all counts, the sendable head of each lane, and
    what settling the offerings afterwards needs.

    `lane` names the queue an action is sent through (its organizer mailbox); `limit` is how
    many actions a lane can send in this run. Actions beyond it are counted in `dropped`, and
    their offerings in `dropped_offerings` (never settled by this run).
    """

    limit: int
    lane: Callable[[Action], str] = lambda _action: ""
    unchanged: int = 0
    waiting_for_reconcile: int = 0
    held: int = 0
    left_out: int = 0
    live_before: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # Create, Update, Cancel, Remember, reinvite
    new_cancels: int = 0  # cancellations not already started by an earlier run (the guard counts these)
    create_organizers: set[str] = field(default_factory=set)  # lower-cased senders of new invitations
    dropped: int = 0
    dropped_offerings: set[str] = field(default_factory=set)
    _lanes: dict[str, list[Action]] = field(default_factory=dict)
    _remembers: list[Remember] = field(default_factory=list)
    _live_sent: Counter[str] = field(default_factory=Counter)  # live mapping rows per offering before the run
    _needs: dict[str, set[InvitationKey]] = field(default_factory=dict)  # wanted, may be created, not live

    def add(self, part: Plan, desired: DesiredState, sent: Mapping[InvitationKey, SentRecord]) -> None:
        """Take one chunk's plan (with the desired state and mapping rows it was planned from)."""
        self.unchanged += part.unchanged
        self.waiting_for_reconcile += part.waiting_for_reconcile
        self.held += part.held
        self.left_out += part.left_out
        self.live_before += part.live_before
        for key, record in sent.items():
            if record.live and key.offering_id in desired.offerings:
                self._live_sent[key.offering_id] += 1
        for key, invitation in desired.wanted.items():
            row = sent.get(key)
            if invitation.may_create and (row is None or row.state != "live"):
                self._needs.setdefault(key.offering_id, set()).add(key)
        touched: set[str] = set()
        for action in part.actions:
            self.counts[type(action).__name__] += 1
            if isinstance(action, Remember):
                self._remembers.append(action)
                continue
            if isinstance(action, Create):
                self.create_organizers.add(action.organizer.lower())
            if isinstance(action, Cancel):
                if action.record.state != "cancelling":
                    self.new_cancels += 1
                if action.reinvite is not None:
                    self.counts["reinvite"] += 1
            lane = self.lane(action)
            self._lanes.setdefault(lane, []).append(action)
            touched.add(lane)
        for lane in touched:
            actions = self._lanes[lane]
            actions.sort(key=order_key)
            if len(actions) > self.limit:
                for action in actions[self.limit:]:
                    self.dropped_offerings.add(action.key.offering_id)
                self.dropped += len(actions) - self.limit
                del actions[self.limit:]
        for offering_id in self.dropped_offerings & self._needs.keys():
            del self._needs[offering_id]  # unsettled anyway: nothing left to check

    def count(self, kind: type) -> int:
        return self.counts[kind.__name__]

    @property
    def sends(self) -> int:
        """Every sending action planned, kept or not."""
        return sum(self.counts[k.__name__] for k in SENDING)

    @property
    def actions(self) -> list[Action]:
        """The kept actions in the planner's order (every `Remember`: it sends nothing)."""
        kept: list[Action] = [*self._remembers]
        for actions in self._lanes.values():
            kept.extend(actions)
        kept.sort(key=order_key)
        return kept

    def settled(self, offering_ids: Sequence[str], records: Mapping[InvitationKey, SentRecord],
                unfinished: set[str]) -> dict[str, tuple[bool, int]]:
        """Per offering: whether every action went through (`unfinished` names those that did not),
        and its live invitations now, from the rows before the run and `records`, the rows the run wrote.

        An offering where someone wanted has no live invitation is never settled, so the next run
        looks again (the planner invites everyone wanted; this is the safety net should any path
        leave a wanted person without their meeting).
        """
        before: dict[InvitationKey, bool] = {}
        for action in self.actions:
            previous: Any = action.record
            before[action.key] = previous is not None and previous.live
        live = Counter(self._live_sent)
        for key, record in records.items():
            live[key.offering_id] += int(record.live) - int(before.get(key, False))
        missing = {
            offering_id for offering_id, keys in self._needs.items()
            if any((r := records.get(k)) is None or r.state != "live" for k in keys)
        }
        closed = unfinished | self.dropped_offerings | missing
        return {offering_id: (offering_id not in closed, live[offering_id]) for offering_id in offering_ids}

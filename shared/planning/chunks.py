"""Planning a run a slice of offerings at a time, so its memory follows the slice, not the catalog.

A first rollout of a large catalog wants hundreds of thousands of invitations, each with its
rendered content; held whole, the desired state and the plan of 510,000 invitations take
more than 600 MB. Offerings are independent of each other in the planner (every decision
about an invitation reads only its own offering, its holds and its mapping rows), so the
catalog is planned in chunks of offerings: the plan of the whole feed is exactly the
concatenation of the chunks' plans, put in the planner's order. Pure: no I/O.

`RunPlan` gathers what one run needs to know of the whole plan before anything is queued:
every count the run reports and the guards read, and the most urgent actions up to a limit
(a dry run lists them). The kept actions are the same, in the same order, as the head of
the unchunked plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

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


@dataclass(frozen=True)
class PlannedChunk:
    """One chunk's plan with what it was planned from (the run's bookkeeping reads both)."""

    offerings: tuple[Offering, ...]
    desired: DesiredState
    sent: dict[InvitationKey, SentRecord]
    plan: Plan

    @property
    def size(self) -> int:
        """What holding it costs, in invitations and mapping rows."""
        return len(self.desired.wanted) + len(self.sent)


@dataclass
class RunPlan:
    """One run's plan gathered chunk by chunk: all counts, and the head of each lane.

    `lane` names the queue an action is sent through (e.g. its organizer mailbox); `limit` is
    how many of the most urgent sending actions of a lane are kept (a `Remember` sends nothing
    and is only counted). Actions beyond it are counted in `dropped`, their offerings in
    `dropped_offerings`.
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

    def add(self, part: Plan) -> None:
        """Take one chunk's plan."""
        self.unchanged += part.unchanged
        self.waiting_for_reconcile += part.waiting_for_reconcile
        self.held += part.held
        self.left_out += part.left_out
        self.live_before += part.live_before
        touched: set[str] = set()
        for action in part.actions:
            self.counts[type(action).__name__] += 1
            if isinstance(action, Remember):
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

    def count(self, kind: type) -> int:
        return self.counts[kind.__name__]

    @property
    def sends(self) -> int:
        """Every sending action planned, kept or not."""
        return sum(self.counts[k.__name__] for k in SENDING)

    @property
    def actions(self) -> list[Action]:
        """The kept sending actions in the planner's order."""
        kept: list[Action] = []
        for actions in self._lanes.values():
            kept.extend(actions)
        kept.sort(key=order_key)
        return kept

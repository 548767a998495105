"""The executor without servers: urgency order, full batches, intent before write, and crashes.

`Graph` models what the executor relies on in Microsoft Graph (a repeated transactionId
returns the first event, cancelled ones included; a lookup by tag sees live events; a second
cancel is "not found"). `Store` is the mapping with ETags. Both can "crash" the process at
any numbered step, before or after a write lands; after a crash nothing else happens in that
process, as after SIGKILL.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.calendar.gateway import (
    CancelWrite,
    CreateWrite,
    ExtraMessage,
    TaggedEvent,
    UpdateWrite,
    Write,
    WriteResult,
)
from shared.domain import Feed, InvitationKey
from shared.errors import GraphError, SignInFailed
from shared.feed.reader import parse_feed
from shared.planning.desired import desired_state
from shared.planning.plan import Cancel, Create, Update, plan
from shared.planning.sent import SentRecord
from shared.store.mapping import ConcurrentChange
from shared.store.sendlog import MemorySendLog
from shared.sync.executor import Executor, Outcome, transaction_id
from shared.sync.pacing import Pacer, Ticket, Timebase
from shared.sync.rebuild import parse_state
from tests.support.dates import moved
from tests.support.feeds import ADA, BO, DEE, PAT, base_feed, enrollment, offering

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ORG = "coordinator@contoso.example"


class Crash(BaseException):
    """The process died here."""


@dataclass
class Fate:
    """Counts every step that changes state; raises Crash at the chosen one (and at every one after)."""

    crash_at: int | None = None
    steps: int = 0
    dead: bool = False

    def step(self) -> None:
        if self.dead:
            raise Crash()
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at:
            self.dead = True
            raise Crash()


@dataclass
class Event:
    id: str
    tag: str
    attendee: str
    transaction_id: str
    props: dict[str, object]
    state: str | None
    cancelled: bool = False


@dataclass
class Graph:
    fate: Fate = field(default_factory=Fate)
    events: dict[str, Event] = field(default_factory=dict)
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (type, attendee, event id)
    calls: list[int] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    seen_before_write: list[str] = field(default_factory=list)
    store: Store | None = None
    unknown_after: int | None = None  # every write after this many ends "unknown" (the run's time ran out)
    written: int = 0
    deleted: dict[str, Event] = field(default_factory=dict)
    cancels: list[CancelWrite] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def write(self, organizer: str, writes: Sequence[Write], *, extra_message: ExtraMessage | None = None,
                    patience: float | None = None) -> list[WriteResult]:
        self.calls.append(len(writes))
        self.cancels.extend(w for w in writes if isinstance(w, CancelWrite))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            results = []
            for write in writes:
                self.written += 1
                if self.unknown_after is not None and self.written > self.unknown_after:
                    results.append(WriteResult("unknown"))
                    continue
                self._check_intent(write)
                self.fate.step()  # dies before the write lands
                result = self._apply(write)
                self.fate.step()  # dies after it landed, before the answer is read
                results.append(result)
            return results
        finally:
            self.in_flight -= 1

    def _check_intent(self, write: Write) -> None:
        if self.store is None:
            return
        tag = write.event.tag if isinstance(write, CreateWrite) else getattr(write, "tag", None)
        if tag is None:
            return
        key = InvitationKey.from_tag(tag)
        assert key is not None
        self.seen_before_write.append(self.store.rows[key].state)

    def live(self, tag: str) -> list[Event]:
        return [e for e in self.events.values() if e.tag == tag and not e.cancelled]

    def _apply(self, write: Write) -> WriteResult:
        if isinstance(write, CreateWrite):
            event = write.event
            if write.look_first and (found := self.live(event.tag)):
                return WriteResult("done", event_id=found[0].id, adopted=True)
            same = [e for e in self.events.values() if e.transaction_id == event.transaction_id]
            if same:
                return WriteResult("done", event_id=None if same[0].cancelled else same[0].id,
                                   superseded=same[0].cancelled)
            created = Event(f"E{next(self._ids)}", event.tag, event.attendee_email, event.transaction_id,
                            dict(event.properties), event.state)
            self.events[created.id] = created
            self.messages.append(("meetingRequest", created.attendee, created.id))
            return WriteResult("done", event_id=created.id, messages=1)
        if isinstance(write, UpdateWrite):
            target = self.events.get(write.event_id)
            if target is None:
                return WriteResult("gone")  # deleted in the organizer's mailbox: what the gateway reports
            if target.cancelled:
                return WriteResult("failed", error=GraphError("cancelled", status=400, code="ErrorInvalidRequest"))
            target.props.update(write.changes)
            target.state = write.state
            self.messages.append(("meetingUpdate", target.attendee, target.id))
            return WriteResult("done", event_id=target.id, messages=1)
        assert isinstance(write, CancelWrite)
        ids = [write.event_id] if write.event_id else [e.id for e in self.live(write.tag)]
        sent = 0
        for event_id in ids:
            target = self.events.get(event_id)
            if target is not None and not target.cancelled:
                target.cancelled = True
                self.messages.append(("meetingCancellation", target.attendee, target.id))
                sent += 1
        return WriteResult("done", event_id=write.event_id, messages=sent)

    async def find_by_tag(self, organizer: str, tag: str) -> list[str]:
        return [e.id for e in self.live(tag)]

    async def tagged_events(self, organizer: str):  # type: ignore[no-untyped-def]
        for event in list(self.events.values()):
            if not event.cancelled:
                yield TaggedEvent(event.id, event.tag, None, None, event.state)

    async def has_tagged_events(self, organizer: str) -> bool:
        return any(not e.cancelled for e in self.events.values())

    def delete_by_hand(self, event_id: str) -> None:
        """The organizer deletes the meeting in Outlook: it is gone and the attendee is told."""
        event = self.events.pop(event_id)
        self.messages.append(("meetingCancellation", event.attendee, event.id))
        self.deleted[event.id] = event

    async def aclose(self) -> None:
        return None


@dataclass
class Store:
    """The mapping table: ETag checks as in Table Storage, and a fate shared with Graph."""

    fate: Fate = field(default_factory=Fate)
    rows: dict[InvitationKey, SentRecord] = field(default_factory=dict)
    _etags: itertools.count[int] = field(default_factory=itertools.count)

    def load(self, offering_ids: Iterable[str]) -> dict[InvitationKey, SentRecord]:
        wanted = set(offering_ids)
        return {k: r for k, r in self.rows.items() if k.offering_id in wanted}

    def load_all(self) -> dict[InvitationKey, SentRecord]:
        return dict(self.rows)

    def is_empty(self) -> bool:
        return not self.rows

    def put(self, record: SentRecord) -> SentRecord:
        self.fate.step()
        current = self.rows.get(record.key)
        if (current.etag if current else None) != record.etag:
            raise ConcurrentChange(f"{record.key.tag()} changed")
        stored = record.but(etag=f"e{next(self._etags)}")
        self.rows[record.key] = stored
        return stored

    def upsert(self, record: SentRecord) -> SentRecord:
        stored = record.but(etag=f"e{next(self._etags)}")
        self.rows[record.key] = stored
        return stored


def world(crash_at: int | None = None) -> tuple[Graph, Store]:
    fate = Fate(crash_at)
    store = Store(fate)
    return Graph(fate, store=store), store


def read(feed: dict) -> Feed:
    return parse_feed(feed)


def sync(graph: Graph, store: Store, feed: dict, *, per_minute: int = 10_000, seconds: float = 3600.0,
         log: MemorySendLog | None = None, **executor: object) -> Outcome:
    """One run as the service does it: plan against the mapping, then execute."""
    desired = desired_state(read(feed), now=NOW)
    the_plan = plan(desired, store.load(desired.offerings), organizer=ORG, now=NOW)
    clock = Timebase()

    async def pacer_for(organizer: str) -> Pacer:
        pacer = Pacer(organizer=organizer, per_minute=per_minute, per_day=1_000_000, deadline=clock.now() + seconds,
                      timebase=clock, log=log)
        await pacer.load()
        return pacer

    return asyncio.run(Executor(graph, store, pacer_for, **executor).run(the_plan.actions))  # type: ignore[arg-type]


def big_feed(learners: int) -> dict:
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"] = [
        {"learnerEmail": f"l{i:03d}@contoso.example", "status": "active"} for i in range(learners)
    ]
    return feed


def converged(graph: Graph, store: Store, feed: dict) -> None:
    """Every wanted invitation exists exactly once and was requested exactly once; nothing else is live."""
    desired = desired_state(read(feed), now=NOW)
    live = [e for e in graph.events.values() if not e.cancelled]
    by_tag = Counter(e.tag for e in live)
    assert set(by_tag) == {k.tag() for k in desired.wanted}, "missing or orphan events"
    assert max(by_tag.values(), default=1) == 1, "duplicate events"
    every = {**graph.deleted, **graph.events}
    requests = Counter(every[e].tag for kind, _, e in graph.messages if kind == "meetingRequest")
    cancels = Counter(every[e].tag for kind, _, e in graph.messages if kind == "meetingCancellation")
    for key in desired.wanted:
        assert requests[key.tag()] - cancels[key.tag()] == 1, f"{key.tag()}: requests {requests[key.tag()]}"
    for tag, count in requests.items():
        if tag not in by_tag:
            assert cancels[tag] == count, f"{tag} was invited but never cancelled"
    for key, invitation in desired.wanted.items():
        row = store.rows[key]
        assert row.state == "live" and row.event_id is not None
        event = graph.events[row.event_id]
        assert event.tag == key.tag() and not event.cancelled
        assert event.props["start"] == invitation.content.properties()["start"]


# -- throughput and order ------------------------------------------------------------------

def test_batches_fill_up_and_at_most_four_are_in_flight() -> None:
    graph, store = world()
    outcome = sync(graph, store, big_feed(90))
    assert outcome.count(Create) == 90 * 2 + 3 + 3  # learners x 2 activities, 3 instructor invitations, OFF-2002
    assert all(size <= 20 for size in graph.calls) and graph.calls.count(20) >= len(graph.calls) - 2
    assert 1 < graph.max_in_flight <= 4


def test_the_budget_takes_the_most_urgent_first_and_defers_the_rest_in_order() -> None:
    graph, store = world()
    feed = base_feed()
    desired = desired_state(read(feed), now=NOW)
    ordered = plan(desired, {}, organizer=ORG, now=NOW).sends
    outcome = sync(graph, store, feed, per_minute=4, seconds=5.0)
    assert [a.key for a in outcome.applied] == [a.key for a in ordered[:4]]
    assert [a.key for a in outcome.deferred] == [a.key for a in ordered[4:]]
    assert "OFF-2002" in {a.key.offering_id for a in outcome.applied}  # the soonest activity (Feb) went first
    assert all(row.state == "live" for row in store.rows.values()) and len(store.rows) == 4  # nothing half-done


def test_cancellations_then_updates_then_invitations_within_an_activity() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    enrollment(feed, "OFF-2002", ADA)["status"] = "withdrawn"
    offering(feed, "OFF-2002")["enrollments"].append({"learnerEmail": "new@contoso.example", "status": "active"})
    offering(feed, "OFF-2002")["activities"][0]["location"]["joinUrl"] = "https://meet.example.com/j/new"
    outcome = sync(graph, store, feed, per_minute=3, seconds=5.0)
    assert [type(a) for a in outcome.applied] == [Cancel, Cancel, Update]
    assert [type(a) for a in outcome.deferred] == [Create]


def test_every_intent_is_recorded_before_its_write() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    enrollment(feed, "OFF-1001", BO)["status"] = "withdrawn"
    sync(graph, store, feed)
    assert graph.seen_before_write and set(graph.seen_before_write) == {"pending", "cancelling"}


def test_a_stop_at_the_time_budget_leaves_intents_the_next_run_finishes() -> None:
    graph, store = world()
    graph.unknown_after = 3
    feed = base_feed()
    outcome = sync(graph, store, feed)
    assert len(outcome.deferred) == 7 and not outcome.failed
    assert Counter(r.state for r in store.rows.values()) == {"live": 3, "pending": 7}
    graph.unknown_after = None
    again = sync(graph, store, feed)
    assert again.count(Create) == 7
    converged(graph, store, feed)


def test_a_transaction_id_taken_by_an_old_cancelled_meeting_gets_the_next_generation() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    key = InvitationKey("OFF-2002", "ACT-9", DEE)
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    sync(graph, store, feed)
    store.rows.pop(key)  # the mapping forgot the cancelled row (a rebuild cannot see cancelled meetings)
    enrollment(feed, "OFF-2002", DEE)["status"] = "active"
    outcome = sync(graph, store, feed)
    assert outcome.count(Create) == 1 and not outcome.failed
    row = store.rows[key]
    assert row.generation == 1 and row.state == "live"
    assert graph.events[row.event_id or ""].transaction_id == transaction_id(key, 1)
    converged(graph, store, feed)


def test_the_event_carries_what_was_sent() -> None:
    graph, store = world()
    sync(graph, store, base_feed())
    for row in store.rows.values():
        state = parse_state(graph.events[row.event_id or ""].state)
        assert state is not None
        assert (state.role, state.key_fp, state.hashes, state.generation) == (
            row.role, row.key_fp, row.hashes, row.generation)


def test_sign_in_failure_stops_the_run_and_keeps_the_intents() -> None:
    graph, store = world()

    async def refuse(*_args: object, **_kwargs: object) -> list[WriteResult]:
        raise SignInFailed("Sign-in to Microsoft Entra failed (AADSTS7000215)")

    graph.write = refuse  # type: ignore[method-assign]
    with pytest.raises(SignInFailed):
        sync(graph, store, base_feed())
    assert {r.state for r in store.rows.values()} == {"pending"}


def test_a_refused_write_is_reported_and_the_rest_goes_on() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    ada = store.rows[InvitationKey("OFF-2002", "ACT-9", ADA)]
    graph.events[ada.event_id or ""].cancelled = True  # someone cancelled it in Outlook
    act9 = offering(feed, "OFF-2002")["activities"][0]
    act9["start"] = moved(act9["start"], clock="15:00")
    outcome = sync(graph, store, feed)
    assert [f.key.email for f in outcome.failed] == [ADA]
    assert outcome.count(Update) == 2  # Dee and Pat


def test_a_meeting_deleted_by_hand_is_sent_again_under_the_next_generation() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    key = InvitationKey("OFF-2002", "ACT-9", DEE)
    deleted = store.rows[key].event_id or ""
    graph.delete_by_hand(deleted)
    act9 = offering(feed, "OFF-2002")["activities"][0]
    act9["start"] = moved(act9["start"], clock="15:00")
    outcome = sync(graph, store, feed)
    assert outcome.recreated == [key] and not outcome.failed
    assert sorted(a.key.email for a in outcome.applied) == sorted([ADA.lower(), PAT])  # the two updates
    row = store.rows[key]
    assert (row.state, row.generation) == ("live", 1) and row.event_id not in (None, deleted)
    event = graph.events[row.event_id or ""]
    assert event.transaction_id == transaction_id(key, 1) and event.props["start"]["dateTime"] == act9["start"]
    assert [kind for kind, who, _ in graph.messages if who == DEE] == [
        "meetingRequest", "meetingCancellation", "meetingRequest"]
    converged(graph, store, feed)
    before = len(graph.messages)
    again = sync(graph, store, feed)
    assert (again.applied, again.recreated, len(graph.messages)) == ([], [], before)


def test_a_completed_enrollment_whose_meeting_was_deleted_is_not_invited_again() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    key = InvitationKey("OFF-2002", "ACT-9", DEE)
    graph.delete_by_hand(store.rows[key].event_id or "")
    enrollment(feed, "OFF-2002", DEE)["status"] = "completed"
    act9 = offering(feed, "OFF-2002")["activities"][0]
    act9["start"] = moved(act9["start"], clock="15:00")
    outcome = sync(graph, store, feed)
    assert outcome.recreated == [] and not outcome.failed
    assert store.rows[key].state == "cancelled"
    assert [kind for kind, who, _ in graph.messages if who == DEE] == ["meetingRequest", "meetingCancellation"]


# -- crashes -------------------------------------------------------------------------------

def changed(feed: dict) -> dict:
    """Withdrawals (cancels), a moved session (updates) and a new learner (invitations)."""
    feed = replace_feed(feed)
    enrollment(feed, "OFF-1001", BO)["status"] = "withdrawn"
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    act1 = offering(feed, "OFF-1001")["activities"][0]
    act1["start"] = moved(act1["start"], clock="10:00")
    offering(feed, "OFF-1001")["enrollments"].append({"learnerEmail": "eve@contoso.example", "status": "active"})
    return feed


def replace_feed(feed: dict) -> dict:
    import copy

    return copy.deepcopy(feed)


def steps_of(feed: dict, then: dict | None = None) -> int:
    graph, store = world()
    sync(graph, store, feed)
    if then is not None:
        sync(graph, store, then)
    return graph.fate.steps


@pytest.mark.parametrize("phase", ["first sync", "changes"])
def test_a_crash_at_any_step_converges_on_the_next_run(phase: str) -> None:
    first = base_feed()
    second = changed(first)
    before = steps_of(first) if phase == "changes" else 0
    total = steps_of(first, second) if phase == "changes" else steps_of(first)
    assert total - before > 20
    for crash_at in range(before + 1, total + 1):
        graph, store = world(crash_at)
        target = first if phase == "first sync" else second
        with pytest.raises(Crash):
            sync(graph, store, first)
            sync(graph, store, second)
        graph.fate = store.fate = Fate()  # a new process
        sync(graph, store, target)
        converged(graph, store, target)


def test_a_crash_in_one_run_and_a_changed_feed_in_the_next_still_converge() -> None:
    """Creates left pending by the crash are adopted with what they said then, and updated at once."""
    first = base_feed()
    second = changed(first)
    for crash_at in range(1, steps_of(first) + 1):
        graph, store = world(crash_at)
        with pytest.raises(Crash):
            sync(graph, store, first)
        graph.fate = store.fate = Fate()
        outcome = sync(graph, store, second)
        assert not outcome.deferred and not outcome.failed
        converged(graph, store, second)


def test_two_crashes_in_a_row_still_converge() -> None:
    first = base_feed()
    for a, b in [(3, 2), (7, 5), (12, 1), (20, 9)]:
        graph, store = world(a)
        with pytest.raises(Crash):
            sync(graph, store, first)
        graph.fate = store.fate = Fate(b)
        with pytest.raises(Crash):
            sync(graph, store, first)
        graph.fate = store.fate = Fate()
        sync(graph, store, first)
        converged(graph, store, first)


def test_a_pending_row_whose_create_landed_is_adopted_not_sent_again() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    key = InvitationKey("OFF-2002", "ACT-9", DEE)
    row = store.rows[key]
    store.rows[key] = replace(row, state="pending", event_id=None)
    before = len(graph.messages)
    outcome = sync(graph, store, feed)
    assert outcome.count(Create) == 1 and len(graph.messages) == before
    assert store.rows[key].event_id == row.event_id


def test_a_cancel_left_cancelling_by_an_earlier_run_is_read_before_it_is_sent_again() -> None:
    graph, store = world()
    feed = base_feed()
    sync(graph, store, feed)
    enrollment(feed, "OFF-1001", BO)["status"] = "withdrawn"
    graph.unknown_after = graph.written  # every write of the next run ends with its outcome unknown
    sync(graph, store, feed)
    withdrawn = {k for k, r in store.rows.items() if k.email == BO}
    assert withdrawn and {store.rows[k].state for k in withdrawn} == {"cancelling"}
    assert graph.cancels and not any(w.check_first for w in graph.cancels)  # a first cancel goes straight out
    graph.unknown_after = None
    graph.cancels.clear()
    sync(graph, store, feed)
    assert {InvitationKey.from_tag(w.tag) for w in graph.cancels} == withdrawn
    assert all(w.check_first for w in graph.cancels)
    assert {store.rows[k].state for k in withdrawn} == {"cancelled"}


# -- the send rate under the budget ---------------------------------------------------------

@dataclass
class SlowStore(Store):
    """A mapping whose writes take a round trip, as Table Storage's do; each write's moment is kept."""

    clock: Timebase = field(default_factory=Timebase)
    delay: float = 0.004  # real seconds per write
    slow: set[InvitationKey] = field(default_factory=set)  # rows whose write takes ten times as long
    written_at: list[tuple[float, InvitationKey, str]] = field(default_factory=list)

    def put(self, record: SentRecord) -> SentRecord:
        time.sleep(self.delay * (10 if record.key in self.slow else 1))
        stored = super().put(record)
        self.written_at.append((self.clock.now(), record.key, record.state))
        return stored


@dataclass
class HeldGraph(Graph):
    """Graph holding each batch in flight for a while; each batch's moment and writes are kept."""

    clock: Timebase = field(default_factory=Timebase)
    hold: float = 0.003  # real seconds a batch is at Graph
    batches: list[tuple[float, list[str]]] = field(default_factory=list)

    async def write(self, organizer: str, writes: Sequence[Write], *, extra_message: ExtraMessage | None = None,
                    patience: float | None = None) -> list[WriteResult]:
        self.batches.append((self.clock.now(), [w.event.tag for w in writes if isinstance(w, CreateWrite)]))
        await asyncio.sleep(self.hold)
        return await super().write(organizer, writes, extra_message=extra_message, patience=patience)


def test_under_the_budget_each_window_is_used_the_moment_it_frees_and_urgency_order_holds() -> None:
    """Each window's batch goes out as soon as the window has room: its intents were recorded while
    the pacer waited, not after it admitted them (a mapping round trip per action that every minute
    lost). Batches reach Graph in urgency order, and no rolling minute holds more than the budget."""
    clock = Timebase(400.0)  # a minute passes in 0.15 s
    store = SlowStore(clock=clock)
    graph = HeldGraph(store=store, clock=clock)
    per_minute = 30  # one batch of 20 and one of 10 a minute: two groups share each window
    admitted: list[tuple[float, int]] = []

    class Watched(Pacer):
        async def admit(self, wanted: int, **kwargs: Any) -> Ticket | None:
            ticket = await super().admit(wanted, **kwargs)
            if ticket is not None:
                admitted.append((self.timebase.now(), ticket.count))
            return ticket

    async def pacer_for(organizer: str) -> Pacer:
        return Watched(organizer=organizer, per_minute=per_minute, per_day=1_000_000,
                       deadline=clock.now() + 3600.0, timebase=clock)

    feed = big_feed(40)
    desired = desired_state(read(feed), now=NOW)
    ordered = plan(desired, {}, organizer=ORG, now=NOW).sends
    store.slow = {ordered[0].key}  # the most urgent group is ready last: it must still go first
    outcome = asyncio.run(Executor(graph, store, pacer_for).run(ordered))

    assert len(ordered) > 2 * per_minute and outcome.count(Create) == len(ordered) and not outcome.failed
    assert [tag for _, tags in graph.batches for tag in tags] == [a.key.tag() for a in ordered]  # most urgent first
    sent = [at for at, tags in graph.batches for _ in tags]
    assert max_in_window(sent, 60.0) <= per_minute
    # every group admitted after the first minute had its intents recorded before its admission
    recorded = {key.tag(): at for at, key, state in store.written_at if state == "pending"}
    first = admitted[0][0]
    start = 0
    for at, count in admitted:
        tags = [a.key.tag() for a in ordered[start:start + count]]
        start += count
        if at >= first + 60.0:
            assert all(recorded[tag] <= at for tag in tags), "a group's intents were recorded after its admission"


def max_in_window(moments: list[float], span: float) -> int:
    moments = sorted(moments)
    return max((sum(1 for m in moments if t - span < m <= t) for t in moments), default=0)

"""The sync use case, shared by the hourly timer, the admin API and the CLI.

read feed -> desired state -> plan (pure) -> guard -> executor (Graph) -> mapping, offering
state and run record. Nothing is sent before the feed has been read and the whole plan
checked, so an unreadable feed or a mass cancellation stops the run with nothing sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.calendar.gateway import CalendarGateway
from shared.domain import Feed, Offering
from shared.errors import ConfigurationError, FeedUnreadable, LearncalError, MappingLost, NoFeedYet, RunInProgress
from shared.feed.blobdrop import is_blob_source
from shared.planning.chunks import CHUNK_INVITATIONS, PlannedChunk, RunPlan, offering_chunks
from shared.planning.desired import Allowlist, DesiredState, desired_state
from shared.planning.plan import Cancel, Create, Plan, Remember, Update, plan
from shared.queue.drain import Drainer, DrainResult, merge
from shared.queue.wakeup import Sent, WakeUps
from shared.queue.work import WorkItem, WorkStore, new_plan_id, sender
from shared.settings import Settings
from shared.store.allowance import AllowanceStore, Via
from shared.store.lease import PLANNER, LeaseStore
from shared.store.mapping import ConcurrentChange, MappingStore
from shared.store.offerings import ConcurrentOfferingChange, OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import SendLog
from shared.sync.executor import Failure, Outcome, describe
from shared.sync.lease_keeper import LEASE_TIMING, LeaseKeeper, LeaseTiming
from shared.sync.pacing import Timebase
from shared.sync.pins import REPINNED, RunPins, offering_needs, pin_run
from shared.sync.summary import RunSummary
from shared.templates.model import TemplateSet

if TYPE_CHECKING:
    from shared.feed.dropfeeds import DropFeeds

log = logging.getLogger("learncal.sync")

TEMPLATE_FAILED = "template-failed"  # a warning's kind: a saved template failed on some session's values
RULES_VERSION = "1"  # bump when content rendering changes, so every offering is looked at again
PLAN_LISTED = 10_000  # writes a dry run lists, the most urgent first (its counts cover the whole plan)
KEEP_PLANNED = 2 * CHUNK_INVITATIONS  # invitations and mapping rows of planned chunks held between the passes




@dataclass(frozen=True)
class SyncRequest:
    feed: str | None = None
    dry_run: bool = False
    # A one-shot allowance for the mass-cancellation guard: N cancellations, or True for as many
    # as this run plans (the preview's count). Recorded with `given_by`; see shared/store/allowance.py.
    allow_mass_cancel: int | bool = False
    given_by: str | None = None
    via: Via = "cli"
    # True: this process also sends the plan (for up to LEARNCAL_RUN_SECONDS), the synchronous
    # mode of `learncal sync` and the timer; False: plan only, and wake the send workers at once.
    send_in_process: bool = True


@dataclass(frozen=True)
class ProviderView:
    """The effective provider settings of one run (stored configuration over environment)."""

    status: str
    organizer: str | None
    allowlist: tuple[str, ...]
    organizers: tuple[str, ...] = ()  # the pool; `organizer` is its first mailbox
    default_language: str = "en"  # BCP 47: the language of invitations whose own has no template
    request_responses: bool = False  # new invitations ask for a response (collection is on)

    def __post_init__(self) -> None:
        if not self.organizers and self.organizer:
            object.__setattr__(self, "organizers", (self.organizer,))
        elif self.organizers and not self.organizer:
            object.__setattr__(self, "organizer", self.organizers[0])


@dataclass(frozen=True)
class RolloutCount:
    """What reconciling every offering of the feed would send now (nothing marked, nothing sent)."""

    updates: int  # update messages: one per invitation whose meeting would read differently
    offerings: tuple[str, ...]  # the offerings with at least one update
    creates: int = 0  # new invitations the feed asks for anyway (a normal run sends them too)
    cancels: int = 0
    template_version: str | None = None


class SyncService:
    def __init__(
        self,
        settings: Settings,
        *,
        mapping: MappingStore,
        offerings: OfferingStore,
        runs: RunStore,
        leases: LeaseStore,
        gateway_factory: Callable[[], CalendarGateway],
        read_feed: Callable[[str], Feed],
        provider: Callable[[], ProviderView],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[str], None] | None = None,
        send_log: SendLog | None = None,
        timebase: Timebase | None = None,
        lease_timing: LeaseTiming | None = None,
        lease_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        allowances: AllowanceStore | None = None,
        drop: DropFeeds | None = None,
        work: WorkStore,
        wakeups: WakeUps | None = None,
        templates: Callable[[str], TemplateSet] | None = None,
    ) -> None:
        self._settings = settings
        self._mapping = mapping
        self._offerings = offerings
        self._runs = runs
        self._leases = leases
        self._gateway_factory = gateway_factory
        self._read_feed = read_feed
        self._provider = provider
        self._clock = clock
        self._progress = progress or (lambda _message: None)
        self._send_log = send_log  # what each organizer sent in the last day, across runs
        self._timebase = timebase or Timebase()  # scaled only by benchmarks, with the sandbox's clock
        self._lease_timing = lease_timing or LEASE_TIMING
        self._lease_clock = lease_clock
        self._allowances = allowances  # None: no allowance can be given (tests of other parts)
        self._drop = drop  # the feed drop behind `blob:` sources (None: read them without keeping history)
        self._work = work
        self._wakeups = wakeups  # None: nothing is put on the send queue (the work waits for the next run)
        # The templates in force for a default language (shared/store/templates.py), read once per run;
        # None: the built-in texts.
        self._templates = templates

    def organizer(self) -> str | None:
        """The organizer in force (the stored provider configuration over the environment)."""
        return self._provider().organizer

    def sync(self, request: SyncRequest, *, run_id: str | None = None) -> RunSummary:
        """One run; `run_id` is the id of the requested run this performs (shared/runs)."""
        summary = RunSummary(run_id=run_id or uuid.uuid4().hex[:12], started_at=self._clock(),
                             dry_run=request.dry_run)
        try:
            self._sync(request, summary)
        except RunInProgress as error:
            summary.failure = type(error).__name__
            summary.finish("failed", str(error))
            return summary  # not recorded: the run in progress records its own outcome
        except NoFeedYet as error:  # a fresh installation waiting for its first feed: not a failure
            summary.skipped = str(error)
            summary.finish("skipped", str(error))
        except LearncalError as error:
            summary.failure = type(error).__name__
            summary.finish("failed", str(error))
        except Exception as error:  # the run's record must say it failed, whatever happened
            log.exception("sync run failed")
            summary.failure = type(error).__name__
            summary.finish("failed", f"The run failed unexpectedly: {type(error).__name__}. See the logs.")
        if summary.ended_at is None:
            summary.finish()
        if not request.dry_run:
            self._record(summary)
            self._settle_feed(summary)
        return summary

    # -- the run ---------------------------------------------------------------------------

    def _sync(self, request: SyncRequest, summary: RunSummary) -> None:
        started = self._timebase.now()  # the run's time budget counts from here
        provider = self._provider()
        summary.organizer = provider.organizer
        summary.organizers = list(provider.organizers)
        if provider.status != "active":
            summary.skipped = "The provider status is inactive; nothing was sent and Graph was not called."
            summary.finish("skipped", summary.skipped)
            return
        if not provider.organizer:
            raise ConfigurationError("Missing configuration: LEARNCAL_ORGANIZER (the organizer mailbox).")
        source = request.feed or self._settings.feed
        if not source:
            raise ConfigurationError("No feed given: pass --feed PATH_OR_URL or set LEARNCAL_FEED.")
        feed = self._feed(source, summary)  # FeedUnreadable ends the run here, before anything is sent
        summary.rejected = list(feed.rejections)
        now = self._clock()

        if request.dry_run:
            self._plan_and_apply(request, summary, feed, provider, now, started, None)
            return
        lease = self._leases.acquire(PLANNER, seconds=self._lease_timing.seconds, now=self._lease_clock())
        keeper = LeaseKeeper(self._leases, lease, timing=self._lease_timing, clock=self._lease_clock)
        try:
            self._plan_and_apply(request, summary, feed, provider, now, started, keeper)
        finally:
            keeper.release()

    def _plan_and_apply(
        self, request: SyncRequest, summary: RunSummary, feed: Feed, provider: ProviderView, now: datetime,
        started: float, keeper: LeaseKeeper | None,
    ) -> None:
        assert provider.organizer
        states = self._offerings.all()
        templates = self._template_set(provider)
        digests = {o.id: self._digest(o, feed, provider) for o in feed.offerings}
        examine = {
            o.id for o in feed.offerings
            if (state := states.get(o.id)) is None or state.digest != digests[o.id] or not state.settled
            or state.reconcile_requested_at is not None
        }
        skipped = [states[i] for i in digests if i not in examine]
        summary.offerings_examined = len(examine)
        summary.offerings_unchanged = len(skipped)
        reconcile = frozenset(i for i in examine if states.get(i) and states[i].reconcile_requested_at)
        # The guards see the whole plan before anything is queued: a first pass over the chunks counts
        # it (keeping the chunks' plans while they are small, the usual run); a large plan is planned
        # again, chunk by chunk, as its work is written.
        tally = RunPlan(limit=PLAN_LISTED if request.dry_run else 0)
        kept: list[tuple[PlannedChunk, RunPins]] | None = []
        held = 0
        failed_templates: dict[str, None] = {}
        for chunk, pinned in self._planned_chunks(feed, examine, states, provider, reconcile, now, templates):
            tally.add(chunk.plan)
            summary.warnings.extend(pinned.warnings)
            summary.template_fallbacks += chunk.desired.template_fallbacks
            failed_templates.update(dict.fromkeys(chunk.desired.template_errors))
            held += chunk.size
            if kept is not None and held <= KEEP_PLANNED:
                kept.append((chunk, pinned))
            else:
                kept = None  # too large to hold: planned again below
            del chunk, pinned
        summary.warnings.extend({"kind": TEMPLATE_FAILED, "message": f"A saved {error}; the built-in wording was "
                                 "used for the invitations it failed on."} for error in list(failed_templates)[:10])
        summary.unchanged = tally.unchanged + sum(s.live for s in skipped)
        summary.held = tally.held
        summary.left_out = tally.left_out
        summary.waiting_for_reconcile = tally.waiting_for_reconcile
        self._progress(
            f"Planned {tally.count(Create)} invitations, {tally.count(Update)} updates, "
            f"{tally.count(Cancel)} cancellations across {len(examine)} changed offerings "
            f"({len(skipped)} unchanged)."
        )
        guard_note = self._guard(tally, skipped, request, summary)
        self._guard_lost_mapping(tally)
        if request.dry_run:
            summary.created = tally.count(Create) + tally.counts["reinvite"]
            summary.updated = tally.count(Update)
            summary.cancelled = tally.count(Cancel)
            summary.plan = [describe(a) for a in tally.actions]
            listed = None
            if tally.dropped:
                listed = f"The plan lists the {len(summary.plan)} most urgent of its {tally.sends} writes."
            summary.finish("completed", " ".join(filter(None, [
                "Dry run: nothing was sent or recorded.", listed, guard_note])))
            return
        plan_id = new_plan_id()
        queued_before = self._work.offerings()  # offering -> organizers with rows, before this plan's
        racing = self._racing(examine, queued_before)
        senders = {organizer for organizers in queued_before.values() for organizer in organizers}
        remembered = Outcome()
        with_work: set[str] = set()
        chunks = kept if kept is not None else self._planned_chunks(feed, examine, states, provider, reconcile, now,
                                                                    templates)
        for chunk, pinned in chunks:
            if pinned.changed:
                self._offerings.pin(pinned.changed)  # recorded before its work is queued
            part = asyncio.run(_remember(self._mapping, chunk.plan))
            items = [WorkItem(sender(a), a, summary.run_id, plan_id) for a in chunk.plan.sends
                     if isinstance(a, (Create, Update, Cancel))]
            offerings_with_work = {item.offering_id for item in items}
            self._bookkeep(replace(feed, offerings=chunk.offerings), examine, states, digests, chunk.sent, part,
                           chunk.plan, offerings_with_work, plan_id, now, summary, chunk.desired, racing, pinned.pins)
            self._work.write(items)
            senders.update(item.organizer for item in items)
            merge(remembered, part)
            with_work |= offerings_with_work
            del chunk, pinned, items, part  # the next chunk's are built in their place
        kept = None
        self._work.sweep({offering: plan_id for offering in examine})
        organizers = self._work.organizers(senders)
        if request.send_in_process:
            outcome = self._drain_all(summary.run_id, started + self._settings.run_seconds, summary, provider,
                                      organizers)
        else:
            outcome = Outcome()
            for organizer in organizers:
                self._wake(organizer, summary.run_id, 0.0)
        merge(outcome, remembered)
        self._summarise(summary, outcome)
        if keeper is not None and keeper.stop_reason:
            summary.stopped = f"Stopped sending early: {keeper.stop_reason}."
        summary.deferred = self._work.left_for_run(summary.run_id, untried=True)
        if summary.deferred:
            self._progress(f"{summary.deferred} writes left queued; the send queue sends them as the budget allows.")
        for offering in sorted(with_work):
            state = self._offerings.get(offering)
            mark = states[offering].reconcile_requested_at if offering in states else None
            if state is not None and state.settled and mark is not None:
                summary.reconciled.append(offering)
        summary.finish("completed", self._message(summary))

    def _racing(self, examine: set[str], queued: dict[str, set[str]]) -> set[str]:
        """Examined offerings whose queued work a drain may be sending while this plan is made.

        This plan read the mapping before those sends, so it cannot be the one to settle them:
        they stay unsettled (`redecide`) and the next plan looks at them with what was sent.
        """
        busy: dict[str, bool] = {}
        racing = set()
        for offering, organizers in queued.items():
            if offering not in examine:
                continue
            for organizer in organizers:
                if organizer not in busy:
                    busy[organizer] = self._leases.time_left(organizer, now=self._lease_clock()) is not None
                if busy[organizer]:
                    racing.add(offering)
        return racing

    def count_rollout(self, feed: str | None = None) -> RolloutCount:
        """A dry run with every offering reconciled, counted chunk by chunk as a run plans.

        Only one chunk's desired state and plan is held at a time (shared/planning/chunks.py),
        so a large catalog is counted in the memory of a run, not of the whole plan.
        """
        provider = self._provider()
        if provider.status != "active":
            raise ConfigurationError("The provider status is inactive, so a roll-out would send nothing; set it active "
                                     "first (learncal provider set --status active).")
        if not provider.organizer:
            raise ConfigurationError("Missing configuration: LEARNCAL_ORGANIZER (the organizer mailbox).")
        source = feed or self._settings.feed
        if not source:
            raise ConfigurationError("No feed given: pass --feed PATH_OR_URL or set LEARNCAL_FEED.")
        the_feed = self._feed(source, RunSummary(run_id="rollout", started_at=self._clock(), dry_run=True))
        now = self._clock()
        templates = self._template_set(provider)
        every = {o.id for o in the_feed.offerings}
        updates = Counter[str]()
        creates = cancels = 0
        chunks = self._planned_chunks(the_feed, every, self._offerings.all(), provider, frozenset(every), now,
                                      templates)
        for chunk, _pinned in chunks:
            for action in chunk.plan.actions:
                if isinstance(action, Update):
                    updates[action.key.offering_id] += 1
                elif isinstance(action, Create):
                    creates += 1
                elif isinstance(action, Cancel):
                    cancels += 1
                    creates += action.reinvite is not None
            del chunk
        return RolloutCount(sum(updates.values()), tuple(sorted(updates)), creates, cancels,
                            templates.version if templates is not None else None)

    def _template_set(self, provider: ProviderView) -> TemplateSet | None:
        """The templates in force, read once per run, so every invitation of a run reads the same version."""
        return self._templates(provider.default_language) if self._templates is not None else None

    def _planned_chunks(
        self, feed: Feed, examine: set[str], states: dict[str, OfferingState], provider: ProviderView,
        reconcile: frozenset[str], now: datetime, templates: TemplateSet | None = None,
    ) -> Iterator[tuple[PlannedChunk, RunPins]]:
        """The changed offerings planned a chunk at a time (shared/planning/chunks.py), each from its own
        mapping rows, so memory follows the chunk, not the catalog. Only changed offerings are rendered:
        a run costs what changed, not the catalog's size.

        Each chunk's offerings are pinned to pool mailboxes (shared/sync/pins.py) counting what the
        chunks before it pinned, so the pool is balanced across the whole run, as if planned at once.
        """
        allowlist = Allowlist(provider.allowlist)
        pinning = dict(states)  # what each mailbox carries, with the pins of the chunks planned so far
        for offerings in offering_chunks([o for o in feed.offerings if o.id in examine], limit=CHUNK_INVITATIONS):
            sent = self._mapping.load(sorted(o.id for o in offerings))
            scoped = desired_state(replace(feed, offerings=offerings), now=now, allowlist=allowlist,
                                   templates=templates, request_responses=provider.request_responses)
            pinned = pin_run(scoped, sent, pinning, provider.organizers)
            part = plan(scoped, sent, organizer=pinned.pins, reconcile=reconcile, now=now)
            live = Counter(k.offering_id for k, r in sent.items() if r.live)
            live.update(offering_needs(scoped, sent))
            for offering_id, organizer in pinned.pins.items():
                if offering_id in scoped.offerings:
                    known = pinning.get(offering_id) or OfferingState(offering_id)
                    pinning[offering_id] = known.but(organizer=organizer, live=live[offering_id])
            yield PlannedChunk(offerings, scoped, sent, part), pinned

    def _drain_all(self, run_id: str, deadline: float, summary: RunSummary, provider: ProviderView,
                   organizers: list[str]) -> Outcome:
        """The synchronous mode: this process sends the queued work of every organizer until the
        run's time slice ends, one drain per organizer at once; what is left is woken on the queue.

        A wake-up for each organizer is put on the queue first, visible only after this run's
        time slice and lease would have run out: should this process die while sending, the
        send worker carries on from the work table.
        """
        outcome = Outcome()
        if not organizers:
            return outcome
        total = Counter[str]()

        def progress(action: Any) -> None:
            total[type(action).__name__] += 1
            if sum(total.values()) % 50 == 0:
                self._progress(f"Sent {sum(total.values())} ({dict(total)})")

        drainer = self._drainer(progress)
        safety_delay = self._timebase.real(max(0.0, deadline - self._timebase.now())) + self._lease_timing.seconds
        safety: dict[str, Sent | None] = {}

        def put_safety() -> None:  # beside the sending: the queue client's first use costs most of a second
            safety.update({o: self._wake(o, run_id, safety_delay) for o in organizers})

        net = threading.Thread(target=put_safety, name="learncal-wakeups", daemon=True)
        net.start()
        with ThreadPoolExecutor(max_workers=min(8, len(organizers)), thread_name_prefix="learncal-drain") as pool:
            results = list(pool.map(lambda o: drainer.drain(o, deadline=deadline, provider=provider), organizers))
        net.join()
        for result in results:
            merge(outcome, result.outcome)
            if result.stopped:
                summary.stopped = f"Stopped sending early: {result.stopped}."
            sent = safety.get(result.organizer)
            if sent is not None and self._wakeups is not None:
                self._wakeups.withdraw(sent)
            if result.wake_in is not None:
                self._wake(result.organizer, run_id, result.wake_in)
        if total:
            self._progress(f"Sent {sum(total.values())} ({dict(total)})")
        return outcome

    def _feed(self, source: str, summary: RunSummary) -> Feed:
        if not is_blob_source(source):
            return self._read_feed(source)
        if self._drop is None:
            return self._read_feed(source)
        try:
            reading = self._drop.read(source)
        except NoFeedYet:
            summary.feed = {"source": "blob", "container": source.split(":", 1)[1].split("/", 1)[0], "name": None}
            raise
        summary.feed = reading.to_json()
        return reading.feed

    def _settle_feed(self, summary: RunSummary) -> None:
        """The drop's history says which run used which feed; old feeds go once a run completed."""
        if self._drop is None or not summary.feed or not summary.feed.get("name"):
            return
        try:
            self._drop.settle(summary.feed, run_id=summary.run_id, completed=summary.status == "completed")
        except Exception:
            log.warning("could not record the feed this run used", exc_info=True)

    def send_queued(self, organizer: str, run_id: str | None) -> DrainResult:
        """One send-worker invocation: drain the organizer's work for one time slice, then wake it
        again when the budget has room (raises when the wake-up cannot be sent, so the host retries
        the message and no work is stranded without one)."""
        result = self._drainer().drain(organizer)
        if result.wake_in is not None and self._wakeups is not None:
            self._wakeups.send(organizer, run_id, delay=result.wake_in)
        return result

    def _drainer(self, progress: Callable[[Any], None] | None = None) -> Drainer:
        return Drainer(
            self._settings, work=self._work, offerings=self._offerings, mapping=self._mapping, leases=self._leases,
            runs=self._runs, gateway_factory=self._gateway_factory, provider=self._provider, send_log=self._send_log,
            timebase=self._timebase, clock=self._clock, lease_timing=self._lease_timing, lease_clock=self._lease_clock,
            progress=progress,
        )

    def _wake(self, organizer: str, run_id: str, delay: float) -> Sent | None:
        """A wake-up message for the send worker; a queue that cannot be reached only delays the work
        until the next run (which plans it again), so it is logged, not raised."""
        if self._wakeups is None:
            return None
        try:
            return self._wakeups.send(organizer, run_id, delay=delay)
        except Exception as error:
            log.warning("could not put a wake-up for %s on the send queue (%s); the next run sends its work",
                        organizer, type(error).__name__)
            return None

    # -- guard, bookkeeping ----------------------------------------------------------------

    def _guard(self, the_plan: RunPlan, skipped: list[OfferingState], request: SyncRequest,
               summary: RunSummary) -> str | None:
        """Stop a run that would cancel an unusual number of invitations, unless an allowance covers it.

        Returns, for a dry run (the preview), what a real run would meet; raises for a real run.
        Cancellations an earlier run already started (recorded `cancelling`) are not counted: that
        run passed the guard with them, and holding them back would leave them half-done.
        """
        from shared.errors import MassCancellationStopped

        cancels = the_plan.new_cancels
        live = the_plan.live_before + sum(s.live for s in skipped)
        if not request.dry_run:
            self._take_allowances(request, cancels, trips=self._guard_reason(cancels, live) is not None)
        reason = self._guard_reason(cancels, live)
        if reason is None:
            return None
        share = 100.0 * cancels / live if live else 100.0
        what = f"this run would cancel {cancels} of {live} live invitations ({share:.0f}%), {reason}."
        how = (
            "A truncated or wrong feed is the usual cause; `learncal sync --dry-run` lists what would be cancelled. "
            f"If these cancellations are intended, allow them once: run `learncal sync --allow-mass-cancel={cancels}`, "
            f'or POST /api/sync with {{"allowMassCancel": {cancels}}}, or set LEARNCAL_ALLOW_MASS_CANCEL={cancels} '
            "for the next scheduled run. An allowance is kept for 24 hours and used by the first run the guard would "
            "stop that cancels no more than its number."
        )
        if request.dry_run:
            summary.guard = {"cancellations": cancels, "live": live, "reason": reason}
            return f"A real run would be stopped by the mass-cancellation guard: {what} {how}"
        now = self._clock()
        allowance = self._allowances.current() if self._allowances is not None else None
        if allowance is not None and not allowance.expired(now) and cancels <= allowance.count:
            assert self._allowances is not None
            if self._allowances.use(allowance):
                summary.mass_cancel_allowance = {**allowance.to_json(), "used": cancels}
                log.warning("mass-cancellation guard passed with an allowance of %d given by %s: %d of %d live "
                            "invitations", allowance.count, allowance.given_by, cancels, live)
                return None
        note = ""
        if allowance is not None and allowance.expired(now):
            note = (f" The allowance of {allowance.count} given by {allowance.given_by} on "
                    f"{allowance.given_at:%Y-%m-%d %H:%M} UTC has expired.")
        elif allowance is not None and cancels > allowance.count:
            note = (f" The allowance in force ({allowance.count}, given by {allowance.given_by}) is smaller than this "
                    "run's cancellations, so it was left unused.")
        raise MassCancellationStopped(f"Stopped before sending anything: {what}{note} {how}")

    def _guard_reason(self, cancels: int, live: int) -> str | None:
        """Why these cancellations are too many, or None when they are not."""
        settings = self._settings
        if cancels > settings.mass_cancel_max:
            return f"more than the {settings.mass_cancel_max} any run may cancel (LEARNCAL_MASS_CANCEL_MAX)"
        if cancels >= settings.mass_cancel_min and cancels > settings.mass_cancel_ratio * live:
            return (f"at least {settings.mass_cancel_min} (LEARNCAL_MASS_CANCEL_MIN) and more than "
                    f"{settings.mass_cancel_ratio:.0%} of them (LEARNCAL_MASS_CANCEL_RATIO)")
        return None

    def _take_allowances(self, request: SyncRequest, cancels: int, *, trips: bool) -> None:
        """Record the allowances this run was given: the environment's (once) and the request's.

        A bare allowance (`--allow-mass-cancel`, `"allowMassCancel": true`) means "this run's
        cancellations": when this run does not need it, nothing is kept for a later run to use.
        """
        if self._allowances is None:
            return
        given = self._allowances.from_environment(self._settings.allow_mass_cancel)
        if given is not None:
            log.warning("LEARNCAL_ALLOW_MASS_CANCEL gave a one-shot allowance of %d cancellations", given.count)
        wanted = request.allow_mass_cancel
        if wanted is True and not trips:
            return
        count = cancels if wanted is True else int(wanted)
        if wanted is not False and count > 0:
            self._allowances.give(count, by=request.given_by or "an unnamed caller", via=request.via)
            log.warning("%s gave a one-shot allowance of %d cancellations", request.given_by, count)

    def _guard_lost_mapping(self, the_plan: RunPlan) -> None:
        """An empty mapping is not proof that nothing was sent.

        A new or replaced table reads as "nothing sent", and only the transactionId would stand
        between the creates and a second invitation for everyone (Graph documents no lasting
        guarantee for it). So before the first create into an empty mapping, each organizer
        calendar about to be written to is asked for any meeting this service tagged.
        """
        if not the_plan.create_organizers or not self._mapping.is_empty():
            return
        organizers = sorted(the_plan.create_organizers)
        found = asyncio.run(self._calendars_with_tagged_events(organizers))
        if not found:
            return
        rebuild = "`learncal mapping rebuild`" if len(found) == 1 else \
            "`learncal mapping rebuild --organizer ADDRESS` for each of them"
        raise MappingLost(
            f"Stopped before sending anything: the mapping of sent invitations is empty, but the calendar of "
            f"{', '.join(found)} already holds meetings this service sent (the mapping table was replaced or "
            f"deleted). Sending now could invite people a second time. Run {rebuild} to restore the mapping "
            "from those meetings, then run the sync again."
        )

    async def _calendars_with_tagged_events(self, organizers: list[str]) -> list[str]:
        gateway = self._gateway_factory()
        try:
            return [organizer for organizer in organizers if await gateway.has_tagged_events(organizer)]
        finally:
            await gateway.aclose()

    def _summarise(self, summary: RunSummary, outcome: Outcome) -> None:
        summary.created = outcome.count(Create)
        summary.updated = outcome.count(Update)
        summary.cancelled = outcome.count(Cancel)
        summary.recreated = sorted(key.tag() for key in outcome.recreated)
        summary.deferred = len(outcome.deferred)
        summary.errors = [{"invitation": f.key.tag(), "message": f.message} for f in outcome.failed]

    def _bookkeep(
        self, feed: Feed, examine: set[str], states: dict[str, OfferingState], digests: dict[str, str],
        sent: dict[Any, Any], remembered: Outcome, the_plan: Plan, with_work: set[str], plan_id: str, now: datetime,
        summary: RunSummary, desired: DesiredState, racing: set[str], pins: dict[str, str],
    ) -> None:
        """Record the plan on every offering it examined: settled when it left no work (so the next
        run can skip it), else unsettled under this plan's id until its last work row is done."""
        unfinished = {f.key.offering_id for f in remembered.failed} | with_work | racing
        records = dict(sent)
        records.update(remembered.records)
        covered = {a.key for a in the_plan.actions if isinstance(a, Create)}
        covered |= {a.key for a in the_plan.actions if isinstance(a, Cancel) and a.reinvite is not None}
        unfinished |= _without_invitation(desired, {k: r for k, r in records.items() if k not in covered}, covered)
        live = Counter(k.offering_id for k, r in records.items() if r.live)
        for offering in feed.offerings:
            if offering.id not in examine:
                continue
            previous = states.get(offering.id)
            settled = offering.id not in unfinished
            mark = previous.reconcile_requested_at if previous else None
            if settled and mark is not None:
                summary.reconciled.append(offering.id)
            state = OfferingState(
                offering_id=offering.id, title=offering.title, digest=digests[offering.id],
                settled=settled, live=live[offering.id], last_seen=now, plan_id=plan_id,
                plan_reconcile=mark if offering.id in with_work else None, redecide=offering.id in racing,
                organizer=pins.get(offering.id) or (previous.organizer if previous else None),
            )
            try:  # a reconcile asked for during this run stays for the next one
                self._offerings.settle(state, applied=mark if settled else None)
            except ConcurrentOfferingChange as error:
                log.warning("%s", error)

    def _digest(self, offering: Offering, feed: Feed, provider: ProviderView) -> str:
        return offering_digest(offering, feed, provider)

    def _record(self, summary: RunSummary) -> None:
        try:
            self._runs.record(summary.to_json())
        except Exception:  # the run's own outcome matters more than its log entry
            log.exception("could not record the run")

    @staticmethod
    def _message(summary: RunSummary) -> str:
        parts = [f"{summary.created} invited", f"{summary.updated} updated", f"{summary.cancelled} cancelled",
                 f"{summary.unchanged} unchanged"]
        if summary.recreated:
            parts.append(f"{len(summary.recreated)} deleted by hand in the organizer's calendar and sent again")
        if summary.deferred:
            why = "the run lease" if summary.stopped else "sending limits or time budget"
            parts.append(f"{summary.deferred} left queued ({why}); the send queue sends them as the budget allows")
        if summary.rejected:
            parts.append(f"{len(summary.rejected)} feed items rejected")
        if summary.errors:
            parts.append(f"{len(summary.errors)} could not be applied")
        moved = sum(1 for w in summary.warnings if w.get("kind") == REPINNED)
        if moved:
            parts.append(f"{moved} offering{'s' if moved != 1 else ''} moved to another organizer because "
                         "{} mailbox left the pool (see warnings)".format("its" if moved == 1 else "their"))
        text = ", ".join(parts) + "."
        return f"{summary.stopped} {text}" if summary.stopped else text


def _without_invitation(desired: DesiredState, records: dict[Any, Any],
                        covered: frozenset[Any] | set[Any] = frozenset()) -> set[str]:
    """Offerings where someone wanted has no live invitation: never settled, so the next run looks again.

    The planner invites everyone wanted; this is the safety net should any path leave a
    wanted person without their meeting, because a settled offering is not looked at again
    until its feed content changes.
    """
    missing: set[str] = set()
    for key, invitation in desired.wanted.items():
        if key in covered:
            continue  # queued: its work row settles the offering once it is sent
        record = records.get(key)
        if invitation.may_create and (record is None or record.state != "live"):
            missing.add(key.offering_id)
    return missing


async def _remember(mapping: MappingStore, the_plan: Plan) -> Outcome:
    """Key fields moved but the meeting reads the same: only the fingerprint is stored, at plan time
    (nothing is sent, so nothing waits in the queue)."""
    outcome = Outcome()
    for action in the_plan.actions:
        if not isinstance(action, Remember):
            continue
        inv = action.invitation
        try:
            record = await asyncio.to_thread(mapping.put, action.record.but(key_fp=inv.key_fp, start_utc=inv.start_utc,
                                                                             end_utc=inv.end_utc))
        except ConcurrentChange as error:
            outcome.failed.append(Failure(action.key, str(error)))
            continue
        outcome.applied.append(action)
        outcome.records[action.key] = record
    return outcome


def offering_digest(offering: Offering, feed: Feed, provider: ProviderView) -> str:
    """Everything that shapes an offering's invitations, hashed.

    The repr of the frozen domain values is deterministic and about ten times faster to
    build than a JSON rendering, which matters when a no-change run hashes every offering.
    """
    holds = sorted(repr(h) for h in feed.holds if h.offering_id == offering.id)
    # A pool of one hashes as the single organizer always did; a changed pool has every offering
    # looked at once, so pins on a mailbox that left are moved (and reported) at once.
    pool: object = provider.organizer if len(provider.organizers) <= 1 else tuple(sorted(provider.organizers))
    text = repr((RULES_VERSION, offering, holds, pool, provider.allowlist))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


__all__ = ["FeedUnreadable", "ProviderView", "RolloutCount", "SyncRequest", "SyncService"]

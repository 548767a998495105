"""The sync use case, shared by the hourly timer, the admin API and the CLI.

read feed -> desired state -> plan (pure) -> guard -> executor (Graph) -> mapping, offering
state and run record. Nothing is sent before the feed has been read and the whole plan
checked, so an unreadable feed or a mass cancellation stops the run with nothing sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from shared.calendar.gateway import CalendarGateway
from shared.domain import Feed, Offering
from shared.errors import ConfigurationError, FeedUnreadable, LearncalError, MappingLost, RunInProgress
from shared.planning.desired import Allowlist, DesiredState, desired_state
from shared.planning.plan import Cancel, Create, Plan, Update, plan
from shared.settings import Settings
from shared.store.allowance import AllowanceStore, Via
from shared.store.lease import LeaseStore
from shared.store.mapping import MappingStore
from shared.store.offerings import ConcurrentOfferingChange, OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import SendLog
from shared.sync.executor import Executor, Outcome, describe
from shared.sync.lease_keeper import LEASE_TIMING, LeaseKeeper, LeaseTiming
from shared.sync.pacing import Pacer, Timebase
from shared.sync.pins import REPINNED, pin_run
from shared.sync.summary import RunSummary

log = logging.getLogger("learncal.sync")

RULES_VERSION = "1"  # bump when content rendering changes, so every offering is looked at again




@dataclass(frozen=True)
class SyncRequest:
    feed: str | None = None
    dry_run: bool = False
    # A one-shot allowance for the mass-cancellation guard: N cancellations, or True for as many
    # as this run plans (the preview's count). Recorded with `given_by`; see shared/store/allowance.py.
    allow_mass_cancel: int | bool = False
    given_by: str | None = None
    via: Via = "cli"


@dataclass(frozen=True)
class ProviderView:
    """The effective provider settings of one run (stored configuration over environment)."""

    status: str
    organizer: str | None
    allowlist: tuple[str, ...]
    organizers: tuple[str, ...] = ()  # the pool; `organizer` is its first mailbox

    def __post_init__(self) -> None:
        if not self.organizers and self.organizer:
            object.__setattr__(self, "organizers", (self.organizer,))
        elif self.organizers and not self.organizer:
            object.__setattr__(self, "organizer", self.organizers[0])


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

    def organizer(self) -> str | None:
        """The organizer in force (the stored provider configuration over the environment)."""
        return self._provider().organizer

    def sync(self, request: SyncRequest) -> RunSummary:
        summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=self._clock(), dry_run=request.dry_run)
        try:
            self._sync(request, summary)
        except RunInProgress as error:
            summary.failure = type(error).__name__
            summary.finish("failed", str(error))
            return summary  # not recorded: the run in progress records its own outcome
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
        feed = self._read_feed(source)  # FeedUnreadable ends the run here, before anything is sent
        summary.rejected = list(feed.rejections)
        now = self._clock()

        if request.dry_run:
            self._plan_and_apply(request, summary, feed, provider, now, started, None)
            return
        lease = self._leases.acquire(provider.organizer, seconds=self._lease_timing.seconds,
                                     now=self._lease_clock())
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
        sent = self._mapping.load(sorted(examine))
        # Only changed offerings are rendered: a run costs what changed, not the catalog's size.
        changed = replace(feed, offerings=tuple(o for o in feed.offerings if o.id in examine))
        scoped = desired_state(changed, now=now, allowlist=Allowlist(provider.allowlist))
        pinned = pin_run(scoped, sent, states, provider.organizers)  # each offering's pool mailbox
        summary.warnings.extend(pinned.warnings)
        if pinned.changed and not request.dry_run:
            self._offerings.pin(pinned.changed)  # recorded before anything is sent
        pins = pinned.pins
        the_plan = plan(scoped, sent, organizer=pins, reconcile=reconcile, now=now)
        summary.unchanged = the_plan.unchanged + sum(s.live for s in skipped)
        summary.held = the_plan.held
        summary.left_out = the_plan.left_out
        summary.waiting_for_reconcile = the_plan.waiting_for_reconcile
        self._progress(
            f"Planned {len(the_plan.of(Create))} invitations, {len(the_plan.of(Update))} updates, "
            f"{len(the_plan.of(Cancel))} cancellations across {len(examine)} changed offerings "
            f"({len(skipped)} unchanged)."
        )
        guard_note = self._guard(the_plan, skipped, request, summary)
        self._guard_lost_mapping(the_plan)
        if request.dry_run:
            summary.created = len(the_plan.of(Create)) + len(the_plan.reinvites)
            summary.updated = len(the_plan.of(Update))
            summary.cancelled = len(the_plan.of(Cancel))
            summary.plan = [describe(a) for a in the_plan.sends]
            summary.finish("completed", " ".join(filter(None, ["Dry run: nothing was sent or recorded.", guard_note])))
            return
        if not the_plan.actions:
            outcome = Outcome()
        else:
            deadline = started + self._settings.run_seconds
            outcome = asyncio.run(self._execute(the_plan, deadline, keeper))
        self._summarise(summary, outcome)
        if keeper is not None and keeper.stop_reason:
            summary.stopped = f"Stopped sending early: {keeper.stop_reason}."
        self._settle(feed, examine, states, digests, sent, outcome, now, summary, scoped, pins)
        summary.finish("completed", self._message(summary))

    async def _execute(self, the_plan: Plan, deadline: float, keeper: LeaseKeeper | None) -> Outcome:
        gateway = self._gateway_factory()
        pacers: dict[str, Pacer] = {}

        async def pacer_for(organizer: str) -> Pacer:
            if organizer not in pacers:
                pacer = Pacer(
                    organizer=organizer, per_minute=self._settings.send_per_minute,
                    per_day=self._settings.send_per_day, deadline=deadline, timebase=self._timebase,
                    log=self._send_log,
                )
                await pacer.load()
                pacers[organizer] = pacer
            return pacers[organizer]

        total = len(the_plan.sends)
        done = Counter[str]()

        def progress(action: Any) -> None:
            done[type(action).__name__] += 1
            count = sum(done.values())
            if total and (count == total or count % 50 == 0):
                self._progress(f"Sent {count} of {total} ({dict(done)})")

        executor = Executor(gateway, self._mapping, pacer_for, progress=progress,
                            should_stop=keeper.should_stop if keeper is not None else lambda: False)
        try:
            outcome = await executor.run(the_plan.actions)
        finally:
            await gateway.aclose()
        reasons = ", ".join(sorted({p.refusal for p in pacers.values() if p.refusal})) or "time"
        if outcome.deferred:
            self._progress(f"Deferred {len(outcome.deferred)} to the next run ({reasons}).")
        return outcome

    # -- guard, bookkeeping ----------------------------------------------------------------

    def _guard(self, the_plan: Plan, skipped: list[OfferingState], request: SyncRequest,
               summary: RunSummary) -> str | None:
        """Stop a run that would cancel an unusual number of invitations, unless an allowance covers it.

        Returns, for a dry run (the preview), what a real run would meet; raises for a real run.
        Cancellations an earlier run already started (recorded `cancelling`) are not counted: that
        run passed the guard with them, and holding them back would leave them half-done.
        """
        from shared.errors import MassCancellationStopped

        cancels = sum(1 for a in the_plan.of(Cancel) if isinstance(a, Cancel) and a.record.state != "cancelling")
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

    def _guard_lost_mapping(self, the_plan: Plan) -> None:
        """An empty mapping is not proof that nothing was sent.

        A new or replaced table reads as "nothing sent", and only the transactionId would stand
        between the creates and a second invitation for everyone (Graph documents no lasting
        guarantee for it). So before the first create into an empty mapping, each organizer
        calendar about to be written to is asked for any meeting this service tagged.
        """
        creates = [a for a in the_plan.actions if isinstance(a, Create)]
        if not creates or not self._mapping.is_empty():
            return
        organizers = sorted({a.organizer.lower() for a in creates})
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

    def _settle(
        self, feed: Feed, examine: set[str], states: dict[str, OfferingState], digests: dict[str, str],
        sent: dict[Any, Any], outcome: Outcome, now: datetime, summary: RunSummary, desired: DesiredState,
        pins: dict[str, str],
    ) -> None:
        """Mark offerings whose every action went through, so the next run can skip them."""
        unfinished = {a.key.offering_id for a in outcome.deferred} | {f.key.offering_id for f in outcome.failed}
        records = dict(sent)
        records.update(outcome.records)
        unfinished |= _without_invitation(desired, records)
        live = Counter(k.offering_id for k, r in records.items() if r.live)
        for offering in feed.offerings:
            if offering.id not in examine:
                continue
            previous = states.get(offering.id)
            settled = offering.id not in unfinished
            applied = previous.reconcile_requested_at if previous and settled else None
            if applied is not None:
                summary.reconciled.append(offering.id)
            state = OfferingState(
                offering_id=offering.id, title=offering.title, digest=digests[offering.id],
                settled=settled, live=live[offering.id], last_seen=now,
                organizer=pins.get(offering.id) or (previous.organizer if previous else None),
            )
            try:  # a reconcile asked for during this run stays for the next one
                self._offerings.settle(state, applied=applied)
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
            parts.append(f"{summary.deferred} deferred to the next run ({why})")
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


def _without_invitation(desired: DesiredState, records: dict[Any, Any]) -> set[str]:
    """Offerings where someone wanted has no live invitation: never settled, so the next run looks again.

    The planner invites everyone wanted; this is the safety net should any path leave a
    wanted person without their meeting, because a settled offering is not looked at again
    until its feed content changes.
    """
    missing: set[str] = set()
    for key, invitation in desired.wanted.items():
        record = records.get(key)
        if invitation.may_create and (record is None or record.state != "live"):
            missing.add(key.offering_id)
    return missing


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


__all__ = ["FeedUnreadable", "ProviderView", "SyncRequest", "SyncService"]

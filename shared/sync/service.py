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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from shared.calendar.gateway import CalendarGateway
from shared.domain import Feed, Offering
from shared.errors import ConfigurationError, FeedUnreadable, LearncalError, RunInProgress
from shared.planning.desired import Allowlist, DesiredState, desired_state
from shared.planning.plan import Cancel, Create, Plan, Update, plan
from shared.settings import Settings
from shared.store.lease import Lease, LeaseStore
from shared.store.mapping import MappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.store.sendlog import SendLog
from shared.sync.executor import Executor, Outcome, describe
from shared.sync.pacing import Pacer, Timebase
from shared.sync.summary import RunSummary

log = logging.getLogger("learncal.sync")

RULES_VERSION = "1"  # bump when content rendering changes, so every offering is looked at again
LEASE_SECONDS = 120.0  # a crashed run blocks the next for at most this long
LEASE_RENEW_SECONDS = 30.0  # a live run renews its lease this often, however long it runs


@dataclass(frozen=True)
class SyncRequest:
    feed: str | None = None
    dry_run: bool = False
    allow_mass_cancel: bool = False


@dataclass(frozen=True)
class ProviderView:
    """The effective provider settings of one run (stored configuration over environment)."""

    status: str
    organizer: str | None
    allowlist: tuple[str, ...]


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

    def organizer(self) -> str | None:
        """The organizer in force (the stored provider configuration over the environment)."""
        return self._provider().organizer

    def sync(self, request: SyncRequest) -> RunSummary:
        summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=self._clock(), dry_run=request.dry_run)
        try:
            self._sync(request, summary)
        except RunInProgress as error:
            summary.finish("failed", str(error))
            return summary  # not recorded: the run in progress records its own outcome
        except LearncalError as error:
            summary.finish("failed", str(error))
        except Exception as error:  # the run's record must say it failed, whatever happened
            log.exception("sync run failed")
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
        keeper = LeaseKeeper(self._leases, self._leases.acquire(provider.organizer, seconds=LEASE_SECONDS))
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
        the_plan = plan(scoped, sent, organizer=provider.organizer, reconcile=reconcile, now=now)
        summary.unchanged = the_plan.unchanged + sum(s.live for s in skipped)
        summary.held = the_plan.held
        summary.left_out = the_plan.left_out
        summary.waiting_for_reconcile = the_plan.waiting_for_reconcile
        self._progress(
            f"Planned {len(the_plan.of(Create))} invitations, {len(the_plan.of(Update))} updates, "
            f"{len(the_plan.of(Cancel))} cancellations across {len(examine)} changed offerings "
            f"({len(skipped)} unchanged)."
        )
        self._guard(the_plan, skipped, request)
        if request.dry_run:
            summary.created = len(the_plan.of(Create)) + len(the_plan.reinvites)
            summary.updated = len(the_plan.of(Update))
            summary.cancelled = len(the_plan.of(Cancel))
            summary.plan = [describe(a) for a in the_plan.sends]
            summary.finish("completed", "Dry run: nothing was sent or recorded.")
            return
        if not the_plan.actions:
            outcome = Outcome()
        else:
            deadline = started + self._settings.run_seconds
            outcome = asyncio.run(self._execute(the_plan, deadline, keeper))
        self._summarise(summary, outcome)
        self._settle(feed, examine, states, digests, sent, outcome, now, summary, scoped)
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
                            should_stop=lambda: keeper is not None and keeper.lost)
        try:
            outcome = await executor.run(the_plan.actions)
        finally:
            await gateway.aclose()
        reasons = ", ".join(sorted({p.refusal for p in pacers.values() if p.refusal})) or "time"
        if outcome.deferred:
            self._progress(f"Deferred {len(outcome.deferred)} to the next run ({reasons}).")
        return outcome

    # -- guard, bookkeeping ----------------------------------------------------------------

    def _guard(self, the_plan: Plan, skipped: list[OfferingState], request: SyncRequest) -> None:
        from shared.errors import MassCancellationStopped

        cancels = len(the_plan.of(Cancel))
        live = the_plan.live_before + sum(s.live for s in skipped)
        limit_n = self._settings.mass_cancel_min
        ratio = self._settings.mass_cancel_ratio
        if cancels > limit_n and cancels > ratio * live:
            if request.allow_mass_cancel or self._settings.allow_mass_cancel:
                log.warning("mass-cancellation guard overridden: %d of %d live invitations", cancels, live)
                return
            share = 100.0 * cancels / live if live else 100.0
            raise MassCancellationStopped(
                f"Stopped before sending anything: this run would cancel {cancels} of {live} live invitations "
                f"({share:.0f}%), more than {limit_n} and more than {ratio:.0%}. A truncated or wrong feed is the "
                "usual cause. If the cancellations are intended, run again with --allow-mass-cancel "
                "(or set LEARNCAL_ALLOW_MASS_CANCEL=true for one run)."
            )

    def _summarise(self, summary: RunSummary, outcome: Outcome) -> None:
        summary.created = outcome.count(Create)
        summary.updated = outcome.count(Update)
        summary.cancelled = outcome.count(Cancel)
        summary.deferred = len(outcome.deferred)
        summary.errors = [{"invitation": f.key.tag(), "message": f.message} for f in outcome.failed]

    def _settle(
        self, feed: Feed, examine: set[str], states: dict[str, OfferingState], digests: dict[str, str],
        sent: dict[Any, Any], outcome: Outcome, now: datetime, summary: RunSummary, desired: DesiredState,
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
            reconcile_at = previous.reconcile_requested_at if previous else None
            if reconcile_at is not None and settled:
                summary.reconciled.append(offering.id)
                latest = self._offerings.get(offering.id)
                if latest is None or latest.reconcile_requested_at == reconcile_at:
                    reconcile_at = None  # every difference was applied; a newer mark stays
            self._offerings.save(
                OfferingState(
                    offering_id=offering.id, title=offering.title, digest=digests[offering.id],
                    settled=settled, live=live[offering.id], reconcile_requested_at=reconcile_at, last_seen=now,
                )
            )

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
        if summary.deferred:
            parts.append(f"{summary.deferred} deferred to the next run (sending limits or time budget)")
        if summary.rejected:
            parts.append(f"{len(summary.rejected)} feed items rejected")
        if summary.errors:
            parts.append(f"{len(summary.errors)} could not be applied")
        return ", ".join(parts) + "."


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
    text = repr((RULES_VERSION, offering, holds, provider.organizer, provider.allowlist))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class LeaseKeeper:
    """Holds the run's lease: renews it from a thread (planning is synchronous) until released.

    A lease that could not be renewed may have been taken over after expiry; `lost` then
    stops the executor from admitting more work, so two runs never send for one organizer.
    """

    def __init__(self, leases: LeaseStore, lease: Lease) -> None:
        self._leases = leases
        self._lease: Lease | None = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="learncal-lease", daemon=True)
        self._thread.start()

    @property
    def lost(self) -> bool:
        return self._lease is None

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_RENEW_SECONDS):
            lease = self._lease
            if lease is None:
                return
            try:
                self._lease = self._leases.renew(lease, seconds=LEASE_SECONDS)
            except Exception:  # a storage hiccup: keep the lease we have, try again next time
                log.warning("could not renew the run lease", exc_info=True)
            if self._lease is None:
                log.warning("the run lease was lost; no more work is started in this run")

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._lease is not None:
            self._leases.release(self._lease)


__all__ = ["FeedUnreadable", "ProviderView", "SyncRequest", "SyncService"]

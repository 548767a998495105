"""The sync use case, shared by the hourly timer, the admin API and the CLI.

read feed -> desired state -> plan (pure) -> guard -> executor (Graph) -> mapping, offering
state and run record. Nothing is sent before the feed has been read and the whole plan
checked, so an unreadable feed or a mass cancellation stops the run with nothing sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from shared.calendar.gateway import CalendarGateway
from shared.domain import Feed, Offering
from shared.errors import ConfigurationError, FeedUnreadable, LearncalError, RunInProgress
from shared.planning.content import fingerprint
from shared.planning.desired import Allowlist, DesiredState, desired_state
from shared.planning.plan import Cancel, Create, Plan, Update, plan
from shared.settings import Settings
from shared.store.lease import LeaseStore
from shared.store.mapping import MappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.sync.executor import Executor, Outcome, describe
from shared.sync.pacing import Pacer
from shared.sync.summary import RunSummary

log = logging.getLogger("learncal.sync")

RULES_VERSION = "1"  # bump when content rendering changes, so every offering is looked at again
_LEASE_MARGIN = 120.0


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
        desired = desired_state(feed, now=now, allowlist=Allowlist(provider.allowlist))

        lease = None
        if not request.dry_run:
            lease = self._leases.acquire(provider.organizer, seconds=self._settings.run_seconds + _LEASE_MARGIN)
        try:
            self._plan_and_apply(request, summary, feed, desired, provider, now)
        finally:
            if lease is not None:
                self._leases.release(lease)

    def _plan_and_apply(
        self, request: SyncRequest, summary: RunSummary, feed: Feed, desired: DesiredState,
        provider: ProviderView, now: datetime,
    ) -> None:
        assert provider.organizer
        started = time.monotonic()
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
        scoped = DesiredState(
            wanted={k: v for k, v in desired.wanted.items() if k.offering_id in examine},
            offerings={k: v for k, v in desired.offerings.items() if k in examine},
            holds=desired.holds,
            left_out={k for k in desired.left_out if k.offering_id in examine},
            ended=desired.ended,
        )
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
            summary.created = len(the_plan.of(Create))
            summary.updated = len(the_plan.of(Update))
            summary.cancelled = len(the_plan.of(Cancel))
            summary.plan = [describe(a) for a in the_plan.sends]
            summary.finish("completed", "Dry run: nothing was sent or recorded.")
            return
        if not the_plan.actions:
            outcome = Outcome()
        else:
            deadline = started + self._settings.run_seconds
            outcome = asyncio.run(self._execute(the_plan, deadline))
        self._summarise(summary, outcome)
        self._settle(feed, examine, states, digests, sent, outcome, now, summary)
        summary.finish("completed", self._message(summary))

    async def _execute(self, the_plan: Plan, deadline: float) -> Outcome:
        gateway = self._gateway_factory()
        pacer = Pacer(
            per_minute=self._settings.send_per_minute,
            per_day_remaining=self._settings.send_per_day,
            deadline=deadline,
        )
        total = len(the_plan.sends)
        done = Counter[str]()

        def progress(action: Any) -> None:
            done[type(action).__name__] += 1
            count = sum(done.values())
            if total and (count == total or count % 50 == 0):
                self._progress(f"Sent {count} of {total} ({dict(done)})")

        try:
            return await Executor(gateway, self._mapping, pacer, progress=progress).run(the_plan.actions)
        finally:
            await gateway.aclose()

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
        sent: dict[Any, Any], outcome: Outcome, now: datetime, summary: RunSummary,
    ) -> None:
        """Mark offerings whose every action went through, so the next run can skip them."""
        unfinished = {a.key.offering_id for a in outcome.deferred} | {f.key.offering_id for f in outcome.failed}
        records = dict(sent)
        records.update(outcome.records)
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
        holds = sorted(asdict(h).__repr__() for h in feed.holds if h.offering_id == offering.id)
        return fingerprint([RULES_VERSION, _plain(asdict(offering)), holds, provider.organizer,
                            list(provider.allowlist)])

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


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


__all__ = ["FeedUnreadable", "ProviderView", "SyncRequest", "SyncService"]

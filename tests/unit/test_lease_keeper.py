"""The run lease keeper: a run whose lease cannot be renewed stops admitting work in time.

The store is an in-memory stand-in here (the keeper's arithmetic is the subject); the same
rule through the sync service, Azurite and the sandbox is in tests/integration/test_lease_renewal.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ServiceRequestError

from shared.calendar.retry import RetryPolicy
from shared.store.lease import Lease
from shared.sync.lease_keeper import LEASE_SECONDS, LEASE_TIMING, LeaseKeeper, LeaseTiming

TIMING = LeaseTiming(renew_every=30.0, patience=360.0, margin=30.0, missed_renewals=3)  # a 480 s lease


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Leases:
    """Renews like the table store (expiry = now + seconds), or fails like unreachable storage."""

    def __init__(self) -> None:
        self.unreachable = False
        self.taken_over = False
        self.released: list[Lease] = []

    def renew(self, lease: Lease, *, seconds: float, now: datetime | None = None) -> Lease | None:
        if self.unreachable:
            raise ServiceRequestError("Connection refused")
        if self.taken_over:
            return None
        assert now is not None
        return replace(lease, expires=now + timedelta(seconds=seconds))

    def release(self, lease: Lease) -> None:
        self.released.append(lease)


def keeper(clock: Clock, leases: Leases) -> LeaseKeeper:
    lease = Lease("org@contoso.example", "me", clock.now + timedelta(seconds=480), "etag")
    return LeaseKeeper(leases, lease, timing=TIMING, clock=clock, renew_in_background=False)  # type: ignore[arg-type]


def test_a_lease_renewed_on_time_never_stops_the_run() -> None:
    clock, leases = Clock(), Leases()
    held = keeper(clock, leases)
    for _ in range(100):  # 50 minutes
        clock.advance(30)
        held.renew_now()
        assert not held.should_stop()
    assert held.stop_reason is None


def test_failed_renewals_stop_the_run_while_the_lease_still_covers_the_writes_in_flight() -> None:
    clock, leases = Clock(), Leases()
    held = keeper(clock, leases)
    clock.advance(30)
    held.renew_now()  # the last renewal that works: the lease now runs until +510 s
    leases.unreachable = True
    for _ in range(3):  # three missed renewals are tolerated: 480 - 90 = 390 s left >= 360 + 30
        clock.advance(30)
        held.renew_now()
        assert not held.should_stop()
    clock.advance(1)
    held.renew_now()
    assert held.should_stop()  # 389 s left < 390 s: stop now, not when the lease is gone
    assert held.time_left > TIMING.patience  # what is in flight can still finish under the lease
    assert held.stop_reason is not None
    assert "could not be renewed" in held.stop_reason and "360 s" in held.stop_reason
    leases.unreachable = False
    clock.advance(30)
    held.renew_now()
    assert held.should_stop()  # once stopped, the run does not start sending again


def test_a_lease_taken_over_stops_the_run_at_once() -> None:
    clock, leases = Clock(), Leases()
    held = keeper(clock, leases)
    leases.taken_over = True
    clock.advance(30)
    held.renew_now()
    assert held.lost and held.should_stop()
    assert held.stop_reason is not None and "taken over" in held.stop_reason
    held.release()
    assert leases.released == []  # a lease that is another run's now is left alone


def test_the_lease_outlasts_the_retry_patience_of_writes_in_flight() -> None:
    policy = RetryPolicy()
    patience = policy.attempts * policy.cap  # each attempt may wait up to the cap
    assert LEASE_TIMING.patience >= patience
    assert LEASE_SECONDS - patience - LEASE_TIMING.margin >= 2 * LEASE_TIMING.renew_every

"""The run's lease while the run lasts: renewed in the background, and a stop before it can run out.

The lease (shared/store/lease.py) is what keeps a second run from sending for the same
organizer; this module decides how long it lasts and when a run that cannot renew it must
stop sending, so two runs never write to one mailbox at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.calendar.retry import RetryPolicy
from shared.store.lease import Lease, LeaseStore

log = logging.getLogger("learncal.sync")


@dataclass(frozen=True)
class LeaseTiming:
    """How long a run's lease lasts, and when a run that cannot renew it stops sending.

    A write already sent may keep retrying for `patience` (the retry policy's attempts times
    its longest wait). A run that cannot renew stops admitting work while the lease still
    has `patience + margin` left, so its last writes finish before another run may take the
    lease. The margin covers a batch admitted just before the stop that still waits up to a
    minute for the organizer's sending window, and some clock skew. The lease therefore lasts
    that long plus a few renewal intervals, or a single missed renewal would already stop a run.
    """

    renew_every: float = 30.0  # a live run renews its lease this often, however long it runs
    patience: float = RetryPolicy().attempts * RetryPolicy().cap
    margin: float = 90.0
    missed_renewals: int = 3  # renewals that may fail before the run stops sending

    @property
    def seconds(self) -> float:
        return self.patience + self.margin + self.missed_renewals * self.renew_every


LEASE_TIMING = LeaseTiming()
LEASE_SECONDS = LEASE_TIMING.seconds  # a crashed run blocks the next for at most this long
LEASE_RENEW_SECONDS = LEASE_TIMING.renew_every


class LeaseKeeper:
    """Holds the run's lease: renews it from a thread (planning is synchronous) until released.

    The lease is what keeps a second run from sending for the same organizer. When renewals
    fail (storage unreachable), the lease runs out after its last successful renewal, and
    another run may then take it. Writes already in flight may keep retrying for up to the
    writes' patience, so the run stops admitting work while the time left on its lease still
    covers that patience plus a margin: `should_stop` turns true, the executor defers what is
    left, and `stop_reason` says why.
    """

    def __init__(
        self, leases: LeaseStore, lease: Lease, *, timing: LeaseTiming | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), renew_in_background: bool = True,
    ) -> None:
        self._leases = leases
        self._lease: Lease | None = lease
        self._timing = timing or LEASE_TIMING
        self._clock = clock
        self._expires = lease.expires  # as of the last successful renewal
        self._renewed_at: datetime = clock()
        self._stop_reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if renew_in_background:
            self._thread = threading.Thread(target=self._renew_loop, name="learncal-lease", daemon=True)
            self._thread.start()

    @property
    def lost(self) -> bool:
        return self._lease is None

    @property
    def time_left(self) -> float:
        """Seconds until the lease expires, counted from its last successful renewal."""
        return (self._expires - self._clock()).total_seconds()

    @property
    def stop_reason(self) -> str | None:
        """Why this run stopped admitting work, once it has; None while it may go on."""
        return self._stop_reason

    def should_stop(self) -> bool:
        """True once no more work may be started (the executor asks before each batch)."""
        if self._stop_reason is not None:
            return True
        if self._lease is None:
            self._stop_reason = ("the run lease was taken over by another run, so this run stopped sending to "
                                 "leave the organizer's calendar to it")
        elif self.time_left < self._timing.patience + self._timing.margin:
            self._stop_reason = (
                f"the run lease could not be renewed since {self._renewed_at:%H:%M:%S} UTC (Table Storage did not "
                f"answer), and the {max(0, round(self.time_left))} s left on it no longer cover the "
                f"{self._timing.patience:.0f} s a write may keep retrying, so this run stopped sending before another "
                "run could take the lease"
            )
        if self._stop_reason is not None:
            log.warning("no more work is started in this run: %s", self._stop_reason)
            return True
        return False

    def renew_now(self) -> None:
        """One renewal attempt; a failure keeps the expiry of the last successful one."""
        lease = self._lease
        if lease is None:
            return
        try:
            renewed = self._leases.renew(lease, seconds=self._timing.seconds, now=self._clock())
        except Exception:  # storage unreachable: the lease still runs out at its last expiry
            log.warning("could not renew the run lease (%.0f s left)", self.time_left, exc_info=True)
            return
        if renewed is None:
            self._lease = None
            log.warning("the run lease was lost; no more work is started in this run")
            return
        self._lease = renewed
        self._expires = renewed.expires
        self._renewed_at = self._clock()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self._timing.renew_every):
            self.renew_now()
            if self._lease is None:
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._lease is not None:
            with contextlib.suppress(Exception):  # unreachable storage: the lease simply expires
                self._leases.release(self._lease)

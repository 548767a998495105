"""A run whose lease cannot be renewed stops sending before the lease runs out.

Through the sync service against Azurite and the sandbox; only the lease renewals fail (as
they would with Table Storage unreachable), and the run's lease clock moves 20 s with
every batch Graph answers, so the stop point does not depend on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import conftest_admin
import pytest
from azure.core.exceptions import ServiceRequestError
from conftest_admin import World

from shared.bootstrap import build, make_gateway_factory
from shared.calendar.gateway import CalendarGateway
from shared.store.lease import Lease, LeaseStore
from shared.sync.lease_keeper import LeaseTiming
from shared.sync.service import SyncRequest
from tests.support.feeds import base_feed, offering, write

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

LEARNERS = [f"learner{i:02d}@contoso.example" for i in range(50)]
TIMING = LeaseTiming(renew_every=0.05, patience=100.0, margin=20.0, missed_renewals=200)  # a 130 s lease


class LeaseClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class UnreachableForRenewals(LeaseStore):
    """Takes and releases the lease, but every renewal fails as with storage unreachable."""

    renewals = 0

    def renew(self, lease: Lease, *, seconds: float, now: datetime | None = None) -> Lease | None:
        self.renewals += 1
        raise ServiceRequestError("Connection refused (Table Storage is not reachable)")


class MinutePerBatch:
    """The real Graph gateway; each answered batch moves the lease clock 20 s on."""

    def __init__(self, inner: CalendarGateway, clock: LeaseClock) -> None:
        self._inner = inner
        self._clock = clock

    async def write(self, *args: Any, **kwargs: Any) -> Any:
        results = await self._inner.write(*args, **kwargs)
        self._clock.offset += timedelta(seconds=20)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def feed_path(tmp_path: Path) -> Iterator[str]:
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"].extend({"learnerEmail": e, "status": "active"} for e in LEARNERS)
    yield write(feed, tmp_path / "feed.json")


def test_a_run_that_cannot_renew_its_lease_stops_sending_and_defers_the_rest(world: World, feed_path: str) -> None:
    settings = replace(world.settings, feed=feed_path, send_per_minute=6000)
    clock = LeaseClock()
    graph = make_gateway_factory(settings, world.tables)
    factory: Callable[[], CalendarGateway] = lambda: MinutePerBatch(graph(), clock)  # type: ignore[return-value]  # noqa: E731
    leases = UnreachableForRenewals(world.tables)
    app = build(settings, tables=world.tables, gateway_factory=factory, leases=leases, lease_timing=TIMING,
                lease_clock=clock)

    summary = app.sync.sync(SyncRequest())

    wanted = 2 * len(LEARNERS)  # each new learner: both workshops of OFF-1001
    assert leases.renewals > 0
    assert summary.status == "completed"
    assert 0 < summary.created < wanted
    assert summary.deferred > 0
    assert summary.stopped is not None and "could not be renewed" in summary.stopped
    assert summary.message is not None and "Stopped sending early" in summary.message
    assert f"{summary.deferred} left queued (the run lease)" in summary.message
    sent_before = {e: len(world.sandbox.calendar(e)) for e in LEARNERS}

    following = build(settings, tables=world.tables).sync.sync(SyncRequest())  # storage answers again

    assert following.status == "completed" and following.deferred == 0 and following.stopped is None
    assert following.created == summary.deferred
    assert sum(sent_before.values()) < wanted
    assert all(len(world.sandbox.calendar(e)) == 2 for e in LEARNERS)

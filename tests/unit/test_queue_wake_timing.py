"""When a drain with work left wakes the next one: ahead of the budget's room, so sending goes on without
a gap, and the send worker's own time slice (LEARNCAL_SEND_SLICE_SECONDS)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from shared.errors import ConfigurationError
from shared.queue.drain import Drainer
from shared.settings import Settings
from shared.sync.pacing import Pacer, Timebase

ORGANIZER = "learning@contoso.example"


class NothingDue:
    """The work table as _wake_in reads it: no row is waiting out a back-off."""

    def next_due(self, organizer: str) -> None:
        return None


def drainer(scale: float, **env: str) -> Drainer:
    settings = Settings.from_env(env)
    nothing = cast(Any, None)
    return Drainer(settings, work=cast(Any, NothingDue()), offerings=nothing, mapping=nothing, leases=nothing,
                   runs=None, gateway_factory=nothing, provider=nothing, timebase=Timebase(scale))


def full_minute(timebase: Timebase) -> Pacer:
    """A pacer whose minute window was just filled: its next room is a minute away."""
    pacer = Pacer(organizer=ORGANIZER, per_minute=30, per_day=10_000, deadline=timebase.now() + 30,
                  timebase=timebase)

    async def fill() -> None:
        ticket = await pacer.admit(30)
        assert ticket is not None and ticket.count == 30
        await pacer.settle(ticket, 30)
        assert await pacer.admit(1) is None  # the next room lies beyond the slice

    asyncio.run(fill())
    assert pacer.refusal == "minute"
    return pacer


def test_the_next_drain_is_woken_ten_seconds_before_the_window_has_room() -> None:
    subject = drainer(1.0)
    pacer = full_minute(subject.timebase)
    wake = subject._wake_in(ORGANIZER, pacer, True, pacer.deadline)
    assert wake == pytest.approx(50.0, abs=0.5)  # room in 60 s, started 10 s ahead


def test_a_short_slice_is_woken_no_earlier_than_half_its_length_ahead() -> None:
    # A slice of 8 s woken 10 s ahead would end before the room came and wake the next one at once.
    subject = drainer(1.0, LEARNCAL_SEND_SLICE_SECONDS="8")
    pacer = full_minute(subject.timebase)
    assert subject._wake_in(ORGANIZER, pacer, True, pacer.deadline) == pytest.approx(56.0, abs=0.5)


def test_a_time_scaled_drain_whose_room_is_seconds_away_is_continued_at_once() -> None:
    subject = drainer(20.0)  # the bench's clock: the minute window is three real seconds
    pacer = full_minute(subject.timebase)
    assert subject._wake_in(ORGANIZER, pacer, True, pacer.deadline) == 0.0


def test_the_send_workers_slice_is_its_own_setting_below_the_function_timeout() -> None:
    assert Settings.from_env({}).send_slice_seconds == 1500.0
    assert Settings.from_env({"LEARNCAL_SEND_SLICE_SECONDS": "600"}).send_slice_seconds == 600.0
    with pytest.raises(ConfigurationError, match=r"LEARNCAL_SEND_SLICE_SECONDS must be at most 1740.*functionTimeout"):
        Settings.from_env({"LEARNCAL_SEND_SLICE_SECONDS": "3600"})

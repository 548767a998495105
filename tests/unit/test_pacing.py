"""The pacer: no rolling minute or day ever holds more than the budget, across runs too.

Time runs a few thousand times faster here (a Timebase scale), so minutes pass in
milliseconds; the pacer reads only that clock, so nothing else changes.
"""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.store.sendlog import Bucket, MemorySendLog
from shared.sync.pacing import Pacer, Timebase

SCALE = 3000.0  # one minute = 20 ms
ORG = "org@example.com"


def pacer(per_minute: int = 30, per_day: int = 10_000, *, seconds: float = 3600.0, log: MemorySendLog | None = None,
          clock: Timebase | None = None) -> Pacer:
    clock = clock or Timebase(SCALE)
    return Pacer(organizer=ORG, per_minute=per_minute, per_day=per_day, deadline=clock.now() + seconds,
                 timebase=clock, log=log)


def max_in_window(deliveries: list[float], span: float) -> int:
    deliveries = sorted(deliveries)
    return max((sum(1 for d in deliveries if t - span < d <= t) for t in deliveries), default=0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    per_minute=st.integers(min_value=1, max_value=8),
    senders=st.integers(min_value=1, max_value=4),
    batch=st.integers(min_value=1, max_value=20),
    latency=st.floats(min_value=0.0, max_value=0.01),
    refund_every=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_no_rolling_minute_ever_holds_more_than_the_budget(
    per_minute: int, senders: int, batch: int, latency: float, refund_every: int, seed: int,
) -> None:
    """Messages land anywhere between request and answer (as Exchange sees them); still never too many."""
    rng = random.Random(seed)
    clock = Timebase(SCALE)
    budget = pacer(per_minute, clock=clock)
    deliveries: list[float] = []
    wanted = 3 * per_minute + 1

    async def sender() -> None:
        count = 0
        while len(deliveries) < wanted:
            ticket = await budget.admit(batch)
            assert ticket is not None
            asked = clock.now()
            await asyncio.sleep(rng.uniform(0, latency))
            count += 1
            refund = refund_every and count % refund_every == 0 and ticket.count > 1
            sent = ticket.count - 1 if refund else ticket.count
            answered = clock.now()
            deliveries.extend(rng.uniform(asked, answered) for _ in range(sent))
            await budget.settle(ticket, sent)

    async def main() -> None:
        await asyncio.gather(*(sender() for _ in range(senders)))

    asyncio.run(main())
    assert max_in_window(deliveries, 60.0) <= per_minute


def test_a_full_minute_is_used_then_the_next_admission_waits_for_the_window() -> None:
    async def main() -> tuple[int, int, float]:
        budget = pacer(per_minute=30)
        first = await budget.admit(20)
        second = await budget.admit(20)
        assert first is not None and second is not None
        await budget.settle(first, first.count)
        await budget.settle(second, second.count)
        settled = budget.timebase.now()
        third = await budget.admit(20)
        assert third is not None
        return first.count, second.count, budget.timebase.now() - settled

    first, second, waited = asyncio.run(main())
    assert (first, second) == (20, 10)  # 30 in the first minute, as two batches
    assert 59.0 <= waited <= 75.0  # the next one only when the first answers are a minute old


def test_refunded_slots_are_free_at_once() -> None:
    async def main() -> int:
        budget = pacer(per_minute=5)
        ticket = await budget.admit(5)
        assert ticket is not None
        await budget.settle(ticket, 2)  # three were throttled or found already done: not sent
        again = await budget.admit(5)
        assert again is not None
        return again.count

    assert asyncio.run(main()) == 3


def test_past_the_deadline_everything_is_deferred_with_the_reason() -> None:
    async def main() -> Pacer:
        budget = pacer(per_minute=4, seconds=30.0)  # the run ends before the minute frees up
        ticket = await budget.admit(10)
        assert ticket is not None and ticket.count == 4
        await budget.settle(ticket, 4)
        assert await budget.admit(1) is None
        assert not await budget.extra(ticket)
        return budget

    budget = asyncio.run(main())
    assert budget.refusal == "minute" and budget.sent == 4


def test_the_day_budget_spans_runs_through_the_send_log() -> None:
    log = MemorySendLog()

    async def run(per_day: int) -> int:
        budget = pacer(per_minute=100, per_day=per_day, log=log, seconds=30.0)
        await budget.load()
        sent = 0
        while (ticket := await budget.admit(20)) is not None:
            await budget.settle(ticket, ticket.count)
            sent += ticket.count
        return sent

    assert asyncio.run(run(per_day=25)) == 25
    assert asyncio.run(run(per_day=25)) == 0  # a new process: the day is used up already
    assert asyncio.run(run(per_day=40)) == 15  # a larger budget leaves exactly the difference


def test_the_minute_spans_processes_too() -> None:
    log = MemorySendLog()
    clock = Timebase(SCALE)

    async def run() -> tuple[int, float, float]:
        budget = pacer(per_minute=6, log=log, clock=clock)
        await budget.load()
        ticket = await budget.admit(6)
        assert ticket is not None
        admitted = answered = clock.now()  # the answers come no earlier than this
        await budget.settle(ticket, ticket.count)
        return ticket.count, admitted, answered

    count, _, first_answered = asyncio.run(run())
    assert count == 6
    count, second_admitted, _ = asyncio.run(run())
    # the second process waited for a minute after the first one's answers, read from the log
    assert count == 6 and second_admitted - first_answered >= 60.0


def test_a_run_that_stopped_mid_send_counts_its_messages_as_just_sent() -> None:
    log = MemorySendLog()
    clock = Timebase(SCALE)
    now = clock.now()
    minute = int(now // 60) - 5  # five minutes ago, admitted, never settled: the process died
    log.save(ORG, Bucket(minute=minute, count=4, pending=4, latest=0.0))

    async def main() -> tuple[int, float]:
        budget = pacer(per_minute=4, log=log, clock=clock)
        await budget.load()
        started = clock.now()
        ticket = await budget.admit(4)
        assert ticket is not None
        return ticket.count, clock.now() - started

    count, waited = asyncio.run(main())
    assert count == 4 and waited >= 55.0  # treated as sent at the moment it was read back


def test_the_send_log_is_written_before_the_messages_go_out() -> None:
    log = MemorySendLog()

    async def main() -> tuple[Bucket, Bucket]:
        budget = pacer(per_minute=30, log=log)
        ticket = await budget.admit(7)
        assert ticket is not None
        reserved = next(iter(log.rows.values()))
        await budget.settle(ticket, 5)
        return reserved, next(iter(log.rows.values()))

    reserved, settled = asyncio.run(main())
    assert (reserved.count, reserved.pending) == (7, 7)
    assert (settled.count, settled.pending) == (5, 0) and settled.latest > 0


def test_while_an_admission_waits_it_says_how_many_it_is_sure_to_grant() -> None:
    async def scenario() -> None:
        p = pacer(per_minute=5)
        settled = await p.admit(3)
        assert settled is not None
        await p.settle(settled, 3)
        in_flight = await p.admit(5)
        assert in_flight is not None and in_flight.count == 2  # still in flight: counted until its answer
        promised: list[int] = []
        ticket = await p.admit(5, meanwhile=promised.append)
        # a minute after the settled three, those three are free; the two in flight are counted as staying
        assert promised and promised[-1] == 3
        assert ticket is not None and ticket.count >= promised[-1]

    asyncio.run(scenario())


def test_nothing_is_promised_for_a_wait_that_would_end_past_the_deadline() -> None:
    async def scenario() -> None:
        p = pacer(per_minute=2, seconds=30.0)  # the window frees after 60 s, past the run's 30 s
        first = await p.admit(2)
        assert first is not None
        await p.settle(first, 2)
        promised: list[int] = []
        assert await p.admit(2, meanwhile=promised.append) is None
        assert promised == []

    asyncio.run(scenario())

"""The per-mailbox limiter: four requests in flight per mailbox, counted per request, whole process."""

from __future__ import annotations

import asyncio
import threading

import pytest

from shared.calendar.limiter import MailboxLimiter


class Probe:
    """Counts places in use per mailbox as the holders see them (independent of the limiter's own count)."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.lock = threading.Lock()

    def enter(self, mailbox: str, units: int) -> None:
        with self.lock:
            self.now[mailbox] = self.now.get(mailbox, 0) + units
            self.peak[mailbox] = max(self.peak.get(mailbox, 0), self.now[mailbox])

    def leave(self, mailbox: str, units: int) -> None:
        with self.lock:
            self.now[mailbox] -= units


async def hold(limiter: MailboxLimiter, probe: Probe, mailbox: str, units: int, seconds: float) -> None:
    async with limiter.hold(mailbox, units):
        probe.enter(mailbox.lower(), min(units, 4))
        await asyncio.sleep(seconds)
        probe.leave(mailbox.lower(), min(units, 4))


def test_batches_take_a_place_per_sub_request_and_never_pass_four() -> None:
    limiter, probe = MailboxLimiter(), Probe()
    sizes = [20, 1, 3, 2, 1, 1, 4, 2, 2, 1, 3]

    async def main() -> None:
        await asyncio.gather(*(hold(limiter, probe, "Coordinator@Contoso.example", limiter.units_for(n), 0.01)
                               for n in sizes))

    asyncio.run(main())
    assert probe.peak == {"coordinator@contoso.example": 4}  # the address's case does not make a second mailbox
    assert limiter.in_use("coordinator@contoso.example") == 0


def test_mailboxes_do_not_share_places() -> None:
    limiter, probe = MailboxLimiter(), Probe()

    async def main() -> None:
        await asyncio.gather(*(hold(limiter, probe, f"m{n % 2}@contoso.example", 4, 0.02) for n in range(4)))

    asyncio.run(main())
    assert probe.peak == {"m0@contoso.example": 4, "m1@contoso.example": 4}


def test_first_come_first_served_so_a_full_batch_is_not_starved() -> None:
    limiter = MailboxLimiter()
    order: list[str] = []

    async def main() -> None:
        async def single(name: str) -> None:
            async with limiter.hold("m", 1):
                order.append(name)
                await asyncio.sleep(0.01)

        async def batch() -> None:
            async with limiter.hold("m", 4):
                order.append("batch")

        first = asyncio.create_task(single("s0"))
        await asyncio.sleep(0)
        waiting = asyncio.create_task(batch())
        await asyncio.sleep(0)
        later = [asyncio.create_task(single(f"s{n}")) for n in range(1, 4)]
        await asyncio.gather(first, waiting, *later)

    asyncio.run(main())
    assert order == ["s0", "batch", "s1", "s2", "s3"]


def test_event_loops_in_other_threads_share_the_same_places() -> None:
    limiter, probe = MailboxLimiter(), Probe()
    finished: list[int] = []

    async def work() -> None:
        await asyncio.wait_for(asyncio.gather(*(hold(limiter, probe, "m", 2, 0.005) for _ in range(10))), 10)

    def worker() -> None:
        asyncio.run(work())
        finished.append(1)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(finished) == 3
    assert probe.peak == {"m": 4} and limiter.in_use("m") == 0


def test_a_waiter_that_gives_up_hands_its_turn_on() -> None:
    limiter = MailboxLimiter()

    async def main() -> list[str]:
        done: list[str] = []
        async with limiter.hold("m", 3):
            impatient = asyncio.create_task(asyncio.wait_for(limiter.hold("m", 4).__aenter__(), 0.01))
            await asyncio.sleep(0)

            async def single() -> None:
                async with limiter.hold("m", 1):
                    done.append("single")

            behind = asyncio.create_task(single())
            with pytest.raises(TimeoutError):
                await impatient
            await asyncio.wait_for(behind, 1)
        assert limiter.in_use("m") == 0
        return done

    assert asyncio.run(main()) == ["single"]

"""Sending limits: never exceeded, as the sandbox itself counts them, and deferred work is not lost.

The sandbox counts every message against the organizer's limits (`sendLimitExceeded` in its
stats); the product is configured with the same limits and must never trip them, across
runs and processes as well.
"""

from __future__ import annotations

from tests.support.convergence import problems
from tests.support.feeds import base_feed
from tests.support.world import World


def test_minute_budget_sends_the_soonest_first_and_defers_the_rest(world: World) -> None:
    world.sandbox.configure(**{"messagesPerMinute": 6, "sendLimitMode": "reject"})
    feed = world.feed_file(base_feed())
    env = {"LEARNCAL_SEND_PER_MINUTE": "6", "LEARNCAL_RUN_SECONDS": "4"}

    first = world.sync(feed, **env)
    assert first.code == 0, first.stderr
    summary = first.summary
    assert (summary["created"], summary["deferred"]) == (6, 4)
    # soonest activity first: Data Privacy Basics (Feb 15) and Workshop 1 (Mar 2), not Workshop 2 (Mar 9)
    assert [m["subject"] for m in world.calendar("ada.learner@contoso.example")] == [
        "Data Privacy Basics", "Leading Hybrid Teams: Workshop 1: Foundations"]

    second = world.sync(feed, **env).summary  # a new process, the same minute: nothing may go out
    assert (second["created"], second["deferred"]) == (0, 4)
    stats = world.stats()
    assert (stats["messagesSent"], stats["sendLimitExceeded"], stats["messagesRejected"]) == (6, 0, 0)


def test_day_budget_spans_runs_and_deferred_work_completes_later(world: World) -> None:
    world.sandbox.configure(**{"recipientsPerDay": 7, "sendLimitMode": "reject"})
    feed = world.feed_file(base_feed())

    first = world.sync(feed, LEARNCAL_SEND_PER_DAY="7").summary
    assert (first["created"], first["deferred"], first["errors"]) == (7, 3, [])
    again = world.sync(feed, LEARNCAL_SEND_PER_DAY="7").summary
    assert (again["created"], again["deferred"]) == (0, 3)  # the day's budget is spent, whichever process asks

    world.sandbox.configure(**{"recipientsPerDay": 10})  # the next day's headroom, as an administrator raises it
    last = world.sync(feed, LEARNCAL_SEND_PER_DAY="10").summary
    assert (last["created"], last["deferred"], last["unchanged"]) == (3, 0, 7)
    stats = world.stats()
    assert (stats["messagesSent"], stats["sendLimitExceeded"], stats["messagesRejected"]) == (10, 0, 0)
    assert problems(world, base_feed()) == []

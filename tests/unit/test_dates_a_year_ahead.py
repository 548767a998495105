"""The suite's dates with the clock a year ahead: nothing in the tests or the demo is tied to a calendar year.

time-machine moves the process clock (datetime.now, date.today, time.time) 365 days on; the
test helpers that make dates, the feeds built from them and the demo's moved sample feed
must still describe sessions that are upcoming, and the daylight-saving helpers must find the
next changes after that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from shared.feed import parse_feed
from shared.feed.examples import SAMPLE, upcoming
from shared.planning.desired import desired_state
from tests.support.dates import dst_gap, dst_repeat, local, today, utc_of
from tests.support.feeds import base_feed


@pytest.fixture(params=[0, 365], ids=["today", "a-year-ahead"])
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(days=request.param)
    with time_machine.travel(ahead, tick=False):
        yield ahead


def test_the_clock_is_moved(clock: datetime) -> None:
    assert datetime.now(UTC) == clock and today() == clock.date()
    assert local(30, "09:00") == f"{clock.date() + timedelta(days=30)}T09:00:00"


def test_the_base_feed_is_upcoming_and_invites_everyone(clock: datetime) -> None:
    feed = parse_feed(base_feed())
    assert feed.rejections == ()
    starts = sorted(a.start_local.date() for o in feed.offerings for a in o.activities)
    assert [(d - clock.date()).days for d in starts] == [20, 35, 42]
    # Ada x3, Bo x2, Dee x1, Ines x2, Sam x1, Pat x1 (Cy withdrew): ten invitations, none ended.
    state = desired_state(feed, now=clock)
    assert len(state.wanted) == 10 and all(end > clock for end in state.ends.values())


def test_the_demo_sample_is_moved_to_the_coming_weeks(clock: datetime) -> None:
    feed = parse_feed(upcoming(SAMPLE))
    activities = [a for o in feed.offerings for a in o.activities]
    assert all(a.end_utc > clock for a in activities)
    first = min(a.start_local.date() for a in activities)
    assert 14 <= (first - clock.date()).days <= 20
    assert len(desired_state(feed, now=clock).wanted) == 15  # the README's count for sample.json


def test_daylight_saving_helpers_find_the_next_changes(clock: datetime) -> None:
    for text in (dst_gap("Europe/Berlin"), dst_repeat("Europe/Berlin"), dst_gap("America/New_York", 15)):
        when = date.fromisoformat(text[:10])
        assert clock.date() < when <= clock.date() + timedelta(days=366), text
    gap = dst_gap("Europe/Berlin")
    # Inside the gap, a wall time maps to UTC and back to a different wall time: it does not exist.
    round_trip = utc_of(gap, "Europe/Berlin").astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert round_trip != datetime.fromisoformat(gap)
    repeated = datetime.fromisoformat(dst_repeat("Europe/Berlin"))
    first = repeated.replace(tzinfo=ZoneInfo("Europe/Berlin"), fold=0).utcoffset()
    second = repeated.replace(tzinfo=ZoneInfo("Europe/Berlin"), fold=1).utcoffset()
    assert first != second  # the wall time happens twice

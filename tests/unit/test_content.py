"""Subjects as people read them: never over Graph's 255-character limit, cut visibly when too long.

The limit is Exchange's (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/subject),
counted in UTF-16 code units.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.feed.reader import parse_feed
from shared.planning.desired import desired_state
from tests.support.feeds import ADA, activity, base_feed, offering

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def subject_of(feed: dict, offering_id: str, activity_id: str) -> str:
    desired = desired_state(parse_feed(feed), now=NOW)
    return next(inv.content.subject for key, inv in desired.wanted.items()
                if (key.offering_id, key.activity_id, key.email) == (offering_id, activity_id, ADA))


def test_a_long_offering_and_activity_title_is_cut_with_an_ellipsis() -> None:
    feed = base_feed()
    offering(feed, "OFF-1001")["title"] = "O" * 200
    activity(feed, "OFF-1001", "ACT-1")["title"] = "A" * 200
    subject = subject_of(feed, "OFF-1001", "ACT-1")
    assert subject == "O" * 200 + ": " + "A" * 52 + "\u2026"
    assert len(subject) == 255


def test_a_subject_of_exactly_the_limit_is_kept_whole() -> None:
    feed = base_feed()
    offering(feed, "OFF-1001")["title"] = "O" * 100
    activity(feed, "OFF-1001", "ACT-1")["title"] = "A" * 153  # 100 + ": " + 153 = 255
    assert subject_of(feed, "OFF-1001", "ACT-1") == "O" * 100 + ": " + "A" * 153


def test_characters_outside_the_basic_plane_count_twice_and_are_never_split() -> None:
    feed = base_feed()
    offering(feed, "OFF-1001")["title"] = "\U0001F393" * 200  # graduation cap: two UTF-16 units each
    activity(feed, "OFF-1001", "ACT-1")["title"] = "Workshop"
    subject = subject_of(feed, "OFF-1001", "ACT-1")
    assert subject == "\U0001F393" * 127 + "\u2026"  # 127 x 2 + 1 = 255 units
    assert len(subject.encode("utf-16-le")) // 2 == 255


def test_a_cut_drops_the_space_before_the_ellipsis() -> None:
    feed = base_feed()
    offering(feed, "OFF-1001")["title"] = "w" * 199
    activity(feed, "OFF-1001", "ACT-1")["title"] = "x" * 52 + " " + "y" * 100  # 199 + 2 + 53: the cut is at the space
    assert subject_of(feed, "OFF-1001", "ACT-1") == "w" * 199 + ": " + "x" * 52 + "\u2026"

"""Whatever a producer sends, the reader never crashes: every item is applied or rejected with its path."""

from __future__ import annotations

import contextlib
import json
import re
import zoneinfo
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain import Feed, Hold
from shared.errors import FeedUnreadable
from shared.feed import parse_feed
from shared.feed.formats import LOCAL_DATE_TIME_PATTERN
from shared.timezones import graph_time_zone
from tests.support.dates import dst_gap, dst_repeat

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Strings the schema accepts where it asks for a format: formats are annotations in JSON Schema 2020-12.
# Short text keeps the run fast; strings at the length limits are mixed in explicitly.
ids = st.one_of(st.sampled_from(["A", "B", "OFF-1", "i" * 200]), st.text(min_size=1, max_size=12))
titles = st.one_of(st.text(min_size=1, max_size=20), st.just("t" * 255))
names = st.one_of(st.text(max_size=20), st.just("n" * 255))
texts = st.one_of(st.text(max_size=40), st.just("d" * 32000))


def _fits_email_limit(email: str) -> bool:
    return len(email) <= 320


def _local_form(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M" if moment.second % 2 else "%Y-%m-%dT%H:%M:%S")


emails = st.one_of(
    st.emails().filter(_fits_email_limit),
    st.sampled_from(["ada@contoso.example", "ADA@contoso.example", "bo@contoso.example"]),
    st.text(max_size=20),
)
links = st.one_of(
    st.from_regex(r"\Ahttps?://[a-z0-9.]{0,20}(/[^\s]{0,20})?\Z"),
    st.sampled_from(["https://meet.contoso.example/j/1", "http://", "https://a b"]),
)
local_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(_local_form),
    st.from_regex(re.compile(LOCAL_DATE_TIME_PATTERN), fullmatch=True),
    # The next daylight-saving changes from today: a skipped time, a repeated time, a skipped second.
    st.sampled_from([dst_gap("Europe/Berlin"), dst_repeat("Europe/Berlin"), dst_gap("America/New_York", 0) + ":00"]),
)
zones = st.one_of(
    st.sampled_from(sorted(zoneinfo.available_timezones())),
    st.sampled_from(["Mars/Olympus", "localtime", "Factory", "europe/berlin", "Antarctica/Troll", ""]),
    st.text(max_size=30),
)
instructors = st.fixed_dictionaries(
    {"email": emails}, optional={"name": names, "primary": st.booleans()}
)
locations = st.fixed_dictionaries(
    {"kind": st.sampled_from(["classroom", "virtual", "none"])},
    optional={"name": names, "address": st.one_of(st.text(max_size=20), st.just("a" * 1000)), "joinUrl": links,
              "hostUrl": links},
)
activities = st.fixed_dictionaries(
    {"id": ids, "title": titles, "start": local_times, "end": local_times, "timeZone": zones,
     "instructors": st.lists(instructors, max_size=2)},
    optional={"description": texts, "status": st.sampled_from(["scheduled", "cancelled"]),
              "detailsUrl": links, "location": locations},
)
enrollments = st.fixed_dictionaries(
    {"learnerEmail": emails, "status": st.sampled_from(["active", "withdrawn", "completed", "cancelled"])},
    optional={"learnerName": names},
)
offerings = st.fixed_dictionaries(
    {"id": ids, "title": titles, "status": st.sampled_from(["active", "cancelled"]),
     "activities": st.lists(activities, max_size=3), "enrollments": st.lists(enrollments, max_size=3)},
    optional={"courseTitle": names, "description": texts, "detailsUrl": links},
)



def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    _containers,
    max_leaves=12,
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _item_paths(feed: Feed, prefix: str) -> list[str]:
    return [r.path for r in feed.rejections if _under(r.path, prefix)]


def _own_problem(feed: Feed, prefix: str) -> bool:
    """A rejection of the offering itself, not of one of its activities or enrollments."""
    items = (prefix + ".activities[", prefix + ".enrollments[")
    return any(not p.startswith(items) for p in _item_paths(feed, prefix))


def _text(raw: Any, key: str) -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def check_every_item_is_accounted_for(raw_offerings: list[Any], feed: Feed) -> None:
    assert all(r.path.startswith("offerings[") and r.reason for r in feed.rejections)
    applied = iter(feed.offerings)
    for i, raw in enumerate(raw_offerings):
        path = f"offerings[{i}]"
        offering_id = _text(raw, "id")
        if _own_problem(feed, path):
            if offering_id is not None:
                assert Hold(offering_id) in feed.holds
            continue
        offering = next(applied)
        assert offering.id == raw["id"]
        kept = [a.id for a in offering.activities]
        expected = []
        for j, act in enumerate(raw["activities"]):
            if _item_paths(feed, f"{path}.activities[{j}]"):
                activity_id = _text(act, "id")
                hold = Hold(offering.id, activity_id=activity_id) if activity_id is not None else Hold(
                    offering.id, absent="activities")
                assert hold in feed.holds
            else:
                expected.append(act["id"])
        assert kept == expected
        kept = [e.email for e in offering.enrollments]
        expected = []
        for j, enr in enumerate(raw["enrollments"]):
            if _item_paths(feed, f"{path}.enrollments[{j}]"):
                email = _text(enr, "learnerEmail")
                held = Hold(offering.id, email=email.lower() if email is not None else None)
                assert held in feed.holds or Hold(offering.id, absent="learners") in feed.holds
            else:
                expected.append(enr["learnerEmail"].lower())
        assert kept == expected
    assert next(applied, None) is None


def check_what_is_applied_is_usable(feed: Feed) -> None:
    assert len({o.id for o in feed.offerings}) == len(feed.offerings)
    for offering in feed.offerings:
        assert len({a.id for a in offering.activities}) == len(offering.activities)
        assert len({e.email for e in offering.enrollments}) == len(offering.enrollments)
        assert all(e.email == e.email.lower() for e in offering.enrollments)
        for activity in offering.activities:
            assert activity.start_utc < activity.end_utc
            assert activity.start_utc.utcoffset() is not None
            graph_time_zone(activity.time_zone)
            assert all(i.email == i.email.lower() for i in activity.instructors)


@SETTINGS
@given(st.lists(offerings, max_size=3))
def test_schema_valid_items_are_applied_or_rejected_with_a_path(raw_offerings: list[Any]) -> None:
    feed = parse_feed({"schemaVersion": 1, "offerings": raw_offerings})
    check_every_item_is_accounted_for(raw_offerings, feed)
    check_what_is_applied_is_usable(feed)


def _mangled(draw: Any) -> list[Any]:
    """Schema-valid offerings with some items or fields replaced by arbitrary JSON."""
    raw = draw(st.lists(offerings, min_size=1, max_size=3))
    for offering in raw:
        for collection in ("activities", "enrollments"):
            for index in range(len(offering[collection])):
                if draw(st.booleans()):
                    item = offering[collection][index]
                    key = draw(st.sampled_from(sorted(item)))
                    item[key] = draw(json_values)
                elif draw(st.integers(0, 9)) == 0:
                    offering[collection][index] = draw(json_values)
        if draw(st.integers(0, 4)) == 0:
            offering[draw(st.sampled_from(sorted(offering)))] = draw(json_values)
    return raw


@SETTINGS
@given(st.data())
def test_arbitrary_values_in_items_never_crash_the_reader(data: st.DataObject) -> None:
    raw_offerings = _mangled(data.draw)
    feed = parse_feed({"schemaVersion": 1, "offerings": raw_offerings})
    check_every_item_is_accounted_for(raw_offerings, feed)
    check_what_is_applied_is_usable(feed)


@SETTINGS
@given(json_values | st.dictionaries(st.sampled_from(["schemaVersion", "offerings", "source"]), json_values))
def test_any_document_is_read_or_refused_as_unreadable(document: Any) -> None:
    with contextlib.suppress(FeedUnreadable):
        parse_feed(document if isinstance(document, dict) else json.dumps(document))


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_are_read_or_refused_as_unreadable(data: bytes | str) -> None:
    with contextlib.suppress(FeedUnreadable):
        parse_feed(data)

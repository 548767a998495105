"""The bundled example feeds read as their README says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.domain import Feed, Hold
from shared.feed import parse_feed, read_feed
from shared.feed.examples import SAMPLE, example_names, example_path, upcoming
from shared.timezones import graph_time_zone


def read(name: str) -> Feed:
    return read_feed(str(example_path(name)))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_examples_are_all_there() -> None:
    assert set(example_names()) == {
        "sample.json", "invalid-items.json", "half-hour-zone.json", "zone-outside-graph-list.json", "dst-change.json",
        "unusual-text.json", "cancelled-offering.json", "cancelled-activity.json", "completed-enrollment.json",
        "learner-and-instructor.json", "languages.json",
    }


@pytest.mark.parametrize("name", sorted(set(example_names()) - {"invalid-items.json"}))
def test_every_valid_example_reads_without_rejections(name: str) -> None:
    feed = read(name)
    assert feed.offerings
    assert feed.rejections == ()
    assert feed.holds == ()
    for offering in feed.offerings:
        for activity in offering.activities:
            assert activity.start_utc < activity.end_utc
            graph_time_zone(activity.time_zone)


@pytest.mark.parametrize("name", sorted(set(example_names()) - {"invalid-items.json", "dst-change.json"}))
def test_every_example_moved_to_the_coming_weeks_has_nothing_ended(name: str) -> None:
    """What the demo and the tests sync: every session upcoming, whatever today's date."""
    shipped, now = read(name), datetime.now(UTC)
    moved = parse_feed(upcoming(name))
    assert moved.rejections == ()
    pairs = [(a, b) for o, p in zip(shipped.offerings, moved.offerings, strict=True)
             for a, b in zip(o.activities, p.activities, strict=True)]
    shifts = {(b.start_local - a.start_local) for a, b in pairs} | {(b.end_local - a.end_local) for a, b in pairs}
    (shift,) = shifts  # every session moved by the same whole number of weeks
    assert shift.days % 7 == 0 and shift.seconds == 0
    assert all(b.end_utc > now for _, b in pairs)
    earliest = min(b.start_local for _, b in pairs).date()
    if name == SAMPLE:
        assert 14 <= (earliest - now.date()).days <= 20


def test_follow_up_examples_move_with_the_sample() -> None:
    sample = parse_feed(upcoming(SAMPLE)).offerings[0]
    assert parse_feed(upcoming("cancelled-activity.json")).offerings[0].activities[0] == sample.activities[0]
    assert parse_feed(upcoming("completed-enrollment.json")).offerings[0].activities[:2] == sample.activities


def test_unknown_example_name() -> None:
    with pytest.raises(FileNotFoundError):
        example_path("../../domain.py")


def test_sample() -> None:
    feed = read(SAMPLE)
    off100, off200 = feed.offerings
    assert [a.location.kind for a in off100.activities] == ["classroom", "virtual"]
    assert [(i.email, i.primary) for i in off100.activities[0].instructors] == [
        ("ines.instructor@contoso.example", True), ("sam.second@contoso.example", False)]
    assert off100.activities[1].location.host_url == "https://meet.contoso.example/h/102"
    assert off100.activities[1].location.join_url == "https://meet.contoso.example/j/102"
    assert {e.email: e.status for e in off100.enrollments}["cy.learner@contoso.example"] == "withdrawn"
    in_both = {e.email for e in off100.enrollments} & {e.email for e in off200.enrollments}
    assert "ada.learner@contoso.example" in in_both
    raw = json.loads(example_path(SAMPLE).read_text(encoding="utf-8"))
    assert raw["offerings"][1]["enrollments"][0]["learnerEmail"] == "Ada.Learner@Contoso.Example"
    act201 = off200.activities[0]
    assert (act201.time_zone, act201.start_utc, act201.end_utc) == (
        "America/New_York", utc(2027, 2, 15, 19, 0), utc(2027, 2, 15, 20, 30))
    assert act201.location.host_url is None and act201.location.join_url
    assert off100.activities[0].time_zone == "Europe/Berlin"


def test_sample_follow_ups() -> None:
    assert read("cancelled-offering.json").offerings[0].status == "cancelled"
    assert [a.status for a in read("cancelled-activity.json").offerings[0].activities] == ["scheduled", "cancelled"]
    completed = read("completed-enrollment.json").offerings[0]
    assert completed.enrollments[0].status == "completed"
    assert [a.id for a in completed.activities] == ["ACT-101", "ACT-102", "ACT-103"]
    sample = read(SAMPLE).offerings[0]
    # Apart from what each follow-up changes, OFF-100 is the same as in the sample.
    assert read("cancelled-activity.json").offerings[0].activities[0] == sample.activities[0]
    assert completed.activities[:2] == sample.activities


def test_half_hour_zones() -> None:
    act501, act502 = read("half-hour-zone.json").offerings[0].activities
    assert (graph_time_zone(act501.time_zone), act501.start_utc) == ("India Standard Time", utc(2027, 5, 10, 4, 30))
    assert (graph_time_zone(act502.time_zone), act502.start_utc) == ("Nepal Standard Time", utc(2027, 5, 11, 4, 15))


def test_languages() -> None:
    off = read("languages.json").offerings[0]
    assert off.language == "de"
    assert [(e.email.split(".")[0], e.language) for e in off.enrollments] == [
        ("ada", "fr"), ("bo", None), ("dee", "de-CH")]
    assert [(i.email.split(".")[0], i.language) for i in off.activities[0].instructors] == [("ines", "en")]


def test_zone_outside_graphs_list() -> None:
    act = read("zone-outside-graph-list.json").offerings[0].activities[0]
    assert act.time_zone == "Europe/Amsterdam"
    assert graph_time_zone(act.time_zone) == "W. Europe Standard Time"
    assert (act.start_utc, act.end_utc) == (utc(2027, 6, 15, 11, 0), utc(2027, 6, 15, 15, 0))


def test_dst_change() -> None:
    spring, autumn, overnight = read("dst-change.json").offerings[0].activities
    assert (spring.start_utc, spring.end_utc) == (utc(2027, 3, 28, 0, 0), utc(2027, 3, 28, 2, 0))
    assert (autumn.start_utc, autumn.end_utc) == (utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 2, 30))
    assert (overnight.start_utc, overnight.end_utc) == (utc(2027, 11, 7, 2, 0), utc(2027, 11, 7, 7, 0))


def test_learner_and_instructor() -> None:
    off = read("learner-and-instructor.json").offerings[0]
    assert off.activities[0].instructors[0].email == off.enrollments[0].email == "lee.lead@contoso.example"


def test_unusual_text_arrives_unchanged() -> None:
    raw = json.loads(example_path("unusual-text.json").read_text(encoding="utf-8"))["offerings"][0]
    off = read("unusual-text.json").offerings[0]
    assert (off.id, off.title, off.course_title, off.description) == (
        raw["id"], raw["title"], raw["courseTitle"], raw["description"])
    long_one = off.activities[0]
    assert len(long_one.title) == 255
    assert len(long_one.description or "") == 32000
    assert "\u202e" in (off.description or "")
    assert off.enrollments[1].email == "zoë.ñandú@contoso.example"


def test_invalid_items() -> None:
    feed = read("invalid-items.json")
    assert [r.path for r in feed.rejections] == [
        "offerings[0].activities[1].timeZone",
        "offerings[0].activities[2].end",
        "offerings[0].activities[3].start",
        "offerings[0].activities[4].location.joinUrl",
        "offerings[0].activities[5].instructors[0].email",
        "offerings[0].activities[6].id",
        "offerings[0].activities[7].id",
        "offerings[0].enrollments[1].learnerEmail",
        "offerings[0].enrollments[2].learnerEmail",
        "offerings[0].enrollments[3].learnerEmail",
        "offerings[1].title",
        "offerings[2].id",
        "offerings[3].id",
    ]
    assert feed.rejections[0].reason == "'Mars/Olympus' is not an IANA time zone name; use a name such as Europe/Berlin"
    assert feed.rejections[10].reason == "is 300 characters long; at most 255 are allowed"
    assert feed.holds == (
        *(Hold("OFF-BAD-1", activity_id=f"ACT-{n}") for n in range(2, 8)),
        Hold("OFF-BAD-1", absent="learners"),  # a malformed address could be any missing learner's
        Hold("OFF-BAD-1", email="bo.learner@contoso.example"),
        Hold("OFF-BAD-2"),
        Hold("OFF-DUP"),
    )
    (applied,) = feed.offerings
    assert applied.id == "OFF-BAD-1"
    assert [a.id for a in applied.activities] == ["ACT-1"]
    assert [e.email for e in applied.enrollments] == ["ada.learner@contoso.example"]


def test_learncal_feed_example_prints_the_moved_sample_or_names_the_examples() -> None:
    from click.testing import CliRunner

    from shared.cli import cli

    printed = CliRunner().invoke(cli, ["feed", "example"])
    unknown = CliRunner().invoke(cli, ["feed", "example", "nope.json"])

    assert printed.exit_code == 0, printed.output
    feed = parse_feed(json.loads(printed.stdout))
    assert feed.rejections == () and len(feed.offerings) == 2
    assert all(a.end_utc > datetime.now(UTC) for o in feed.offerings for a in o.activities)
    assert unknown.exit_code == 1 and "'nope.json'" in unknown.stderr and "sample.json" in unknown.stderr

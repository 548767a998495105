"""Every per-item rule: the exact path and reason of each rejection, and the hold it leaves."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain import Feed, Hold, Location, Rejection
from shared.feed import parse_feed
from tests.support.dates import day, dst_gap, dst_repeat, utc_of

D = day(30).isoformat()  # the day of the test activity, a month from today
GAP = dst_gap("Europe/Berlin")  # e.g. <year>-03-28T02:30: the clocks skip it
REPEAT = dst_repeat("Europe/Berlin")  # e.g. <year>-10-31T02:30: it happens twice
NY_GAP = dst_gap("America/New_York", 15)

DROP = object()  # an override that removes the property


def _apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DROP:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def instructor(**overrides: Any) -> dict[str, Any]:
    return _apply({"email": "Ines.Instructor@Contoso.Example", "name": "Ines Instructor", "primary": True}, overrides)


def activity(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "ACT-1",
        "title": "Workshop",
        "start": f"{D}T09:00:00",
        "end": f"{D}T10:00:00",
        "timeZone": "Europe/Berlin",
        "instructors": [instructor()],
    }
    return _apply(base, overrides)


def enrollment(**overrides: Any) -> dict[str, Any]:
    return _apply({"learnerEmail": "Ada.Learner@Contoso.Example", "status": "active"}, overrides)


def offering(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "OFF-1",
        "title": "Leading Hybrid Teams",
        "status": "active",
        "activities": [activity()],
        "enrollments": [enrollment()],
    }
    return _apply(base, overrides)


def read(*offerings: Any) -> Feed:
    return parse_feed({"schemaVersion": 1, "offerings": list(offerings)})


def only_rejection(feed: Feed) -> Rejection:
    assert len(feed.rejections) == 1, feed.rejections
    return feed.rejections[0]


def rejected_activity(**overrides: Any) -> Feed:
    """One offering with a valid activity ACT-OK and the activity under test at activities[1]."""
    feed = read(offering(activities=[activity(id="ACT-OK"), activity(**overrides)]))
    assert [a.id for a in feed.offerings[0].activities] == ["ACT-OK"]
    return feed


A1 = "offerings[0].activities[1]"


# --- time zones and times -------------------------------------------------------------------


def test_unknown_time_zone() -> None:
    feed = rejected_activity(id="ACT-X", timeZone="Mars/Olympus")
    assert only_rejection(feed) == Rejection(
        f"{A1}.timeZone", "'Mars/Olympus' is not an IANA time zone name; use a name such as Europe/Berlin"
    )
    assert feed.holds == (Hold("OFF-1", activity_id="ACT-X"),)


def test_time_zone_in_wrong_letter_case() -> None:
    rejection = only_rejection(rejected_activity(timeZone="europe/berlin"))
    assert rejection == Rejection(
        f"{A1}.timeZone", "'europe/berlin' is not an IANA time zone name; names are case-sensitive: Europe/Berlin"
    )


def test_time_zone_outlook_cannot_show() -> None:
    rejection = only_rejection(rejected_activity(timeZone="Antarctica/Troll"))
    assert rejection.path == f"{A1}.timeZone"
    assert rejection.reason.startswith("'Antarctica/Troll' has no Windows time zone equivalent")


def test_time_zone_must_be_text() -> None:
    rejection = only_rejection(rejected_activity(timeZone=1))
    assert rejection == Rejection(f"{A1}.timeZone", "must be text, not the number 1")


@pytest.mark.parametrize("end", [f"{D}T08:00:00", f"{D}T09:00"])
def test_end_not_after_start(end: str) -> None:
    rejection = only_rejection(rejected_activity(end=end))
    assert rejection == Rejection(
        f"{A1}.end",
        f"the activity ends ({end[:16]}) before or when it starts ({D}T09:00); "
        "the end must be later than the start",
    )


def test_start_in_daylight_saving_gap() -> None:
    rejection = only_rejection(rejected_activity(start=GAP, end=f"{GAP[:10]}T04:00"))
    assert rejection == Rejection(
        f"{A1}.start",
        f"{GAP} does not exist in Europe/Berlin: the clocks skip that time for daylight saving; "
        "use a time that shows on a local clock",
    )


def test_end_in_daylight_saving_gap() -> None:
    rejection = only_rejection(
        rejected_activity(start=f"{NY_GAP[:10]}T01:00", end=f"{NY_GAP}:00", timeZone="America/New_York")
    )
    assert rejection.path == f"{A1}.end"
    assert rejection.reason.startswith(f"{NY_GAP} does not exist in America/New_York")


def test_both_times_in_the_gap_give_two_rejections_and_one_hold() -> None:
    feed = rejected_activity(id="ACT-G", start=dst_gap("Europe/Berlin", 0), end=dst_gap("Europe/Berlin", 45))
    assert [r.path for r in feed.rejections] == [f"{A1}.start", f"{A1}.end"]
    assert feed.holds == (Hold("OFF-1", activity_id="ACT-G"),)


def test_ambiguous_time_is_its_first_occurrence() -> None:
    feed = read(offering(activities=[activity(start=REPEAT, end=f"{REPEAT[:10]}T03:30")]))
    act = feed.offerings[0].activities[0]
    assert act.start_utc == utc_of(REPEAT, "Europe/Berlin")  # fold 0: the first 02:30, still summer time
    assert act.start_utc.hour == 0 and act.start_utc.minute == 30
    assert act.end_utc == utc_of(f"{REPEAT[:10]}T03:30", "Europe/Berlin")
    assert act.start_local == datetime.fromisoformat(REPEAT)


def test_seconds_are_optional_and_local_times_are_kept() -> None:
    feed = read(offering(activities=[activity(start=f"{D}T09:00", end=f"{D}T10:30:15")]))
    act = feed.offerings[0].activities[0]
    assert act.start_local == datetime.fromisoformat(f"{D}T09:00")
    assert act.end_local == datetime.fromisoformat(f"{D}T10:30:15")
    assert act.start_utc == utc_of(f"{D}T09:00", "Europe/Berlin")
    assert act.time_zone == "Europe/Berlin"


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("value", [f"{D} 09:00", f"{D}T09:00Z", f"{D}T09:00:00+01:00", f"{D}T09:00:00.5",
                                   f"{D}T9:00", D[:4].translate(FULLWIDTH) + f"{D[4:]}T09:00", ""])
def test_start_not_in_local_date_time_form(value: str) -> None:
    rejection = only_rejection(rejected_activity(start=value))
    assert rejection.path == f"{A1}.start"
    assert rejection.reason.endswith(
        "is not a local date and time such as 2027-03-02T09:00 or 2027-03-02T09:00:00 "
        "(no offset; the time zone is given separately)"
    )


@pytest.mark.parametrize("value", [f"{D[:4]}-02-30T10:00", f"{D[:4]}-13-01T10:00", f"{D}T24:00", "0000-01-01T10:00"])
def test_start_that_is_no_real_date(value: str) -> None:
    assert only_rejection(rejected_activity(start=value)) == Rejection(
        f"{A1}.start", f"'{value}' is not a real date and time"
    )


def test_time_beyond_the_calendar() -> None:
    rejection = only_rejection(rejected_activity(start="9999-12-31T18:00", end="9999-12-31T23:00",
                                                 timeZone="America/New_York"))
    assert rejection == Rejection(
        f"{A1}.end", "9999-12-31T23:00 in America/New_York is outside the range of dates this product handles"
    )


# --- e-mail addresses -------------------------------------------------------------------------


def test_malformed_learner_address() -> None:
    feed = read(offering(enrollments=[enrollment(), enrollment(learnerEmail="Bo.Learner@")]))
    assert only_rejection(feed) == Rejection(
        "offerings[0].enrollments[1].learnerEmail",
        "'Bo.Learner@' is not a valid e-mail address: There must be something after the @-sign.",
    )
    # whose address was mistyped is unknown: only cancellations of learners missing from the offering wait
    assert feed.holds == (Hold("OFF-1", absent="learners"),)
    assert [e.email for e in feed.offerings[0].enrollments] == ["ada.learner@contoso.example"]


def test_malformed_instructor_address_rejects_its_activity() -> None:
    feed = rejected_activity(id="ACT-I", instructors=[instructor(), instructor(email="sam second@contoso.example")])
    rejection = only_rejection(feed)
    assert rejection.path == f"{A1}.instructors[1].email"
    assert rejection.reason.startswith("'sam second@contoso.example' is not a valid e-mail address: ")
    assert feed.holds == (Hold("OFF-1", activity_id="ACT-I"),)


def test_addresses_are_lower_cased() -> None:
    feed = read(offering())
    assert feed.offerings[0].enrollments[0].email == "ada.learner@contoso.example"
    assert feed.offerings[0].activities[0].instructors[0].email == "ines.instructor@contoso.example"


def test_addresses_in_test_domains_and_with_unicode_are_accepted() -> None:
    feed = read(offering(enrollments=[
        enrollment(learnerEmail="x@lab.test"), enrollment(learnerEmail="Zoë@Contoso.Example"),
    ]))
    assert [e.email for e in feed.offerings[0].enrollments] == ["x@lab.test", "zoë@contoso.example"]


# --- lengths, links, types, enums ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "path", "value", "limit"),
    [
        (lambda v: read(offering(title=v)), "offerings[0].title", "t" * 256, 255),
        (lambda v: read(offering(id=v)), "offerings[0].id", "i" * 201, 200),
        (lambda v: read(offering(courseTitle=v)), "offerings[0].courseTitle", "c" * 256, 255),
        (lambda v: read(offering(description=v)), "offerings[0].description", "d" * 32001, 32000),
        (lambda v: rejected_activity(title=v), f"{A1}.title", "🎓" * 256, 255),
        (lambda v: rejected_activity(description=v), f"{A1}.description", "d" * 32001, 32000),
        (lambda v: rejected_activity(location={"kind": "classroom", "address": v}), f"{A1}.location.address",
         "a" * 1001, 1000),
        (lambda v: rejected_activity(location={"kind": "classroom", "name": v}), f"{A1}.location.name", "n" * 256, 255),
        (lambda v: rejected_activity(instructors=[instructor(name=v)]), f"{A1}.instructors[0].name", "n" * 256, 255),
        (lambda v: rejected_activity(detailsUrl=v), f"{A1}.detailsUrl", "https://x.example/" + "p" * 2031, 2048),
        (lambda v: read(offering(enrollments=[enrollment(learnerName=v)])), "offerings[0].enrollments[0].learnerName",
         "n" * 256, 255),
        (lambda v: read(offering(enrollments=[enrollment(learnerEmail=v)])),
         "offerings[0].enrollments[0].learnerEmail", "a" * 310 + "@contoso.example", 320),
    ],
)
def test_over_long_field(make: Any, path: str, value: str, limit: int) -> None:
    rejection = only_rejection(make(value))
    assert rejection == Rejection(path, f"is {len(value)} characters long; at most {limit} are allowed")


def test_fields_at_their_maximum_length_are_accepted() -> None:
    feed = read(offering(title="t" * 255, id="i" * 200, description="d" * 32000,
                         activities=[activity(title="🎓" * 255)]))
    assert feed.rejections == ()
    assert feed.offerings[0].activities[0].title == "🎓" * 255


def test_empty_title() -> None:
    assert only_rejection(read(offering(title=""))) == Rejection("offerings[0].title", "must not be empty")


@pytest.mark.parametrize("link", ["ftp://files.contoso.example/x", "mailto:ines@contoso.example",
                                  "javascript:alert(1)", "HTTPS://meet.contoso.example/j/1", "www.contoso.example",
                                  "//meet.contoso.example/j/1"])
def test_non_http_link(link: str) -> None:
    rejection = only_rejection(rejected_activity(location={"kind": "virtual", "joinUrl": link}))
    assert rejection == Rejection(
        f"{A1}.location.joinUrl", f"'{link}' is not an http(s) link; links must start with https:// or http://"
    )


@pytest.mark.parametrize("link", ["https://", "https:///path", "https://meet.contoso.example/j 1", "https://[::1"])
def test_unusable_link(link: str) -> None:
    assert only_rejection(rejected_activity(location={"kind": "virtual", "hostUrl": link})) == Rejection(
        f"{A1}.location.hostUrl", f"'{link}' is not a usable link (no host name, or spaces in it)"
    )


def test_http_and_https_links_are_accepted() -> None:
    feed = read(offering(detailsUrl="http://learning.contoso.example/o/1",
                         activities=[activity(location={"kind": "virtual", "joinUrl": "https://m.example/j?a=1&b=2"})]))
    assert feed.rejections == ()
    assert feed.offerings[0].details_url == "http://learning.contoso.example/o/1"
    assert feed.offerings[0].activities[0].location == Location(kind="virtual", join_url="https://m.example/j?a=1&b=2")


def test_missing_required_field() -> None:
    assert only_rejection(rejected_activity(timeZone=DROP)) == Rejection(f"{A1}.timeZone", "is required but missing")


def test_wrong_json_types_are_not_coerced() -> None:
    feed = rejected_activity(instructors=[instructor(primary="yes")], title=12)
    assert feed.rejections == (
        Rejection(f"{A1}.title", "must be text, not the number 12"),
        Rejection(f"{A1}.instructors[0].primary", "must be true or false, not 'yes'"),
    )


@pytest.mark.parametrize(
    ("make", "path", "expected"),
    [
        (lambda: read(offering(status="postponed")), "offerings[0].status", "'active' or 'cancelled'"),
        (lambda: rejected_activity(status="done"), f"{A1}.status", "'scheduled' or 'cancelled'"),
        (lambda: rejected_activity(location={"kind": "hybrid"}), f"{A1}.location.kind",
         "'classroom', 'virtual' or 'none'"),
    ],
)
def test_value_outside_its_enum(make: Any, path: str, expected: str) -> None:
    rejection = only_rejection(make())
    assert rejection.path == path
    assert rejection.reason.endswith(f"is not allowed here; use {expected}")


def test_enrollment_status_outside_its_enum() -> None:
    feed = read(offering(enrollments=[enrollment(status="Active")]))
    assert only_rejection(feed) == Rejection(
        "offerings[0].enrollments[0].status",
        "'Active' is not allowed here; use 'active', 'withdrawn', 'completed' or 'cancelled'",
    )
    assert feed.holds == (Hold("OFF-1", email="ada.learner@contoso.example"),)


def test_location_without_kind() -> None:
    assert only_rejection(rejected_activity(location={"name": "Room 1"})) == Rejection(
        f"{A1}.location.kind", "is required but missing"
    )


@pytest.mark.parametrize("text", ["bad\x00byte", "bell\x07", "half \ud83d surrogate", "\ufffe"])
def test_characters_calendars_cannot_store(text: str) -> None:
    rejection = only_rejection(rejected_activity(description=text))
    assert rejection.path == f"{A1}.description"
    assert rejection.reason.startswith("contains ")
    assert rejection.reason.endswith(", which calendars cannot store")


def test_tabs_and_line_breaks_are_fine() -> None:
    assert read(offering(description="a\tb\r\nc\nd")).rejections == ()


# --- leniency --------------------------------------------------------------------------------------


def test_null_optional_property_reads_as_absent() -> None:
    feed = read(offering(description=None, detailsUrl=None,
                         activities=[activity(status=None, location=None, instructors=[instructor(primary=None)])]))
    assert feed.rejections == ()
    act = feed.offerings[0].activities[0]
    assert (act.status, act.location, act.instructors[0].primary) == ("scheduled", Location(), False)


def test_null_required_property_is_rejected() -> None:
    assert only_rejection(rejected_activity(title=None)) == Rejection(f"{A1}.title", "must be text, not null")


def test_unknown_properties_are_ignored() -> None:
    feed = read(offering(extra={"x": 1}, activities=[activity(room=5, location={"kind": "none", "floor": 3})]))
    assert feed.rejections == ()


# --- shape ---------------------------------------------------------------------------------------------


def test_activity_that_is_not_an_object() -> None:
    feed = read(offering(activities=[activity(), "ACT-2"]))
    assert only_rejection(feed) == Rejection("offerings[0].activities[1]", "must be an object, not 'ACT-2'")
    assert feed.holds == (Hold("OFF-1", absent="activities"),)  # no readable id: it may be any missing activity


def test_activity_without_readable_id_holds_the_sessions_missing_from_its_offering() -> None:
    feed = rejected_activity(id=7)
    assert only_rejection(feed) == Rejection(f"{A1}.id", "must be text, not the number 7")
    assert feed.holds == (Hold("OFF-1", absent="activities"),)


def test_enrollment_without_readable_address_holds_the_learners_missing_from_its_offering() -> None:
    feed = read(offering(enrollments=[enrollment(learnerEmail=DROP)]))
    assert only_rejection(feed) == Rejection("offerings[0].enrollments[0].learnerEmail", "is required but missing")
    assert feed.holds == (Hold("OFF-1", absent="learners"),)


def test_offering_with_invalid_own_field_is_rejected_whole() -> None:
    feed = read(offering(id="OFF-1", title=""), offering(id="OFF-2"))
    assert only_rejection(feed).path == "offerings[0].title"
    assert [o.id for o in feed.offerings] == ["OFF-2"]
    assert feed.holds == (Hold("OFF-1"),)


def test_rejected_offering_is_not_judged_further() -> None:
    feed = read(offering(status="bad", activities=[activity(timeZone="Mars/Olympus")]))
    assert [r.path for r in feed.rejections] == ["offerings[0].status"]


@pytest.mark.parametrize(("field", "value", "kind"), [("activities", {}, "an object"), ("enrollments", "all", "'all'")])
def test_offering_whose_lists_are_not_lists(field: str, value: Any, kind: str) -> None:
    feed = read(offering(**{field: value}))
    assert only_rejection(feed) == Rejection(f"offerings[0].{field}", f"must be a list, not {kind}")
    assert feed.offerings == ()
    assert feed.holds == (Hold("OFF-1"),)


def test_offering_missing_its_lists() -> None:
    feed = read(offering(activities=DROP, enrollments=DROP))
    assert feed.rejections == (
        Rejection("offerings[0].activities", "is required but missing"),
        Rejection("offerings[0].enrollments", "is required but missing"),
    )


def test_offering_that_is_not_an_object_cannot_be_held() -> None:
    feed = read(["OFF-1"], offering(id="OFF-2"))
    assert only_rejection(feed) == Rejection("offerings[0]", "must be an object, not a list")
    assert feed.holds == ()


def test_offering_with_unreadable_id_cannot_be_held() -> None:
    feed = read(offering(id=None))
    assert only_rejection(feed) == Rejection("offerings[0].id", "must be text, not null")
    assert feed.holds == ()


# --- duplicates ------------------------------------------------------------------------------------------


def test_duplicate_offering_id_rejects_every_copy() -> None:
    feed = read(offering(id="OFF-D"), offering(id="OFF-2"), offering(id="OFF-D", title="Other"))
    expected = (
        "the offering id 'OFF-D' is used more than once (offerings[0], offerings[2]); "
        "no copy is applied and the offering's existing invitations are left as they are"
    )
    assert feed.rejections == (Rejection("offerings[0].id", expected), Rejection("offerings[2].id", expected))
    assert [o.id for o in feed.offerings] == ["OFF-2"]
    assert feed.holds == (Hold("OFF-D"),)


def test_duplicate_activity_id_rejects_every_copy() -> None:
    feed = read(offering(activities=[activity(id="ACT-D"), activity(id="ACT-2"), activity(id="ACT-D")]))
    expected = (
        "the activity id 'ACT-D' is used more than once in this offering "
        "(offerings[0].activities[0], offerings[0].activities[2]); no copy is applied and the activity's "
        "existing invitations are left as they are"
    )
    assert feed.rejections == (
        Rejection("offerings[0].activities[0].id", expected),
        Rejection("offerings[0].activities[2].id", expected),
    )
    assert [a.id for a in feed.offerings[0].activities] == ["ACT-2"]
    assert feed.holds == (Hold("OFF-1", activity_id="ACT-D"),)


def test_ids_are_compared_exactly() -> None:
    feed = read(offering(activities=[activity(id="ACT-1"), activity(id="act-1"), activity(id="ACT-1 ")]))
    assert feed.rejections == ()
    assert len(feed.offerings[0].activities) == 3


def test_same_activity_id_in_two_offerings_is_fine() -> None:
    feed = read(offering(id="OFF-1"), offering(id="OFF-2"))
    assert feed.rejections == ()


def test_duplicate_learner_ignoring_case_rejects_every_entry() -> None:
    feed = read(offering(enrollments=[
        enrollment(learnerEmail="Ada@Contoso.Example"),
        enrollment(learnerEmail="bo@contoso.example"),
        enrollment(learnerEmail="ADA@contoso.example", status="withdrawn"),
    ]))
    expected = (
        "the learner 'ada@contoso.example' is enrolled more than once in this offering "
        "(offerings[0].enrollments[0], offerings[0].enrollments[2]; addresses are compared ignoring letter case); "
        "no entry is applied and this learner's existing invitations are left as they are"
    )
    assert feed.rejections == (
        Rejection("offerings[0].enrollments[0].learnerEmail", expected),
        Rejection("offerings[0].enrollments[2].learnerEmail", expected),
    )
    assert [e.email for e in feed.offerings[0].enrollments] == ["bo@contoso.example"]
    assert feed.holds == (Hold("OFF-1", email="ada@contoso.example"),)


def test_duplicate_copy_that_is_also_invalid_reports_both_problems() -> None:
    feed = read(offering(activities=[activity(id="ACT-D"), activity(id="ACT-D", timeZone="Nowhere")]))
    assert [r.path for r in feed.rejections] == [
        "offerings[0].activities[0].id", "offerings[0].activities[1].id", "offerings[0].activities[1].timeZone",
    ]
    assert feed.holds == (Hold("OFF-1", activity_id="ACT-D"),)
    assert feed.offerings[0].activities == ()


def test_long_duplicate_lists_are_shortened() -> None:
    feed = read(offering(activities=[activity(id="ACT-D") for _ in range(8)]))
    assert "offerings[0].activities[4] and 3 more)" in feed.rejections[0].reason


def test_same_learner_in_two_offerings_is_fine() -> None:
    other = offering(id="OFF-2", enrollments=[enrollment(learnerEmail="ADA.learner@contoso.example")])
    feed = read(offering(id="OFF-1"), other)
    assert feed.rejections == ()


# --- what is applied --------------------------------------------------------------------------------


def test_a_valid_item_becomes_its_domain_value() -> None:
    feed = read(offering(
        courseTitle="Leadership Essentials", description="Two workshops.", detailsUrl="https://l.example/o/1",
        activities=[activity(
            status="cancelled", description="Part 1", detailsUrl="https://l.example/a/1",
            location={"kind": "virtual", "name": "Online", "joinUrl": "https://m.example/j", "hostUrl": "https://m.example/h"},
            instructors=[instructor(), instructor(email="sam@contoso.example", name=DROP, primary=DROP)],
        )],
        enrollments=[enrollment(learnerName="Ada Learner", status="completed")],
    ))
    assert feed.rejections == () and feed.holds == ()
    off = feed.offerings[0]
    assert (off.id, off.title, off.status, off.course_title, off.description, off.details_url) == (
        "OFF-1", "Leading Hybrid Teams", "active", "Leadership Essentials", "Two workshops.", "https://l.example/o/1")
    act = off.activities[0]
    assert (act.status, act.description, act.details_url) == ("cancelled", "Part 1", "https://l.example/a/1")
    assert act.location == Location("virtual", "Online", None, "https://m.example/j", "https://m.example/h")
    assert [(i.email, i.name, i.primary) for i in act.instructors] == [
        ("ines.instructor@contoso.example", "Ines Instructor", True), ("sam@contoso.example", None, False)]
    assert act.start_utc.tzinfo is UTC
    enr = off.enrollments[0]
    assert (enr.email, enr.name, enr.status) == ("ada.learner@contoso.example", "Ada Learner", "completed")


def test_rejections_keep_document_order_and_holds_are_not_repeated() -> None:
    feed = read(
        offering(id="OFF-1", activities=[activity(id="A", timeZone="X/Y", title="")]),
        offering(id="OFF-2", enrollments=[enrollment(status="x")]),
    )
    assert [r.path for r in feed.rejections] == [
        "offerings[0].activities[0].title", "offerings[1].enrollments[0].status",
    ]
    assert feed.holds == (Hold("OFF-1", activity_id="A"), Hold("OFF-2", email="ada.learner@contoso.example"))

"""CSV feeds: the same domain values as their JSON twins, and per-row rejections and holds.

The twins are written by tests/support/csv_twins.py from the documented columns; the oracle
is the JSON reader's verdict on the JSON twin, which knows nothing of CSV.
"""

from __future__ import annotations

import codecs
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.domain import Hold
from shared.errors import ConfigurationError, FeedUnreadable
from shared.feed.csvfeed import load_mapping
from shared.feed.examples import example_path
from shared.feed.reader import parse_feed, read_feed
from tests.support.csv_twins import (
    ORACLE_LIKE_MAPPING,
    csv_text,
    excel_unicode_text,
    oracle_like_export,
    rows_of,
    shifted,
)

TWINS = [
    "sample.json", "cancelled-offering.json", "cancelled-activity.json", "completed-enrollment.json",
    "half-hour-zone.json", "zone-outside-graph-list.json", "dst-change.json", "learner-and-instructor.json",
    "unusual-text.json",
]


def example(name: str) -> dict[str, Any]:
    return shifted(json.loads(example_path(name).read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", TWINS)
def test_csv_twin_reads_as_its_json_twin(name: str) -> None:
    doc = example(name)
    from_json = parse_feed(doc)
    from_csv = parse_feed(csv_text(doc).encode("utf-8"), source="x.csv")
    assert from_json.offerings and from_json.rejections == ()
    assert from_csv.offerings == from_json.offerings
    assert (from_csv.rejections, from_csv.holds) == ((), ())


@pytest.mark.parametrize("encoded", [
    pytest.param(lambda doc: codecs.BOM_UTF8 + csv_text(doc).encode("utf-8"), id="utf-8 with BOM"),
    pytest.param(excel_unicode_text, id="excel unicode text (utf-16, tabs)"),
    pytest.param(lambda doc: csv_text(doc, delimiter=";").encode("utf-8"), id="semicolons"),
    pytest.param(lambda doc: codecs.BOM_UTF8 + csv_text(doc, delimiter=";").encode("utf-8"), id="BOM and semicolons"),
])
def test_encodings_and_delimiters_are_detected(encoded: Any) -> None:
    doc = example("unusual-text.json")
    assert parse_feed(encoded(doc)).offerings == parse_feed(doc).offerings


def test_a_quoted_newline_stays_in_the_description() -> None:
    doc = example("sample.json")
    text = csv_text(doc)
    assert '"Two half-day workshops on running teams across offices and home.\n\nBring' in text
    offering = parse_feed(text.encode("utf-8")).offerings[0]
    assert offering.description == doc["offerings"][0]["description"]


def test_invalid_items_give_the_json_holds_and_name_rows_and_columns() -> None:
    doc = example("invalid-items.json")
    from_json, from_csv = parse_feed(doc), parse_feed(csv_text(doc).encode("utf-8"))
    assert from_csv.offerings == from_json.offerings
    assert set(from_csv.holds) == set(from_json.holds)
    rows = rows_of(doc)
    paths = {r.path for r in from_csv.rejections}
    zone_row = next(n for n, row in enumerate(rows, start=2) if row["time_zone"] == "Mars/Olympus")
    bad_learner = next(n for n, row in enumerate(rows, start=2) if row["person_email"] == "not-an-address")
    assert {f"row {zone_row}, column time_zone", f"row {bad_learner}, column person_email"} <= paths
    assert all(p.startswith("row ") for p in paths)


DAY = date.today() + timedelta(days=30)  # a session date ahead of today
ISO_DAY = DAY.isoformat()


def _one_session(**changes: str) -> list[dict[str, str]]:
    row = {
        "offering_id": "OFF-1", "offering_title": "Course", "offering_status": "active", "session_id": "S-1",
        "session_title": "Day 1", "session_start": f"{ISO_DAY}T09:00", "session_end": f"{ISO_DAY}T10:00",
        "time_zone": "Europe/Berlin", "location_kind": "none",
    }
    return [
        {**row, "person_email": "ines@contoso.example", "role": "primaryInstructor"},
        {**row, "person_email": "ada@contoso.example", "role": "learner", "enrollment_status": "active"},
        {**row, "person_email": "bo@contoso.example", "role": "learner", "enrollment_status": "active", **changes},
    ]


FEED = {"offerings": []}


def test_a_bad_date_rejects_its_row_with_row_and_column_and_holds_the_session() -> None:
    rows = _one_session()
    written = f"{DAY:%d.%m.%Y} 09:00"  # a day-first date the documented columns do not read
    rows.append({**rows[0], "session_id": "S-2", "session_start": written, "person_email": "pat@contoso.example"})
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    assert [(r.path, r.reason.split(" is ")[0]) for r in feed.rejections] == [
        ("row 5, column session_start", f"'{written}'")]
    assert "%Y-%m-%dT%H:%M" in feed.rejections[0].reason and "mapping file" in feed.rejections[0].reason
    assert feed.holds == (Hold("OFF-1", activity_id="S-2"),)
    assert [a.id for a in feed.offerings[0].activities] == ["S-1"]


def test_rows_of_one_offering_that_disagree_reject_it_and_hold_it() -> None:
    rows = _one_session(offering_title="Other course")
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    assert [r.path for r in feed.rejections] == ["row 4, column offering_title"]
    assert "'Other course' differs from 'Course' on row 2" in feed.rejections[0].reason
    assert (feed.offerings, feed.holds) == ((), (Hold("OFF-1"),))


def test_an_unknown_role_holds_what_the_person_could_be() -> None:
    rows = _one_session(role="Teacher")
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    assert {r.path for r in feed.rejections} == {"row 4, column role"}
    assert "'Teacher' is not a role" in feed.rejections[0].reason
    assert set(feed.holds) == {Hold("OFF-1", activity_id="S-1"), Hold("OFF-1", email="bo@contoso.example")}


def test_an_instructor_row_without_a_session_holds_the_offering() -> None:
    rows = _one_session()
    rows.append({k: rows[0][k] for k in ("offering_id", "offering_title", "offering_status")}
                | {"person_email": "sam@contoso.example", "role": "instructor"})
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    assert [r.path for r in feed.rejections] == ["row 5, column session_id"]
    assert feed.holds == (Hold("OFF-1"),)


def test_a_missing_value_is_named_by_row_and_column() -> None:
    rows = _one_session(enrollment_status="")
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    assert [(r.path, r.reason) for r in feed.rejections] == [
        ("row 4, column enrollment_status", "is required but missing")]
    assert feed.holds == (Hold("OFF-1", email="bo@contoso.example"),)


def test_sessions_and_offerings_without_people_and_cancellations() -> None:
    rows = [
        {"offering_id": "OFF-9", "offering_title": "Gone", "offering_status": "cancelled"},
        {"offering_id": "OFF-8", "offering_title": "Kept", "offering_status": "active", "session_id": "S-8",
         "session_title": "Alone", "session_status": "cancelled", "session_start": f"{ISO_DAY} 09:00",
         "session_end": f"{ISO_DAY} 10:00", "time_zone": "UTC"},
    ]
    feed = parse_feed(csv_text(FEED, rows=rows).encode("utf-8"))
    gone, kept = feed.offerings
    assert (gone.status, gone.activities, gone.enrollments) == ("cancelled", (), ())
    (session,) = kept.activities
    assert (session.status, session.instructors, session.start_local) == (
        "cancelled", (), datetime(DAY.year, DAY.month, DAY.day, 9, 0))


@pytest.mark.parametrize("cut", [
    pytest.param(lambda text: text[: text.rindex("#END")], id="no trailer"),
    pytest.param(lambda text: text[: text.index("\r\n", 400)] + "\r\n#END,rows=7\r\n", id="rows missing"),
    pytest.param(lambda text: text.replace("#END,rows=", "#END,rows=1"), id="count wrong"),
    pytest.param(lambda text: text + "OFF-100,extra\r\n", id="rows after the trailer"),
])
def test_a_file_that_cannot_prove_it_is_complete_is_refused(cut: Any) -> None:
    text = csv_text(example("sample.json"))
    with pytest.raises(FeedUnreadable, match="trailer"):
        parse_feed(cut(text).encode("utf-8"), name="feed.csv")


def test_a_header_without_the_offering_id_is_refused_with_what_was_read() -> None:
    text = "id,title\r\nOFF-1,x\r\n#END,rows=1\r\n"
    with pytest.raises(FeedUnreadable, match=r"not a header with a offering_id column .* it holds: id, title"):
        parse_feed(text.encode("utf-8"), name="feed.csv")


def test_text_that_is_neither_json_nor_csv_keeps_the_json_message() -> None:
    with pytest.raises(FeedUnreadable, match="not valid JSON"):
        parse_feed(b"hello")


def test_a_mapping_file_reads_an_export_with_other_columns_words_and_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = example("sample.json")
    doc["offerings"][0]["description"] = "One line."  # a pipe-separated export without quoting holds no newlines
    mapping_file = tmp_path / "oracle.toml"
    mapping_file.write_text(ORACLE_LIKE_MAPPING, encoding="utf-8")
    headers = load_mapping(str(mapping_file)).headers
    export = tmp_path / "export.txt"
    export.write_text(oracle_like_export(doc, headers), encoding="utf-8")
    assert re.search(r"\|[0-9]{2}-[A-Z]{3}-[0-9]{4} [0-9]{2}:[0-9]{2}\|", export.read_text(encoding="utf-8"))

    monkeypatch.setenv("LEARNCAL_FEED_CSV_MAPPING", str(mapping_file))
    feed = read_feed(str(export))
    assert feed.rejections == ()
    assert feed.offerings == parse_feed(doc).offerings


@pytest.mark.parametrize(("text", "named"), [
    ('[columns]\nofering_id = "X"\n', "ofering_id is not a column"),
    ('[dates]\nformats = []\n', "dates.formats"),
    ('[file]\ndelimiter = "#"\n', "file.delimiter"),
    ('[file]\nencoding = "klingon"\n', "'klingon' is not an encoding"),
    ('[colums]\n', "colums"),
    ('columns = [', "not valid TOML"),
])
def test_a_broken_mapping_file_is_a_configuration_error_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=named):
        load_mapping(str(path))


def test_a_configured_encoding_reads_a_legacy_export(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"file": {"encoding": "cp1252", "delimiter": ";"}}), encoding="utf-8")
    doc = example("zone-outside-graph-list.json")
    doc["offerings"][0]["title"] = "Café Führung"
    data = csv_text(doc, delimiter=";").encode("cp1252")
    with pytest.raises(FeedUnreadable, match="not utf-8 text"):
        parse_feed(data, name="x.csv")
    feed = parse_feed(data, csv_mapping=load_mapping(str(tmp_path / "m.json")))
    assert feed.offerings[0].title == "Café Führung"


def test_a_json_feed_does_not_depend_on_the_csv_mapping(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEARNCAL_FEED_CSV_MAPPING", str(tmp_path / "missing.toml"))
    doc = example("sample.json")
    assert parse_feed(json.dumps(doc).encode("utf-8")).offerings == parse_feed(doc).offerings
    with pytest.raises(ConfigurationError, match=r"LEARNCAL_FEED_CSV_MAPPING=.*missing\.toml cannot be read"):
        parse_feed(csv_text(doc).encode("utf-8"))


def test_utf16_without_its_mark_and_a_second_trailer() -> None:
    doc = example("sample.json")
    text = csv_text(doc, delimiter="\t")
    assert parse_feed(text.encode("utf-16-le")).offerings == parse_feed(doc).offerings
    assert parse_feed(text.encode("utf-16-be")).offerings == parse_feed(doc).offerings
    doubled = text.replace("\r\n", "\r\n#END\trows=1\r\n", 2).split("\r\n", 1)[1]
    with pytest.raises(FeedUnreadable, match="trailer row on row"):
        parse_feed(("\r\n".join([text.split("\r\n")[0], doubled])).encode("utf-8"), name="x.csv")


@pytest.mark.parametrize("name", TWINS)
def test_learncal_feed_to_csv_writes_a_file_that_reads_as_the_json(name: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from shared.cli import cli

    doc = example(name)
    source = tmp_path / "feed.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    written = CliRunner().invoke(cli, ["feed", "to-csv", str(source), "--delimiter", ";"])
    assert written.exit_code == 0, written.output
    assert written.output.splitlines()[-1].startswith("#END;rows=")
    from_csv = parse_feed(written.output.encode("utf-8"), name="feed.csv")
    assert (from_csv.offerings, from_csv.rejections) == (parse_feed(doc).offerings, ())


def test_excel_separator_line_names_the_delimiter() -> None:
    doc = example("sample.json")
    text = "sep=;\r\n" + csv_text(doc, delimiter=";").replace("Leadership Essentials", "Leadership, Essentials")
    feed = parse_feed(text.encode("utf-8"))
    assert feed.rejections == ()
    assert feed.offerings[0].course_title == "Leadership, Essentials"


def test_a_relative_mapping_path_is_found_from_the_app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # as a host whose working directory is elsewhere
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_mapping("no/such/mapping.toml")
    # a file of the app itself, found from its root: read, then refused for what it holds
    with pytest.raises(ConfigurationError, match=r"sample\.json is not usable: schemaVersion"):
        load_mapping("shared/feed/examples/sample.json")

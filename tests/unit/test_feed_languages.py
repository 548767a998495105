"""The feed's `language` tags: on enrollments, instructors and offerings, in JSON and CSV, checked against CLDR."""

from __future__ import annotations

import json
from typing import Any

from shared.feed.reader import parse_feed
from shared.feed.schema import feed_json_schema
from tests.support.csv_twins import csv_text
from tests.support.feeds import ADA, BO, INES, SAM, activity, base_feed, enrollment, offering


def with_languages() -> dict[str, Any]:
    feed = base_feed()
    offering(feed, "OFF-1001")["language"] = "FR"
    enrollment(feed, "OFF-1001", ADA)["language"] = "de-ch"
    activity(feed, "OFF-1001", "ACT-1")["instructors"][1]["language"] = "zh-hant-tw"
    return feed


def languages(feed: Any) -> dict[str, Any]:
    first = next(o for o in feed.offerings if o.id == "OFF-1001")
    act = next(a for a in first.activities if a.id == "ACT-1")
    return {"offering": first.language, **{e.email: e.language for e in first.enrollments},
            **{i.email: i.language for i in act.instructors}}


def test_tags_are_read_in_their_canonical_spelling() -> None:
    assert languages(parse_feed(with_languages())) == {
        "offering": "fr", ADA: "de-CH", BO: None, "cy.learner@contoso.example": None, INES: None, SAM: "zh-Hant-TW"}


def test_the_csv_columns_carry_the_same_languages() -> None:
    assert languages(parse_feed(csv_text(with_languages()))) == languages(parse_feed(with_languages()))


def test_a_bad_tag_rejects_its_item_naming_the_field_and_the_fix() -> None:
    feed = base_feed()
    enrollment(feed, "OFF-1001", BO)["language"] = "klingon"
    activity(feed, "OFF-1001", "ACT-2")["instructors"][0]["language"] = "de_DE"
    offering(feed, "OFF-2002")["language"] = 7
    read = parse_feed(feed)
    assert [(r.path, r.reason) for r in read.rejections] == [
        ("offerings[0].activities[1].instructors[0].language",
         "'de_DE' is not a BCP 47 language tag; use a tag such as en, de, fr or de-CH (letters and digits in parts "
         "joined by '-')"),
        ("offerings[0].enrollments[1].language",
         "'klingon' is not a language the locale data (CLDR) knows: unknown locale 'klingon'; use a tag such as "
         "en, de, fr or de-CH"),
        ("offerings[1].language", "must be text, not the number 7"),
    ]


def test_the_published_schema_has_the_optional_language_everywhere_it_is_read() -> None:
    defs = feed_json_schema()["$defs"]
    for model in ("OfferingEntry", "EnrollmentEntry", "InstructorEntry"):
        prop = defs[model]["properties"]["language"]
        assert prop["type"] == "string" and prop["maxLength"] == 35 and "BCP 47" in json.dumps(prop)
        assert "language" not in defs[model].get("required", [])

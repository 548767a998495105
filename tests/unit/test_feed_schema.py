"""The published JSON Schema is exactly what the models generate, and says what the reader enforces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.feed.formats import LINK_PATTERN, LOCAL_DATE_TIME_PATTERN
from shared.feed.schema import SCHEMA_ID, SCHEMA_PATH, feed_json_schema, main, schema_text


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "learning-feed.schema.json is out of date: run python -m shared.feed.schema --write"
    )


def test_main_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert json.loads(capsys.readouterr().out) == feed_json_schema()


def _defs() -> dict[str, Any]:
    return feed_json_schema()["$defs"]


def test_identity_and_top_level() -> None:
    schema = feed_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["required"] == ["schemaVersion", "offerings"]
    assert schema["properties"]["schemaVersion"]["const"] == 1
    assert schema["properties"]["generatedAt"]["format"] == "date-time"


def test_required_fields() -> None:
    defs = _defs()
    assert defs["OfferingEntry"]["required"] == ["id", "title", "status", "activities", "enrollments"]
    assert defs["ActivityEntry"]["required"] == ["id", "title", "start", "end", "timeZone", "instructors"]
    assert defs["EnrollmentEntry"]["required"] == ["learnerEmail", "status"]
    assert defs["InstructorEntry"]["required"] == ["email"]
    assert defs["LocationEntry"]["required"] == ["kind"]


def test_formats_and_limits() -> None:
    defs = _defs()
    link = {"type": "string", "format": "uri", "pattern": LINK_PATTERN, "maxLength": 2048}
    email = {"type": "string", "format": "email", "maxLength": 320}
    assert defs["OfferingEntry"]["properties"]["detailsUrl"] == link
    assert defs["LocationEntry"]["properties"]["hostUrl"] == link
    assert defs["EnrollmentEntry"]["properties"]["learnerEmail"] == email
    assert defs["InstructorEntry"]["properties"]["email"] == email
    assert defs["ActivityEntry"]["properties"]["start"]["pattern"] == LOCAL_DATE_TIME_PATTERN
    assert defs["ActivityEntry"]["properties"]["id"] == {"type": "string", "minLength": 1, "maxLength": 200}
    assert defs["ActivityEntry"]["properties"]["description"] == {"type": "string", "maxLength": 32000}
    assert defs["ActivityEntry"]["properties"]["status"]["enum"] == ["scheduled", "cancelled"]


def test_optional_properties_are_published_without_null() -> None:
    assert '"type": "null"' not in schema_text()
    assert "anyOf" not in schema_text()


def test_unknown_properties_stay_allowed() -> None:
    assert "additionalProperties" not in schema_text()

"""The published JSON Schema and the bundled examples agree (a feed author can trust either)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from shared.feed.examples import example_names, example_path
from shared.feed.schema import SCHEMA_PATH

VALIDATOR = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")), format_checker=FormatChecker())
BROKEN_ON_PURPOSE = {"invalid-items.json"}


@pytest.mark.parametrize("name", sorted(set(example_names()) - BROKEN_ON_PURPOSE))
def test_every_valid_example_passes_the_published_schema(name: str) -> None:
    errors = list(VALIDATOR.iter_errors(json.loads(example_path(name).read_text(encoding="utf-8"))))
    assert errors == []


def test_the_broken_example_fails_the_published_schema_where_it_should() -> None:
    document = json.loads(example_path("invalid-items.json").read_text(encoding="utf-8"))
    failing = {"/".join(str(p) for p in error.absolute_path) for error in VALIDATOR.iter_errors(document)}
    assert "offerings/1/title" in failing  # an over-long title, caught by the schema itself

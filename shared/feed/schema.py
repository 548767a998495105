"""The feed's JSON Schema, generated from the models so the published format cannot drift.

The generated file `learning-feed.schema.json` beside this module is committed for feed
producers; a unit test fails when it differs from what the models generate. Regenerate it
with `python -m shared.feed.schema --write`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from shared.feed.models import FeedDocument

SCHEMA_PATH = Path(__file__).with_name("learning-feed.schema.json")
SCHEMA_ID = "urn:learning-calendar-sync:learning-feed:v1"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _FeedSchema(GenerateJsonSchema):
    """Describes the document producers should write, not Python's view of it.

    The reader reads a null optional property as absent, but a producer should simply leave
    it out, so optional properties are published with their plain type; field titles are
    dropped because they only repeat the property names.
    """

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", ...) is None:
            generated.pop("default")
        return generated

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def feed_json_schema() -> dict[str, Any]:
    """The schema as a dict, with the identity (`$id`) producers use to refer to version 1."""
    generated = FeedDocument.model_json_schema(by_alias=True, mode="validation", schema_generator=_FeedSchema)
    return {"$schema": _DIALECT, "$id": SCHEMA_ID, **generated}


def schema_text() -> str:
    """The schema as it is committed: stable key order, UTF-8, a final newline."""
    return json.dumps(feed_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the learning feed's JSON Schema.")
    parser.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_PATH.name} instead")
    args = parser.parse_args(argv)
    if args.write:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    else:
        sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

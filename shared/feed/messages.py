"""Plain-words reasons for what the models found wrong, each with its exact path in the feed.

The people who read these run reports maintain the learning system, not this product's
code: a reason names the value and the rule, never a Python type or a validator name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.domain import Rejection
from shared.feed.formats import shown


def join_path(prefix: str, loc: Sequence[int | str]) -> str:
    """`offerings[1]` + ("activities", 0, "timeZone") -> `offerings[1].activities[0].timeZone`."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def rejections(error: ValidationError, prefix: str) -> Iterator[Rejection]:
    for detail in error.errors(include_url=False):
        yield Rejection(join_path(prefix, detail["loc"]), reason(detail))


def describe(value: Any) -> str:
    """A JSON value as a reader of the feed would name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return "a value of another kind"


def reason(detail: ErrorDetails) -> str:
    """pydantic's wording speaks of Python ("a valid dictionary"); this speaks of JSON and the feed."""
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return "is required but missing"
    if kind == "string_type":
        return f"must be text, not {describe(value)}"
    if kind == "bool_type":
        return f"must be true or false, not {describe(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be an object, not {describe(value)}"
    if kind == "list_type":
        return f"must be a list, not {describe(value)}"
    if kind == "string_unicode":
        return "contains an unpaired surrogate (not a Unicode character), which calendars cannot store"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long" and isinstance(value, str):
        return f"is {len(value)} characters long; at most {ctx.get('max_length')} are allowed"
    if kind == "literal_error":
        return f"{describe(value)} is not allowed here; use {ctx.get('expected')}"
    return detail["msg"]

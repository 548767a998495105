"""The value formats of the feed (links, e-mail addresses, date-times) as pydantic field types.

Each type checks its value and says what is wrong in plain words, and publishes the same
constraint in the generated JSON Schema, so producers and the reader agree on one format.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, PlainValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

LINK_PATTERN = r"^https?://"
LOCAL_DATE_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"
_LOCAL_DATE_TIME = re.compile(LOCAL_DATE_TIME_PATTERN)
_LINK = re.compile(LINK_PATTERN)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# Characters that cannot travel to a calendar: Exchange stores text as XML 1.0, and JSON allows
# escaped lone surrogates that no UTF-8 encoder accepts.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHOWN_MAX = 80


def shown(value: str) -> str:
    """A value quoted for a message, cut short so one long field cannot flood the run report."""
    text = value if len(value) <= _SHOWN_MAX else value[: _SHOWN_MAX - 1] + "…"
    return "'" + _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "'"


def unstorable_character(value: str) -> str | None:
    """The first character a calendar cannot store, as U+XXXX, or None."""
    match = _UNSTORABLE.search(value)
    return f"U+{ord(match.group()):04X}" if match else None


def _not_text() -> PydanticCustomError:
    return PydanticCustomError("string_type", "Input should be a valid string")


def _host(link: str) -> str | None:
    try:
        return urlsplit(link).hostname
    except ValueError:  # a malformed [IPv6] host
        return None


def _check_link(value: str) -> str:
    if not _LINK.match(value):
        raise PydanticCustomError(
            "link", "{value} is not an http(s) link; links must start with https:// or http://", {"value": shown(value)}
        )
    if _SPACE_OR_CONTROL.search(value) or not _host(value):
        raise PydanticCustomError(
            "link", "{value} is not a usable link (no host name, or spaces in it)", {"value": shown(value)}
        )
    return value


@lru_cache(maxsize=65536)
def _email_problem(value: str) -> str | None:
    """Cached because a person recurs across a feed (a learner in many offerings, an instructor
    in every session) and the syntax check is the reader's most expensive step."""
    try:
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _check_email(value: str) -> str:
    why = _email_problem(value)
    if why is not None:
        raise PydanticCustomError(
            "email", "{value} is not a valid e-mail address: {why}", {"value": shown(value), "why": why}
        )
    return value


def _parse_local_date_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _not_text()
    if not _LOCAL_DATE_TIME.match(value):
        raise PydanticCustomError(
            "local_date_time",
            "{value} is not a local date and time such as 2027-03-02T09:00 or 2027-03-02T09:00:00 "
            "(no offset; the time zone is given separately)",
            {"value": shown(value)},
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError(
            "local_date_time", "{value} is not a real date and time", {"value": shown(value)}
        ) from exc


def _parse_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _not_text()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise PydanticCustomError(
            "date_time", "{value} is not a date and time with an offset, such as 2027-01-04T08:00:00Z",
            {"value": shown(value)},
        )
    return parsed


Link = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_check_link),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": LINK_PATTERN, "maxLength": 2048}),
]
Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(_check_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
LocalDateTime = Annotated[
    datetime,
    PlainValidator(_parse_local_date_time),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Wall-clock date and time in the activity's time zone, without offset.",
            "pattern": LOCAL_DATE_TIME_PATTERN,
        }
    ),
]
Timestamp = Annotated[
    datetime,
    PlainValidator(_parse_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
def _check_language(value: str) -> str:
    from shared.templates.languages import LanguageError, normalize_language

    try:
        return normalize_language(value)
    except LanguageError as exc:
        raise PydanticCustomError("language", "{why}", {"why": str(exc)}) from None


LANGUAGE_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
Language = Annotated[
    str,
    StringConstraints(max_length=35),
    AfterValidator(_check_language),
    WithJsonSchema({
        "type": "string", "pattern": LANGUAGE_PATTERN, "maxLength": 35,
        "description": "BCP 47 language tag of the invitations, e.g. de, fr or de-CH.",
    }),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Name = Annotated[str, StringConstraints(max_length=255)]
Address = Annotated[str, StringConstraints(max_length=1000)]
LongText = Annotated[str, StringConstraints(max_length=32000)]

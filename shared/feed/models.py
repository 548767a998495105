"""The learning feed, version 1, as typed models: the single definition of the format.

The published JSON Schema is generated from these classes (see `schema.py`), so the reader
and the document producers read are the same thing. Validation is strict about JSON types
(a number is not text, "yes" is not true) and ignores properties it does not know, so a
producer may add fields without breaking older readers. A null value of an optional
property is read as if the property were absent, because many exporters write nulls for
empty columns.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shared.feed.formats import Address, Email, Id, Language, Link, LocalDateTime, LongText, Name, Timestamp, Title

SCHEMA_VERSION = 1


class _Entry(BaseModel):
    """Strict JSON types and ignored extras for every part of the feed (see the module docstring)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, alias_generator=to_camel)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        optional = _optional_keys(cls)
        return {k: v for k, v in data.items() if not (v is None and k in optional)}


@cache
def _optional_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in model.model_fields.items() if not f.is_required())


class InstructorEntry(_Entry):
    """A person who teaches an activity; the primary instructor's invitation carries the host link."""

    model_config = ConfigDict(title="Instructor")

    email: Email
    name: Name | None = None
    primary: bool = False
    language: Language | None = Field(default=None, description=(
        "The language of this instructor's invitations (BCP 47); absent: the offering's, else the default."))


class LocationEntry(_Entry):
    """Where an activity takes place: a room, an online meeting, or nowhere in particular."""

    model_config = ConfigDict(title="Location")

    kind: Literal["classroom", "virtual", "none"]
    name: Name | None = None
    address: Address | None = None
    join_url: Link | None = None
    host_url: Link | None = None


class ActivityEntry(_Entry):
    """One scheduled session of an offering; every activity is a single meeting, never a series."""

    model_config = ConfigDict(title="Activity")

    id: Id
    title: Title
    description: LongText | None = None
    start: LocalDateTime
    end: LocalDateTime
    time_zone: str = Field(description="IANA time zone name, e.g. Europe/Berlin.")
    status: Literal["scheduled", "cancelled"] = "scheduled"
    details_url: Link | None = None
    location: LocationEntry | None = None
    instructors: list[InstructorEntry]


class EnrollmentEntry(_Entry):
    """A learner's place in an offering; learners are identified by address, ignoring letter case."""

    model_config = ConfigDict(title="Enrollment")

    learner_email: Email
    learner_name: Name | None = None
    status: Literal["active", "withdrawn", "completed", "cancelled"]
    language: Language | None = Field(default=None, description=(
        "The language of this learner's invitations (BCP 47); absent: the offering's, else the default."))


class OfferingEntry(_Entry):
    """An instructor-led offering of a course: a complete snapshot of its activities and enrollments."""

    model_config = ConfigDict(title="Offering")

    id: Id
    title: Title
    course_title: Name | None = None
    description: LongText | None = None
    details_url: Link | None = None
    language: Language | None = Field(default=None, description=(
        "The language of invitations to people without their own (BCP 47); absent: the organisation's default."))
    status: Literal["active", "cancelled"]
    activities: list[ActivityEntry]
    enrollments: list[EnrollmentEntry]


class FeedDocument(_Entry):
    """Instructor-led offerings with their activities (sessions), instructors and enrollments.

    Each offering present is a complete snapshot of that offering; offerings absent from a
    feed are left untouched.
    """

    model_config = ConfigDict(title="Learning feed, version 1")

    schema_version: Literal[1]
    source: str | None = Field(default=None, description="Free text naming the system that produced the feed.")
    generated_at: Timestamp | None = None
    offerings: list[OfferingEntry]

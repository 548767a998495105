"""Rows to the JSON feed's items: the offerings list the JSON reader judges, and where each value came from.

One rule set serves both formats: rows are grouped into the very raw offerings, activities,
instructors and enrollments a JSON feed holds, and `assemble.build_feed` judges them and
decides the holds. What only CSV can get wrong (a date in the wrong format, an unknown role,
two rows of one offering disagreeing) is put in the item as a `Bad` value: the models reject
it like any value of the wrong kind, so the item is rejected and held exactly as a bad JSON
item is, and the rejection is reported with the Bad's own reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.feed.csvfeed.columns import COLUMNS, ROLES, Column
from shared.feed.csvfeed.mapping import CsvMapping
from shared.feed.formats import shown

_WORDS = frozenset({"offering_status", "session_status", "location_kind", "role", "enrollment_status", "time_zone",
                    "offering_language", "person_language"})


@dataclass(frozen=True)
class Origin:
    row: int
    column: str | None  # the header as written in the file

    def __str__(self) -> str:
        return f"row {self.row}" if self.column is None else f"row {self.row}, column {self.column}"


@dataclass(frozen=True)
class Bad:
    """A value known to be wrong before the models see it; never text, so the models reject it."""

    origin: Origin
    reason: str


@dataclass
class _Item:
    """The fields of one offering, activity or enrollment, gathered over the rows that carry it."""

    first: Origin
    fields: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)

    def put(self, key: str, value: str | Bad, row: int, header: str | None, what: str) -> None:
        """Origins are made only when kept: a large export repeats every value on many rows."""
        if value == "":
            if key not in self.origins:  # where a missing value would have been
                self.origins[key] = Origin(row, header)
            return
        old = self.fields.get(key)
        if old is None or (isinstance(value, Bad) and not isinstance(old, Bad)):
            self.fields[key], self.origins[key] = value, Origin(row, header)
        elif not isinstance(old, Bad) and old != value:
            before = self.origins[key].row
            origin = Origin(row, header)
            self.fields[key] = Bad(origin, (
                f"{shown(str(value))} differs from {shown(old)} on row {before}; every row of one {what} "
                "must carry the same value here (or leave it empty)"
            ))
            self.origins[key] = origin


@dataclass
class _Activity(_Item):
    instructors: list[_Item] = field(default_factory=list)


@dataclass
class _Offering(_Item):
    activities: dict[str, _Activity] = field(default_factory=dict)
    enrollments: dict[str, _Item] = field(default_factory=dict)


@dataclass
class Items:
    """The raw offerings for `build_feed`, and the row and column behind every path in them."""

    offerings: list[dict[str, Any]]
    origins: dict[str, Origin]
    bads: dict[str, Bad]


class RowReader:
    """Reads data rows one by one; `items()` gives the offerings they describe together."""

    def __init__(self, header: list[str], mapping: CsvMapping) -> None:
        self._mapping = mapping
        self._width = len(header)
        folded = [cell.strip().casefold() for cell in header]
        self._index: dict[str, int] = {}
        self._header: dict[str, str] = {}
        for column in COLUMNS:
            wanted = mapping.headers[column.name].casefold()
            if wanted in folded:
                self._index[column.name] = folded.index(wanted)
                self._header[column.name] = header[folded.index(wanted)].strip()
        self._names = {c.name: self._header.get(c.name, mapping.headers[c.name]) for c in COLUMNS}
        self._plan = [
            (c, self._index.get(c.name), c.name in _WORDS or c.date, c.name in mapping.values) for c in COLUMNS
        ]
        self._by_level = {
            level: [(c.name, c.key, self._names[c.name]) for c in COLUMNS if c.level == level]
            for level in ("offering", "session", "location", "person")
        }
        self._dates: dict[str, str] = {}
        self._offerings: dict[str, _Offering] = {}

    def columns_found(self) -> set[str]:
        return set(self._index)

    def _origin(self, row: int, column: str | None) -> Origin:
        return Origin(row, None if column is None else self._names[column])

    def _values(self, cells: list[str], row: int) -> dict[str, str | Bad]:
        values: dict[str, str | Bad] = {}
        width = len(cells)
        for column, at, trim, mapped in self._plan:
            text = cells[at] if at is not None and at < width else ""
            if trim:
                text = text.strip()
            if not text or text.isspace():
                values[column.name] = ""
                continue
            if mapped:
                text = self._mapping.value(column.name, text)
            values[column.name] = self._date(text, row, column) if column.date else text
        return values

    def _date(self, text: str, row: int, column: Column) -> str | Bad:
        known = self._dates.get(text)
        if known is not None:
            return known
        for pattern in self._mapping.date_formats:
            try:
                self._dates[text] = datetime.strptime(text, pattern).isoformat(timespec="seconds")
                return self._dates[text]
            except ValueError:
                continue
        formats = " or ".join(self._mapping.date_formats)
        return Bad(self._origin(row, column.name), (
            f"{shown(text)} is not a real date and time in the form {formats} (local time, no offset; "
            "the time zone is in its own column; other forms are set in the mapping file's [dates] formats)"
        ))

    def add(self, row: int, cells: list[str]) -> None:
        values = self._values(cells, row)
        offering_key = values["offering_id"] if isinstance(values["offering_id"], str) else ""
        offering = self._offerings.setdefault(
            offering_key or f"#{row}", _Offering(self._origin(row, "offering_id"))
        )
        for name, key, header in self._by_level["offering"]:
            offering.put(key, values[name], row, header, "offering")
        if len(cells) > self._width and any(c.strip() for c in cells[self._width:]):
            offering.put("status", Bad(self._origin(row, None), (
                f"has {len(cells)} cells but the header has {self._width}, so its values cannot be placed; "
                "check the quoting of the cells in this row"
            )), row, None, "offering")
            return
        activity = self._activity(offering, values, row)
        self._person(offering, activity, values, row)

    def _activity(self, offering: _Offering, values: dict[str, str | Bad], row: int) -> _Activity | None:
        session, location = self._by_level["session"], self._by_level["location"]
        if all(values[name] == "" for name, _, _ in session + location):
            return None
        key = values["session_id"] if isinstance(values["session_id"], str) else ""
        activity = offering.activities.setdefault(key or f"#{row}", _Activity(self._origin(row, "session_id")))
        for name, key, header in session:
            activity.put(key, values[name], row, header, "session")
        for name, key, header in location:
            activity.put(f"location.{key}", values[name], row, header, "session")
        return activity

    def _person(self, offering: _Offering, activity: _Activity | None, values: dict[str, str | Bad], row: int) -> None:
        if all(values[name] == "" for name, _, _ in self._by_level["person"]):
            return
        role, email = values["role"], values["person_email"]
        email_text = email if isinstance(email, str) else ""
        if role in ("primaryInstructor", "instructor"):
            if activity is None:
                offering.put("status", Bad(self._origin(row, "session_id"), (
                    "an instructor row must name its session (session_id and the session's columns); "
                    "instructors teach sessions, not whole offerings"
                )), row, self._names["session_id"], "offering")
                return
            self._instructor(activity, values, role == "primaryInstructor", row)
            return
        if role != "learner":
            word = "is required but missing" if role == "" else f"{shown(str(role))} is not a role"
            bad = Bad(self._origin(row, "role"), (
                f"{word}; use {', '.join(ROLES)} (an export's own words are mapped in the mapping file's [values.role])"
            ))
            if activity is not None:  # it may be one of the session's instructors
                self._instructor(activity, values, bad, row)
            values = {**values, "enrollment_status": bad}  # or a learner
        key = email_text.lower() or f"#{row}"  # as the JSON reader tells learners apart
        enrollment = offering.enrollments.setdefault(key, _Item(self._origin(row, "person_email")))
        what, names = "learner in an offering", self._names
        if "learnerEmail" not in enrollment.fields:  # the same learner, whatever the letter case
            enrollment.put("learnerEmail", email, row, names["person_email"], what)
        enrollment.put("learnerName", values["person_name"], row, names["person_name"], what)
        enrollment.put("status", values["enrollment_status"], row, names["enrollment_status"], what)
        enrollment.put("language", values["person_language"], row, names["person_language"], what)

    def _instructor(self, activity: _Activity, values: dict[str, str | Bad], primary: bool | Bad, row: int) -> None:
        person = _Item(self._origin(row, "person_email"))
        person.put("email", values["person_email"], row, self._names["person_email"], "instructor")
        person.put("name", values["person_name"], row, self._names["person_name"], "instructor")
        person.put("language", values["person_language"], row, self._names["person_language"], "instructor")
        person.fields["primary"], person.origins["primary"] = primary, self._origin(row, "role")
        activity.instructors.append(person)

    def items(self) -> Items:
        origins: dict[str, Origin] = {}
        offerings = []
        for i, offering in enumerate(self._offerings.values()):
            path = f"offerings[{i}]"
            raw = _fields(offering, path, origins)
            raw["activities"] = []
            for j, activity in enumerate(offering.activities.values()):
                item_path = f"{path}.activities[{j}]"
                entry = _fields(activity, item_path, origins)
                entry["instructors"] = [
                    _fields(person, f"{item_path}.instructors[{k}]", origins)
                    for k, person in enumerate(activity.instructors)
                ]
                raw["activities"].append(entry)
            raw["enrollments"] = [
                _fields(enrollment, f"{path}.enrollments[{j}]", origins)
                for j, enrollment in enumerate(offering.enrollments.values())
            ]
            offerings.append(raw)
        bads = {p: b for p, b in _walk(offerings, "offerings") if isinstance(b, Bad)}
        return Items(offerings, origins, bads)


def _fields(item: _Item, path: str, origins: dict[str, Origin]) -> dict[str, Any]:
    """The item as JSON would hold it: `location.kind` becomes a nested location object."""
    origins[path] = item.first
    raw: dict[str, Any] = {}
    for key, value in item.fields.items():
        head, _, tail = key.partition(".")
        if tail:
            raw.setdefault(head, {})[tail] = value
        else:
            raw[key] = value
    for key, origin in item.origins.items():
        origins[f"{path}.{key}"] = origin
    if any(key.startswith("location.") for key in item.origins):
        origins.setdefault(f"{path}.location", item.origins.get("location.kind", item.first))
    return raw


def _walk(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _walk(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in _walk(item, f"{path}[{i}]")]
    return [(path, value)]


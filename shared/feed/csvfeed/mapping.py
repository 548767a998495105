"""The mapping file: how one learning system's CSV export differs from the documented columns.

It belongs to the installation's configuration (`LEARNCAL_FEED_CSV_MAPPING`), not to each
upload, so an export cannot change how it is read. It is TOML (or JSON with the same keys),
checked strictly: a misspelt key or an unknown column is a configuration error naming the
key, never a silently ignored line that would leave a column unread.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from shared.errors import ConfigurationError
from shared.feed.csvfeed.columns import NAMES, TRAILER_MARKER

SETTING = "LEARNCAL_FEED_CSV_MAPPING"
APP_ROOT = Path(__file__).resolve().parents[3]  # where function_app.py is
DEFAULT_DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}


@dataclass(frozen=True)
class CsvMapping:
    """Everything the reader needs to know about an export; the defaults read the documented format."""

    headers: dict[str, str] = field(default_factory=lambda: {n: n for n in NAMES})  # column -> header in the file
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {export's word (folded): ours}
    delimiter: str | None = None
    quote: str = '"'
    encoding: str | None = None
    trailer: str = TRAILER_MARKER
    source: str | None = None  # the file it came from, for messages

    def value(self, column: str, text: str) -> str:
        words = self.values.get(column)
        return words.get(text.strip().casefold(), text) if words else text


Word = Annotated[str, StringConstraints(min_length=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: str | None = None
    quote: Annotated[str, StringConstraints(min_length=1, max_length=1)] = '"'
    encoding: str | None = None
    trailer: Word = TRAILER_MARKER

    @field_validator("delimiter")
    @classmethod
    def _known_delimiter(cls, value: str | None) -> str | None:
        if value is not None and value not in _DELIMITERS:
            raise ValueError('use ",", ";", "tab" (or "\\t") or "|"')
        return None if value is None else _DELIMITERS[value]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"{value!r} is not an encoding Python knows, such as utf-8 or cp1252") from None
        return value


class _Dates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formats: list[Word] = Field(min_length=1)


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, Word] = Field(default_factory=dict)
    dates: _Dates | None = None
    values: dict[str, dict[str, Word]] = Field(default_factory=dict)
    file: _File = Field(default_factory=_File)

    @field_validator("columns", "values")
    @classmethod
    def _known_columns(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(NAMES))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} is not a column of the CSV feed; the columns are {', '.join(NAMES)}"
            )
        return value


def load_mapping(path: str | None) -> CsvMapping:
    """The mapping at `path`, or the documented format itself when no mapping is configured."""
    if path is None or not path.strip():
        return CsvMapping()
    where = _located(path)
    try:
        text = where.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigurationError(f"{SETTING}={path} cannot be read: {exc}. Point it at the CSV mapping file.") from exc
    try:
        data = json.loads(text) if where.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"The CSV mapping file {path} is not valid {_kind(where)}: {exc}") from exc
    try:
        parsed = _MappingFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"The CSV mapping file {path} is not usable: {problems}") from exc
    headers = {n: n for n in NAMES} | parsed.columns
    return CsvMapping(
        headers=headers,
        date_formats=tuple(parsed.dates.formats) if parsed.dates else DEFAULT_DATE_FORMATS,
        values={column: {k.strip().casefold(): v for k, v in words.items()} for column, words in parsed.values.items()},
        delimiter=parsed.file.delimiter,
        quote=parsed.file.quote,
        encoding=parsed.file.encoding,
        trailer=parsed.file.trailer,
        source=str(path),
    )


def _located(path: str) -> Path:
    """A relative path from the current directory, else from the app's root: in Azure the mapping
    file ships with the code, and the host's working directory is not something to rely on."""
    where = Path(path).expanduser()
    if where.is_absolute() or where.exists():
        return where
    return APP_ROOT / where


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"

"""From the uploaded bytes to numbered records: encoding, delimiter and quoting.

Exports come from spreadsheets and report writers as much as from programs: Excel's
"Unicode text" is UTF-16 with a byte-order mark and tabs, its "CSV UTF-8" has a UTF-8 mark,
and European locales separate with semicolons. A byte-order mark decides the encoding; the
header row decides the delimiter (the column names hold none of the candidates), unless the
mapping file fixes either.
"""

from __future__ import annotations

import codecs
import csv
import io

from shared.errors import FeedUnreadable
from shared.feed.csvfeed.mapping import CsvMapping

_CANDIDATES = (",", ";", "\t", "|")
Record = tuple[int, list[str]]  # spreadsheet row number (the header is row 1) and its cells


def decode(data: bytes, mapping: CsvMapping) -> str:
    """A byte-order mark wins over the configured encoding: it cannot be there by accident."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = mapping.encoding or unmarked_utf16(data) or "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        fix = "" if mapping.encoding else (
            "; save it as CSV UTF-8 or as Unicode text, or name its encoding in the mapping file ([file] encoding)"
        )
        raise FeedUnreadable(f"The CSV feed is not {encoding} text: byte {exc.start} cannot be decoded{fix}") from exc


def unmarked_utf16(data: bytes) -> str | None:
    """UTF-16 that lost its byte-order mark: the header's ASCII names leave every other byte zero."""
    head = data[:64]
    if len(head) >= 16 and not any(head[1::2]) and all(head[0::2]):
        return "utf-16-le"
    if len(head) >= 16 and not any(head[0::2]) and all(head[1::2]):
        return "utf-16-be"
    return None


def without_separator_line(text: str) -> tuple[str, str | None]:
    """Excel's `sep=;` first line names the delimiter and is not part of the table (Excel hides it)."""
    first, _, rest = text.partition("\n")
    line = first.rstrip("\r")
    if len(line) == 5 and line.lower().startswith("sep="):
        return rest, line[4]
    return text, None


def delimiter_of(text: str, mapping: CsvMapping) -> str:
    if mapping.delimiter:
        return mapping.delimiter
    text, named = without_separator_line(text)
    if named:
        return named
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in _CANDIDATES}
    best = max(_CANDIDATES, key=lambda d: counts[d])
    return best if counts[best] else ","


def records(text: str, mapping: CsvMapping) -> list[Record]:
    """Every record with its row number; a quote left open is a broken file, not a long cell."""
    delimiter = delimiter_of(text, mapping)
    reader = csv.reader(
        io.StringIO(without_separator_line(text)[0], newline=""), delimiter=delimiter, quotechar=mapping.quote,
        doublequote=True, strict=True,
    )
    found: list[Record] = []
    try:
        for number, cells in enumerate(reader, start=1):
            found.append((number, cells))
    except csv.Error as exc:
        raise FeedUnreadable(
            f"The CSV feed cannot be read after row {len(found)} (line {reader.line_num}): {exc}; "
            "check the quoting (a quote inside a cell is written twice)"
        ) from exc
    return found


def blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)

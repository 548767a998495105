"""Which reader a feed needs, decided from its bytes (and its name), so one setting takes either format.

A JSON feed starts with `{` (after an optional UTF-8 byte-order mark and white space); a
UTF-16 mark only comes from spreadsheet exports. Anything else is read as CSV only if its
name says so or its first line names the offering id column: otherwise a broken JSON file
would be reported as a CSV file without a header, which helps nobody fix it.
"""

from __future__ import annotations

import codecs
from urllib.parse import urlsplit

from shared.feed.csvfeed.mapping import CsvMapping
from shared.feed.csvfeed.text import unmarked_utf16

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def looks_like_json(data: bytes) -> bool:
    return data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"[")


def is_csv(data: bytes, mapping: CsvMapping, *, name: str | None = None) -> bool:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or unmarked_utf16(data):
        return True
    if looks_like_json(data):
        return False
    start = data.removeprefix(codecs.BOM_UTF8).lstrip()
    if start[:4].lower() == b"sep=":  # Excel's separator line
        return True
    if name is not None and urlsplit(name).path.lower().endswith(_CSV_SUFFIXES):
        return True
    first_line = start.split(b"\n", 1)[0].decode("utf-8", "replace").casefold()
    return mapping.headers["offering_id"].casefold() in first_line

"""A CSV feed, read into the same domain Feed as the JSON feed, with rejections named by row and column.

The file is refused as a whole (FeedUnreadable) only when it cannot be trusted at all: not
decodable, quoting broken, no header with an offering_id column, or no matching trailer.
Everything else is judged item by item by the JSON reader's own rules (`assemble.build_feed`);
only the paths in its rejections are translated back to the rows and columns they came from.
"""

from __future__ import annotations

import re
from dataclasses import replace

from shared.domain import Feed, Rejection
from shared.errors import FeedUnreadable
from shared.feed.assemble import build_feed
from shared.feed.csvfeed.columns import NAMES
from shared.feed.csvfeed.mapping import CsvMapping
from shared.feed.csvfeed.rows import Items, RowReader
from shared.feed.csvfeed.text import decode, delimiter_of, records
from shared.feed.csvfeed.trailer import without_trailer

_LAST_STEP = re.compile(r"(\.[^.\[]+|\[[0-9]+\])$")
_SHOWN_DELIMITER = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def parse_csv_feed(data: bytes, *, mapping: CsvMapping, source: str | None = None) -> Feed:
    text = decode(data, mapping)
    found = without_trailer(records(text, mapping), mapping.trailer)
    (_, header), rows = found[0], found[1:]
    reader = RowReader(header, mapping)
    _check_header(reader, header, delimiter_of(text, mapping), mapping)
    for number, cells in rows:
        reader.add(number, cells)
    items = reader.items()
    feed = build_feed(items.offerings, source=source)
    return replace(feed, rejections=_located(feed.rejections, items))


def _check_header(reader: RowReader, header: list[str], delimiter: str, mapping: CsvMapping) -> None:
    folded = [cell.strip().casefold() for cell in header]
    twice = sorted({cell for cell in folded if cell and folded.count(cell) > 1})
    if twice:
        raise FeedUnreadable(f"The CSV feed's header names a column more than once: {', '.join(twice)}")
    if "offering_id" not in reader.columns_found():
        shown_header = ", ".join(cell.strip() for cell in header[:8]) + (", …" if len(header) > 8 else "")
        raise FeedUnreadable(
            f"The CSV feed's first row is not a header with a {mapping.headers['offering_id']} column "
            f"(read with the {_SHOWN_DELIMITER.get(delimiter, repr(delimiter))} as delimiter, "
            f"it holds: {shown_header}); "
            f"the columns are {', '.join(NAMES)}, or those the mapping file names"
        )


def _located(rejections: tuple[Rejection, ...], items: Items) -> tuple[Rejection, ...]:
    """Each JSON path as the row and column it came from, in row order; a Bad value brings its own reason."""
    located: dict[tuple[int, str, str], None] = {}
    for rejection in rejections:
        bad = items.bads.get(rejection.path)
        if bad is not None:
            located.setdefault((bad.origin.row, str(bad.origin), bad.reason))
            continue
        path = rejection.path
        while path not in items.origins and _LAST_STEP.search(path):
            path = _LAST_STEP.sub("", path)
        origin = items.origins.get(path)
        located.setdefault((origin.row if origin else 0, str(origin) if origin else rejection.path, rejection.reason))
    return tuple(Rejection(path, reason) for _, path, reason in sorted(located, key=lambda entry: entry[0]))

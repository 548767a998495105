"""The completeness proof: a CSV file ends with `#END,rows=N`, N counting its data rows.

A CSV file cut short (a transfer interrupted, a report that hit a limit) is still a valid
CSV file, and read as complete it would cancel every invitation of the rows it lost. So a
file without its trailer, or whose trailer counts other rows than it carries, is refused
before anything is sent.
"""

from __future__ import annotations

import re

from shared.errors import FeedUnreadable
from shared.feed.csvfeed.text import Record, blank

_COUNT = re.compile(r"rows\s*=\s*([0-9]+)", re.IGNORECASE)


def without_trailer(found: list[Record], marker: str) -> list[Record]:
    """The header and data rows; raises FeedUnreadable unless the file proves it is complete."""
    while found and blank(found[-1][1]):
        found = found[:-1]
    example = f"{marker},rows=N"
    if not found or found[-1][1][0].strip() != marker:
        early = next((n for n, cells in found if cells and cells[0].strip() == marker), None)
        where = f"; rows after the trailer on row {early} are not allowed" if early else ""
        raise FeedUnreadable(
            f"The CSV feed does not end with its trailer row ({example}, N = the number of data rows){where}; "
            "the file may be cut short, so nothing was read from it"
        )
    number, cells = found[-1]
    match = _COUNT.fullmatch(cells[1].strip()) if len(cells) > 1 else None
    if match is None or any(cell.strip() for cell in cells[2:]):
        raise FeedUnreadable(
            f"The CSV feed's trailer on row {number} must read {example}, with N the number of data rows"
        )
    data = [r for r in found[1:-1] if not blank(r[1])]
    early = next((n for n, cells in data if cells[0].strip() == marker), None)
    if early is not None:
        raise FeedUnreadable(
            f"The CSV feed has a trailer row on row {early} before its last row; rows after a trailer are "
            "not allowed (two exports joined, or a file written twice?), so nothing was read from it"
        )
    if int(match.group(1)) != len(data):
        raise FeedUnreadable(
            f"The CSV feed's trailer says rows={match.group(1)} but the file has {len(data)} data rows; "
            "the file is incomplete or was changed after export, so nothing was read from it"
        )
    return found[:1] + data

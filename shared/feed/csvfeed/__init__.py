"""The CSV feed: one row per session and person, read into the same domain Feed as the JSON feed.

docs/feed-csv.md describes the format; `columns.py` is its single definition.
"""

from shared.feed.csvfeed.detect import is_csv, looks_like_json
from shared.feed.csvfeed.mapping import CsvMapping, load_mapping
from shared.feed.csvfeed.reader import parse_csv_feed

__all__ = ["CsvMapping", "is_csv", "load_mapping", "looks_like_json", "parse_csv_feed"]

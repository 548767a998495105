"""The learning feed: its format (models, published JSON Schema) and the reader that judges it.

`read_feed` and `parse_feed` are the entry points; everything else here serves them.
"""

from shared.feed.reader import parse_feed, read_feed

__all__ = ["parse_feed", "read_feed"]

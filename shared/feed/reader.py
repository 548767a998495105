"""The one way into the feed: read it, judge every item, and hand the sync a domain Feed.

A feed is JSON or CSV (docs/feed-csv.md); the bytes decide which, and both are judged by
the same item rules, so the format never changes what reaches calendars.

Only a feed that cannot be used at all (unreachable, not JSON, another schema version, no
offerings list) raises FeedUnreadable; anything wrong inside an item becomes a Rejection so
the rest of the learning data still reaches calendars. The descriptive top-level fields
(`source`, `generatedAt`) are not read at all: nothing depends on them, so a flaw there must
not cost a run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.domain import Feed
from shared.errors import FeedUnreadable
from shared.feed.assemble import build_feed
from shared.feed.csvfeed import CsvMapping, is_csv, load_mapping, looks_like_json, parse_csv_feed
from shared.feed.csvfeed.mapping import SETTING as MAPPING_SETTING
from shared.feed.messages import describe
from shared.feed.models import SCHEMA_VERSION
from shared.feed.source import display_url, is_url, load
from shared.settings import setting


def read_feed(source: str, *, timeout: float = 30.0, csv_mapping: CsvMapping | None = None) -> Feed:
    """Read the feed at a filesystem path, an https URL (see `source.load` for the rules) or a `blob:` drop."""
    from shared.feed.blobdrop import is_blob_source

    if is_blob_source(source):
        from shared.feed.dropfeeds import read_blob_feed

        return read_blob_feed(source, csv_mapping=csv_mapping).feed
    data = load(source, timeout=timeout)
    shown = display_url(source) if is_url(source) else source
    return parse_feed(data, source=shown, csv_mapping=csv_mapping, name=shown)


def parse_feed(
    data: bytes | str | Mapping[str, Any], *, source: str | None = None, csv_mapping: CsvMapping | None = None,
    name: str | None = None,
) -> Feed:
    """Judge a feed given as JSON or CSV text or bytes, or as already-decoded JSON; `source` only labels the result.

    A CSV feed is read with `csv_mapping`, else with the mapping file LEARNCAL_FEED_CSV_MAPPING names.
    """
    if isinstance(data, bytes | bytearray | str):
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        if not looks_like_json(raw):  # a JSON feed never depends on the CSV mapping being readable
            mapping = csv_mapping or load_mapping(setting(MAPPING_SETTING))
            if is_csv(raw, mapping, name=name):
                return parse_csv_feed(raw, mapping=mapping, source=source)
    document = _decode(data)
    _check_version(document)
    offerings = document.get("offerings")
    if "offerings" not in document:
        raise FeedUnreadable("The feed has no offerings list; add \"offerings\": [] even when it is empty")
    if not isinstance(offerings, list):
        raise FeedUnreadable(f"The feed's offerings must be a list, not {describe(offerings)}")
    return build_feed(offerings, source=source)


def _decode(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedUnreadable(f"The feed is not UTF-8 text: byte {exc.start} cannot be decoded") from exc
    if isinstance(data, str):
        data = _parse_json(data.removeprefix("\ufeff"))
    if not isinstance(data, Mapping):
        raise FeedUnreadable(
            f"The feed must be a JSON object with schemaVersion and offerings, not {describe(data)}"
        )
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FeedUnreadable(f"The feed is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:
        raise FeedUnreadable(f"The feed is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise FeedUnreadable("The feed is not usable JSON: it is nested too deeply") from exc


def _check_version(document: Mapping[str, Any]) -> None:
    if "schemaVersion" not in document:
        raise FeedUnreadable(f"The feed has no schemaVersion; this version reads schemaVersion {SCHEMA_VERSION}")
    version = document["schemaVersion"]
    if isinstance(version, bool) or not isinstance(version, int | float) or version != SCHEMA_VERSION:
        shown = json.dumps(version) if isinstance(version, int | float) else describe(version)
        raise FeedUnreadable(f"schemaVersion is {shown}; this version reads schemaVersion {SCHEMA_VERSION}")

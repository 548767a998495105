"""The feed drop as a run meets it: read the feed in force, keep the history, let old feeds go.

The sync service calls `read` for a `blob:` source and `settle` once the run has an outcome;
everything about storage lives in shared.feed.blobdrop, everything about history in
shared.store.feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.domain import Feed
from shared.feed.blobdrop import DropReading, FeedDrop, NothingUsable, SkippedFeed, parse_location
from shared.feed.csvfeed import CsvMapping
from shared.settings import Settings
from shared.store.feeds import FeedStore
from shared.store.tables import Tables

log = logging.getLogger("learncal.feed")


def parse_blob(data: bytes, name: str, container: str, csv_mapping: CsvMapping | None = None) -> Feed:
    from shared.feed.reader import parse_feed

    return parse_feed(data, source=f"blob:{container}/{name}", name=name, csv_mapping=csv_mapping)


class DropFeeds:
    def __init__(self, settings: Settings, tables: Tables | None = None, *, service: Any = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._tables = tables
        self._service = service
        self._clock = clock

    def drop(self, container: str) -> FeedDrop:
        if self._service is None:
            from shared.store.services import feed_blob_service

            self._service = feed_blob_service(self._settings)
        return FeedDrop(self._service, container)

    def read(self, source: str, *, csv_mapping: CsvMapping | None = None) -> DropReading:
        """The feed in force at a `blob:` source; raises NoFeedYet or FeedUnreadable."""
        location = parse_location(source)
        drop = self.drop(location.container)
        try:
            reading = drop.read(location, lambda data, name: parse_blob(data, name, location.container, csv_mapping))
        except NothingUsable as error:
            self._remember(drop.container, error.skipped)
            raise
        self._remember(drop.container, reading.skipped)
        return reading

    def _remember(self, container: str, skipped: list[SkippedFeed]) -> None:
        history = self._history()
        if history is None:
            return
        for item in skipped:
            self._quietly(history.record, container=container, name=item.blob.name, status="skipped",
                          size=item.blob.size, last_modified=item.blob.last_modified, sha256=item.sha256,
                          format=item.format, reason=item.reason)

    def settle(self, feed: dict[str, Any], *, run_id: str, completed: bool) -> None:
        """Record the feed a run used; after a completed run, delete feeds past LEARNCAL_FEED_KEEP_DAYS, and
        the history of feeds nothing has touched for as long (shared/store/feeds.py `prune`)."""
        history = self._history()
        container, name = str(feed["container"]), str(feed["name"])
        now = self._clock()
        if history is not None:
            self._quietly(history.record, container=container, name=name, status="used", size=feed.get("size"),
                          last_modified=datetime.fromisoformat(str(feed["lastModified"]).replace("Z", "+00:00")),
                          sha256=feed.get("sha256"), format=feed.get("format"), run_id=run_id,
                          reason=None if completed else "the run that read it did not complete", now=now)
        if not completed:
            return
        try:
            deleted = self.drop(container).prune(keep_days=self._settings.feed_keep_days, in_force=name, now=now)
        except Exception:
            log.warning("could not delete old feeds from %s", container, exc_info=True)
            return
        if history is not None:
            for blob in deleted:
                self._quietly(history.deleted, container=container, name=blob.name, now=now)
            self._quietly(history.prune, now=now, keep_days=self._settings.feed_keep_days)

    def _history(self) -> FeedStore | None:
        if self._tables is None:
            return None
        try:
            return FeedStore(self._tables)
        except Exception:
            log.warning("the feeds history table cannot be reached", exc_info=True)
            return None

    @staticmethod
    def _quietly(action: Callable[..., object], **values: Any) -> None:
        """History is an explanation, not the run: a failure to write it is logged, never fatal."""
        try:
            action(**values)
        except Exception:
            log.warning("could not record a feed in the history", exc_info=True)


def read_blob_feed(source: str, settings: Settings | None = None, *,
                   csv_mapping: CsvMapping | None = None) -> DropReading:
    """For tools (`learncal feed check blob:...`): read without recording history."""
    return DropFeeds(settings or Settings.from_env()).read(source, csv_mapping=csv_mapping)

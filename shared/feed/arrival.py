"""A new blob in the feed drop: record its arrival and ask for a run.

The `feed_arrived` function (a blob trigger fed by Event Grid) and the local stand-in
(shared/local/blob_events.py) both end here. The arrival only asks for a run; the run itself
reads the drop and takes the newest complete feed, so two quick uploads need at most two
runs (the second request joins the follow-up already waiting, shared/runs/requests.py) and
the newer feed is the one in force once they have run. Judging the blob is the run's job:
an arrival never refuses anything, it just wakes the service up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shared.feed.blobdrop import DEFAULT_CONTAINER, feed_format, is_blob_source, parse_location, sha256

if TYPE_CHECKING:
    import azure.functions as func

    from shared.bootstrap import App
    from shared.runs.requests import RunTicket

log = logging.getLogger("learncal.feed")


def split_name(path: str | None) -> tuple[str, str]:
    """The host's blob name is "container/name"; a bare name is taken as in the feeds container."""
    text = (path or "").lstrip("/")
    container, slash, name = text.partition("/")
    return (container, name) if slash else (DEFAULT_CONTAINER, container)


def on_feed_arrived(blob: func.InputStream, app: App | None = None) -> RunTicket:
    """Record the new blob in the feeds history (`received`) and request a run (via "feed")."""
    from shared.store.feeds import FeedStatus, FeedStore
    from shared.sync.service import SyncRequest

    if app is None:
        from shared.admin.context import services

        app = services().app
    container, name = split_name(blob.name)
    data = blob.read()
    properties: dict[str, Any] = dict(getattr(blob, "blob_properties", None) or {})
    try:
        history = FeedStore(app.tables)
        known = history.get(container, name)
        # a run (the timer's, say) may have read the blob before its event came: never undo what it recorded
        status: FeedStatus = known["status"] if known and known["status"] in ("used", "skipped") else "received"
        history.record(container=container, name=name, status=status, size=len(data),
                       sha256=sha256(data), format=feed_format(data),
                       last_modified=_time(properties.get("LastModified")),
                       reason=known["reason"] if known else None)
    except Exception:  # the history explains; the run is what matters
        log.warning("could not record the arrival of feed %s", name, exc_info=True)
    source = app.settings.feed
    if not is_blob_source(source) or parse_location(str(source)).container != container:
        log.warning("Feed %s arrived in the %s container, but LEARNCAL_FEED is %s: the run reads that, not the "
                    "drop. Set LEARNCAL_FEED=blob:%s to use the feeds dropped here.", name, container,
                    "unset" if not source else "another source", container)
    ticket = app.request_run(SyncRequest(via="feed"), started_by=f"feed:{name}")
    log.info("Feed %s arrived (%d bytes): run %s %s.", name, len(data), ticket.run_id,
             "joins the run already waiting" if ticket.coalesced else "was requested")
    return ticket


def _time(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None

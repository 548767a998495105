"""Validate's feed check: for a feed drop (`LEARNCAL_FEED=blob:...`), is there a feed in it yet?

An empty drop is the normal state of a fresh deployment, so it is a warning with the one
instruction that ends it, never a failure; the timer skips its runs quietly until then.
"""

from __future__ import annotations

from shared.settings import Settings
from shared.validate.model import Check, failed, passed, warned

FEED = "feed"


def check_feed(settings: Settings) -> Check | None:
    """None when the feed is a file or URL (read by the run itself); else the drop's state."""
    from shared.feed.blobdrop import FeedDrop, is_blob_source, no_feed_message, parse_location
    from shared.store.services import feed_blob_service

    if not is_blob_source(settings.feed):
        return None
    try:
        location = parse_location(str(settings.feed))
        drop = FeedDrop(feed_blob_service(settings), location.container)
        if location.name is not None:
            blob = drop.blob(location.name)
            if blob is None:
                return warned(FEED, f"No feed yet: {location.name} is not in the {location.container} container.",
                              f"Upload it: learncal feed push FEED.json (or set LEARNCAL_FEED=blob:"
                              f"{location.container} to use the newest feed there).")
            return passed(FEED, f"{location.name} in {location.container}: {blob.size} bytes, last modified "
                          f"{blob.to_json()['lastModified']}.")
        blobs = drop.blobs()
    except Exception as error:  # the check reports; it never stops the other checks
        return failed(FEED, f"The feed drop named by LEARNCAL_FEED={settings.feed} cannot be read: {error}",
                      "Check LEARNCAL_FEED and LEARNCAL_FEED_STORAGE (or AzureWebJobsStorage), and that the app's "
                      "identity may read the container.")
    if not blobs:
        return warned(FEED, no_feed_message(location.container),
                      "Drop the first feed: learncal feed push FEED.json (or FEED.csv); docs/setup.md says more.")
    newest = blobs[0]
    return passed(FEED, f"{len(blobs)} feeds in {location.container}; the newest is {newest.name} "
                  f"({newest.size} bytes, {newest.to_json()['lastModified']}); a run uses the newest complete one.")

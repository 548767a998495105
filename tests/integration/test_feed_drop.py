"""The feed drop in Azurite's blob service: which feed is in force, what is skipped, what is kept."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.errors import FeedUnreadable, NoFeedYet
from shared.feed.dropfeeds import DropFeeds
from shared.feed.reader import read_feed
from shared.local.azurite import RunningAzurite
from shared.settings import Settings
from shared.store.feeds import FeedStore
from shared.store.tables import Tables
from tests.support.csv_twins import csv_text
from tests.support.feeds import base_feed


def _settings(azurite: RunningAzurite, **extra: str) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": azurite.connection_string, **extra})


@pytest.fixture
def container(azurite: RunningAzurite) -> Any:
    """A container of its own per test, in the storage the feed drop falls back to (AzureWebJobsStorage)."""
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        "drop-" + uuid.uuid4().hex[:12])
    client.create_container()
    return client


def _only(feed: dict[str, Any], offering_id: str) -> dict[str, Any]:
    """The feed with just one offering, so which file was read shows in the offering ids."""
    return {**feed, "offerings": [o for o in feed["offerings"] if o["id"] == offering_id]}


def _ids(feed: Any) -> list[str]:
    return sorted(o.id for o in feed.offerings)


def _offering_ids(doc: dict[str, Any]) -> list[str]:
    return sorted(o["id"] for o in doc["offerings"])


def test_a_named_blob_is_read_and_the_container_alone_gives_the_newest(
    azurite: RunningAzurite, container: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = base_feed()
    first, second = (o["id"] for o in doc["offerings"][:2])
    container.upload_blob("1-first.json", json.dumps(_only(doc, first)).encode())
    container.upload_blob("2-second.json", json.dumps(_only(doc, second)).encode())
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)

    assert _ids(read_feed(f"blob:{container.container_name}/1-first.json")) == [first]
    assert _ids(read_feed(f"blob:{container.container_name}")) == [second]
    with pytest.raises(FeedUnreadable, match=r"no blob 'missing\.json'"):
        read_feed(f"blob:{container.container_name}/missing.json")


def test_the_feed_storage_setting_names_another_account_than_the_apps(
    azurite: RunningAzurite, container: Any,
) -> None:
    container.upload_blob("feed.json", json.dumps(base_feed()).encode())
    unusable = _settings(azurite, LEARNCAL_FEED_STORAGE="not a connection string")  # wins over AzureWebJobsStorage
    with pytest.raises(Exception, match="LEARNCAL_FEED_STORAGE is not a usable storage connection string"):
        DropFeeds(unusable).read(f"blob:{container.container_name}")
    explicit = _settings(azurite, LEARNCAL_FEED_STORAGE=azurite.connection_string,
                         AzureWebJobsStorage="UseDevelopmentStorage=false")
    assert _ids(DropFeeds(explicit).read(f"blob:{container.container_name}").feed) == _offering_ids(base_feed())


def test_newest_complete_feed_wins_whatever_its_format_and_bad_uploads_are_skipped_and_recorded(
    azurite: RunningAzurite, container: Any, tables: Tables,
) -> None:
    doc = base_feed()
    first, second = (o["id"] for o in doc["offerings"][:2])
    # Blob Storage keeps last-modified to the second: the JSON is older by more than that, and its
    # name sorts after the CSV's, so only the time can make the CSV the newer one.
    container.upload_blob("zz-older.json", json.dumps(_only(doc, first)).encode())
    time.sleep(1.1)
    good_csv = csv_text(_only(doc, second)).encode("utf-8")
    container.upload_blob("aa-newer.csv", good_csv)
    drop = DropFeeds(_settings(azurite), tables)
    source = f"blob:{container.container_name}"

    reading = drop.read(source)
    assert _ids(reading.feed) == [second]
    used = reading.to_json()
    assert (used["name"], used["format"], used["size"]) == ("aa-newer.csv", "csv", len(good_csv))
    assert used["sha256"] == hashlib.sha256(good_csv).hexdigest()

    time.sleep(1.1)
    lines = good_csv.decode().split("\r\n")
    container.upload_blob("bb-cut.csv", "\r\n".join(lines[:-3]).encode())  # the transfer stopped early
    container.upload_blob("bc-broken.json", json.dumps(doc).encode()[:-40])  # JSON cut short
    reading = drop.read(source)
    assert _ids(reading.feed) == [second]  # the last good feed stays in force
    skipped = {s["name"]: s["reason"] for s in reading.to_json()["skipped"]}
    assert set(skipped) == {"bb-cut.csv", "bc-broken.json"}
    assert "trailer" in skipped["bb-cut.csv"]
    assert "not valid JSON" in skipped["bc-broken.json"]
    history = {row["name"]: row for row in FeedStore(tables).recent()}
    assert history["bb-cut.csv"]["status"] == "skipped" and "trailer" in history["bb-cut.csv"]["reason"]
    assert history["bc-broken.json"]["format"] == "json"


def test_nothing_usable_in_the_drop_fails_with_every_reason(
    azurite: RunningAzurite, container: Any, tables: Tables,
) -> None:
    container.upload_blob("only.csv", csv_text(base_feed(), trailer=False).encode())
    with pytest.raises(FeedUnreadable, match=r"None of the 1 feeds .*only.csv: .*trailer"):
        DropFeeds(_settings(azurite), tables).read(f"blob:{container.container_name}")
    [row] = FeedStore(tables).recent()
    assert (row["name"], row["status"], row["format"]) == ("only.csv", "skipped", "csv")


def test_an_empty_or_missing_container_means_no_feed_yet(azurite: RunningAzurite, container: Any) -> None:
    drop = DropFeeds(_settings(azurite))
    with pytest.raises(NoFeedYet, match="learncal feed push"):
        drop.read(f"blob:{container.container_name}")
    with pytest.raises(NoFeedYet):
        drop.read("blob:never-" + uuid.uuid4().hex[:8])


def test_a_malformed_blob_source_names_the_forms(azurite: RunningAzurite) -> None:
    with pytest.raises(Exception, match="blob:CONTAINER"):
        DropFeeds(_settings(azurite)).read("blob:Feeds_Upper")


def test_old_feeds_are_deleted_after_the_kept_days_but_never_the_one_in_force(
    azurite: RunningAzurite, container: Any, tables: Tables,
) -> None:
    doc = base_feed()
    for name in ("1.json", "2.json", "3.json"):
        container.upload_blob(name, json.dumps(doc).encode())
    settings = _settings(azurite, LEARNCAL_FEED_KEEP_DAYS="30")
    source = f"blob:{container.container_name}"

    today = DropFeeds(settings, tables)
    used = today.read(source).to_json()
    today.settle(used, run_id="run-1", completed=True)
    assert sorted(b.name for b in container.list_blobs()) == ["1.json", "2.json", "3.json"]  # all younger

    later = DropFeeds(settings, tables, clock=lambda: datetime.now(UTC) + timedelta(days=31))
    used = later.read(source).to_json()
    later.settle({**used, "name": "2.json"}, run_id="run-2", completed=True)  # say 2.json is in force
    assert [b.name for b in container.list_blobs()] == ["2.json"]
    history = {row["name"]: row for row in FeedStore(tables).recent()}
    assert history["1.json"]["deletedAt"] and history["3.json"]["deletedAt"]
    assert history["2.json"]["deletedAt"] is None and history["2.json"]["status"] == "used"
    assert history["2.json"]["runId"] == "run-2"


def test_the_blob_event_stand_in_delivers_new_blobs_as_the_host_would(azurite: RunningAzurite, container: Any) -> None:
    from shared.local.blob_events import BlobEvents

    container.upload_blob("before.json", b"{}")  # present before the subscription: never delivered
    first = b"offering_id\r\n#END,rows=0\r\n"
    received: list[tuple[str | None, int | None, dict[str, Any], bytes]] = []
    events = BlobEvents(_settings(azurite), lambda blob: received.append(
        (blob.name, blob.length, dict(blob.blob_properties or {}), blob.read())),  # type: ignore[attr-defined]
        container=container.container_name, interval=0.1).start()
    try:
        container.upload_blob("new.csv", first)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        container.upload_blob("new.csv", b"changed", overwrite=True)  # a second BlobCreated for the same name
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        events.stop()

    assert [(name, length) for name, length, _props, _data in received] == [
        (f"{container.container_name}/new.csv", len(first)), (f"{container.container_name}/new.csv", 7)]
    assert received[0][3] == first and received[1][3] == b"changed"
    assert received[0][2]["ContentLength"] == len(first) and received[0][2]["ETag"] != received[1][2]["ETag"]

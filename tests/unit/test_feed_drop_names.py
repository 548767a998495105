"""The feed drop's names: `blob:` sources, upload names that sort by time, formats from uploads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import ConfigurationError
from shared.feed.arrival import split_name
from shared.feed.blobdrop import BlobLocation, is_blob_source, parse_location, upload_name
from shared.feed.upload import sniff_format


@pytest.mark.parametrize(("source", "expected"), [
    ("blob:feeds", BlobLocation("feeds")),
    ("blob:feeds/", BlobLocation("feeds")),
    ("blob:feeds/2026/export.csv", BlobLocation("feeds", "2026/export.csv")),
    (" BLOB:feeds/x.json ", BlobLocation("feeds", "x.json")),
])
def test_blob_sources_name_a_container_and_maybe_a_blob(source: str, expected: BlobLocation) -> None:
    assert is_blob_source(source)
    assert parse_location(source) == expected


@pytest.mark.parametrize("source", ["blob:", "blob:Feeds", "blob:fe", "blob:my_feeds", "blob:-feeds"])
def test_a_malformed_container_names_the_forms(source: str) -> None:
    with pytest.raises(ConfigurationError, match=r"blob:CONTAINER \(such as blob:feeds\)"):
        parse_location(source)


@pytest.mark.parametrize("source", [None, "", "feed.json", "https://host/blob:feeds", "./blob:feeds"])
def test_paths_and_urls_are_not_blob_sources(source: str | None) -> None:
    assert not is_blob_source(source)


def test_upload_names_sort_by_time_to_the_millisecond_and_carry_the_hash() -> None:
    now = datetime.now(UTC).replace(microsecond=123456)
    first = upload_name(b"zzz", "json", now)
    second = upload_name(b"aaa", "csv", now + timedelta(milliseconds=1))
    assert first < second
    assert first.startswith(now.strftime("%Y%m%dT%H%M%S") + ".123Z-") and first.endswith(".json")
    assert upload_name(b"zzz", "json", now) == first  # the same feed at the same moment: the same name


@pytest.mark.parametrize(("content_type", "filename", "data", "expected"), [
    ("text/csv; charset=utf-8", None, b"{}", "csv"),
    ("application/json", "x.csv", b"offering_id", "json"),
    (None, "export.CSV", b"{}", "csv"),
    ("application/octet-stream", None, b"\xef\xbb\xbf {\"a\": 1}", "json"),
    (None, None, b"offering_id;offering_title", "csv"),
])
def test_the_upload_format_comes_from_the_content_type_then_the_name_then_the_bytes(
    content_type: str | None, filename: str | None, data: bytes, expected: str,
) -> None:
    assert sniff_format(data, content_type, filename) == expected


def test_the_hosts_blob_name_is_container_slash_name() -> None:
    assert split_name("feeds/2026/a.csv") == ("feeds", "2026/a.csv")
    assert split_name("a.csv") == ("feeds", "a.csv")

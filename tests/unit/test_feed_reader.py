"""Reading a whole feed: its sources (file, https URL) and the failures that stop a run."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from shared.errors import FeedUnreadable, LearncalError
from shared.feed import parse_feed, read_feed
from shared.feed.examples import SAMPLE, example_path
from shared.feed.source import display_url
from tests.support.dates import local

MINIMAL = {"schemaVersion": 1, "offerings": []}
ONE = {
    "schemaVersion": 1,
    "offerings": [{
        "id": "OFF-1", "title": "T", "status": "active", "enrollments": [],
        "activities": [{"id": "A", "title": "T", "start": local(30, "10:00")[:16], "end": local(30, "11:00")[:16],
                        "timeZone": "UTC", "instructors": []}],
    }],
}


def unreadable(data: Any) -> str:
    with pytest.raises(FeedUnreadable) as caught:
        parse_feed(data)
    return str(caught.value)


# --- parse_feed ---------------------------------------------------------------------------------


def test_accepts_bytes_text_and_decoded_json() -> None:
    text = json.dumps(ONE)
    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode(), "\ufeff" + text, ONE):
        feed = parse_feed(data)
        assert [o.id for o in feed.offerings] == ["OFF-1"]
        assert feed.rejections == ()


def test_source_only_labels_the_result() -> None:
    assert parse_feed(MINIMAL, source="feed.json").source == "feed.json"
    assert parse_feed(MINIMAL).source is None


def test_not_json() -> None:
    assert unreadable('{\n  "schemaVersion": 1,\n    "offerings" []\n}') == (
        "The feed is not valid JSON: line 3, column 17: Expecting ':' delimiter"
    )
    assert unreadable("") == "The feed is not valid JSON: line 1, column 1: Expecting value"


def test_non_standard_json_constants_are_refused() -> None:
    assert unreadable('{"schemaVersion": 1, "offerings": [], "x": NaN}') == (
        "The feed is not valid JSON: NaN is not a JSON value"
    )


def test_not_utf8() -> None:
    assert unreadable(b'{"schemaVersion": 1, "offerings": [], "x": "\xff"}') == (
        "The feed is not UTF-8 text: byte 44 cannot be decoded"
    )


def test_too_deeply_nested() -> None:
    assert unreadable("[" * 100_000 + "]" * 100_000) == "The feed is not usable JSON: it is nested too deeply"


def test_not_an_object() -> None:
    assert unreadable("[]") == "The feed must be a JSON object with schemaVersion and offerings, not a list"


@pytest.mark.parametrize(
    ("version", "shown"), [(2, "2"), (0, "0"), (1.5, "1.5"), ("1", "'1'"), (True, "true"), (None, "null")]
)
def test_wrong_schema_version(version: Any, shown: str) -> None:
    assert unreadable({"schemaVersion": version, "offerings": []}) == (
        f"schemaVersion is {shown}; this version reads schemaVersion 1"
    )


def test_schema_version_one_point_zero_is_one() -> None:
    assert parse_feed('{"schemaVersion": 1.0, "offerings": []}').offerings == ()


def test_missing_schema_version() -> None:
    assert unreadable({"offerings": []}) == "The feed has no schemaVersion; this version reads schemaVersion 1"


def test_missing_offerings() -> None:
    assert unreadable({"schemaVersion": 1}) == (
        'The feed has no offerings list; add "offerings": [] even when it is empty'
    )


def test_offerings_not_a_list() -> None:
    assert unreadable({"schemaVersion": 1, "offerings": {"id": "OFF-1"}}) == (
        "The feed's offerings must be a list, not an object"
    )


def test_descriptive_top_level_fields_never_cost_a_run() -> None:
    feed = parse_feed({**MINIMAL, "source": 5, "generatedAt": "yesterday", "extra": [1]})
    assert feed.rejections == ()


def test_feed_unreadable_is_the_products_error() -> None:
    assert issubclass(FeedUnreadable, LearncalError)


# --- files ---------------------------------------------------------------------------------------------


def test_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(ONE), encoding="utf-8")
    feed = read_feed(str(path))
    assert feed.source == str(path)
    assert [o.id for o in feed.offerings] == ["OFF-1"]


def test_read_the_bundled_sample() -> None:
    assert len(read_feed(str(example_path(SAMPLE))).offerings) == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed file does not exist: .*nope.json$"):
        read_feed(str(tmp_path / "nope.json"))


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed path is a folder, not a file: "):
        read_feed(str(tmp_path))


def test_no_location() -> None:
    with pytest.raises(FeedUnreadable, match=r"^No feed location was given"):
        read_feed("  ")


# --- URLs --------------------------------------------------------------------------------------------------

Handler = Callable[[Request], Response]


class _Server:
    def __init__(self, server: BaseWSGIServer, scheme: str) -> None:
        self.server = server
        self.base = f"{scheme}://localhost:{server.server_port}"
        self.handler: Handler = lambda request: Response(json.dumps(ONE), mimetype="application/json")
        self.requests: list[str] = []


def _serve(ssl_context: ssl.SSLContext | None, scheme: str) -> Iterator[_Server]:
    holder: list[_Server] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        holder[0].requests.append(request.full_path)
        return holder[0].handler(request)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, ssl_context=ssl_context, threaded=True)
    holder.append(_Server(server, scheme))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def https(ca: trustme.CA, ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    yield from _serve(context, "https")


@pytest.fixture
def plain_http() -> Iterator[_Server]:
    yield from _serve(None, "http")


def test_read_from_an_https_url(https: _Server) -> None:
    feed = read_feed(f"{https.base}/feed.json")
    assert [o.id for o in feed.offerings] == ["OFF-1"]
    assert feed.source == f"{https.base}/feed.json"


def test_requests_ca_bundle_is_honoured(https: _Server, ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    assert len(read_feed(f"{https.base}/feed.json").offerings) == 1


def test_untrusted_certificate(https: _Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    with pytest.raises(FeedUnreadable, match=r"^The feed URL cannot be reached \(its certificate is not trusted; "):
        read_feed(f"{https.base}/feed.json")


def test_unusable_ca_bundle(https: _Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(FeedUnreadable, match=r"^The CA bundle named by SSL_CERT_FILE cannot be used"):
        read_feed(f"{https.base}/feed.json")


def test_signature_in_the_query_never_shows(https: _Server) -> None:
    https.handler = lambda request: Response("gone", status=404)
    with pytest.raises(FeedUnreadable) as caught:
        read_feed(f"{https.base}/feed.json?sv=2027&sig=SECRET")
    assert str(caught.value) == f"The feed URL answered HTTP 404 Not Found, not the feed: {https.base}/feed.json?…"
    assert read_feed_source(https, "/ok.json?sig=SECRET") == f"{https.base}/ok.json?…"


def read_feed_source(server: _Server, path: str) -> str | None:
    server.handler = lambda request: Response(json.dumps(MINIMAL))
    return read_feed(server.base + path).source


def test_body_that_is_not_json(https: _Server) -> None:
    https.handler = lambda request: Response("<html>login</html>", mimetype="text/html")
    with pytest.raises(FeedUnreadable, match=r"^The feed is not valid JSON: line 1, column 1"):
        read_feed(f"{https.base}/feed.json")


def test_redirect_within_https_is_followed(https: _Server) -> None:
    https.handler = lambda request: (
        Response(json.dumps(ONE)) if request.path == "/new" else Response("", status=302, headers={"Location": "/new"})
    )
    assert len(read_feed(f"{https.base}/old").offerings) == 1


def test_redirect_to_plain_http_is_refused(https: _Server) -> None:
    https.handler = lambda request: Response("", status=302, headers={"Location": "http://feeds.contoso.example/f"})
    with pytest.raises(FeedUnreadable, match=r"^The feed URL must use https, not http"):
        read_feed(f"{https.base}/feed.json")


def test_unreachable_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FeedUnreadable, match=rf"^The feed URL cannot be reached: https://127.0.0.1:{port}/f.json: "):
        read_feed(f"https://127.0.0.1:{port}/f.json")


def test_slow_server(https: _Server) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response(json.dumps(ONE))

    https.handler = slow
    with pytest.raises(FeedUnreadable, match=r"^The feed URL did not answer within 0.1 seconds: "):
        read_feed(f"{https.base}/feed.json", timeout=0.1)


@pytest.mark.parametrize("url", ["http://feeds.contoso.example/feed.json", "HTTP://feeds.contoso.example/f"])
def test_plain_http_is_refused(url: str) -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed URL must use https, not http"):
        read_feed(url)


@pytest.mark.parametrize("url", ["ftp://feeds.contoso.example/feed.json", "file:///etc/passwd"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed location must be a file path or an https URL"):
        read_feed(url)


def test_malformed_url() -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed URL is not a valid URL"):
        read_feed("https://[::1/feed.json")


def test_plain_http_on_loopback_is_allowed(plain_http: _Server) -> None:
    assert len(read_feed(f"{plain_http.base}/feed.json").offerings) == 1


def test_path_with_a_nul_character() -> None:
    with pytest.raises(FeedUnreadable, match=r"^The feed path is not a valid file name"):
        read_feed("feed\x00.json")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@feeds.contoso.example/f.json", "https://feeds.contoso.example/f.json"),
        ("https://feeds.contoso.example:8443/f.json?sig=x", "https://feeds.contoso.example:8443/f.json?…"),
        ("https://[::1]:8443/f.json", "https://[::1]:8443/f.json"),
    ],
)
def test_urls_are_shown_without_secrets(url: str, shown: str) -> None:
    assert display_url(url) == shown

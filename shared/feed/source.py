"""Getting the feed's bytes from a file or an https URL, with failures worded for an administrator.

Plain http is refused because whoever can change the feed in transit can cancel or move
every invitation; loopback addresses are the exception, since that traffic never leaves the
machine (local tools and tests serve feeds there).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.errors import FeedUnreadable
from shared.tls import named_ca_bundle

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MAX_REDIRECTS = 5


def is_url(source: str) -> bool:
    """Anything with a scheme is treated as a URL, so ftp:// or file:// get a clear refusal, not 'no such file'."""
    return bool(_HAS_SCHEME.match(source))


def load(source: str, *, timeout: float = 30.0) -> bytes:
    """The raw bytes of the feed at a filesystem path or an https URL; raises FeedUnreadable."""
    if not source.strip():
        raise FeedUnreadable("No feed location was given: name a file path or an https URL")
    return _fetch(source, timeout) if is_url(source) else _read_file(source)


def _read_file(source: str) -> bytes:
    path = Path(source).expanduser()
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise FeedUnreadable(f"The feed file does not exist: {source}") from exc
    except IsADirectoryError as exc:
        raise FeedUnreadable(f"The feed path is a folder, not a file: {source}") from exc
    except PermissionError as exc:
        raise FeedUnreadable(f"The feed file cannot be read (permission denied): {source}") from exc
    except OSError as exc:
        raise FeedUnreadable(f"The feed file cannot be read: {source}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL character, which no file name can hold
        raise FeedUnreadable(f"The feed path is not a valid file name: {source!r}") from exc


def display_url(url: str) -> str:
    """The URL without credentials or query: feeds are often served with a signature (SAS) there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _has_port(url) else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def _has_port(url: str) -> bool:
    try:
        return urlsplit(url).port is not None
    except ValueError:
        return False


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what finds a malformed one
    except ValueError as exc:
        raise FeedUnreadable(f"The feed URL is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    if scheme == "http":
        raise FeedUnreadable(
            "The feed URL must use https, not http (anyone on the network could change plain http data): "
            + display_url(url)
        )
    raise FeedUnreadable(f"The feed location must be a file path or an https URL, not {display_url(url)}")


def _tls() -> ssl.SSLContext | bool:
    """The CA bundle named by the standard variables, else httpx's default trust store."""
    named = named_ca_bundle()
    if named is None:
        return True
    variable, bundle = named
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        raise FeedUnreadable(f"The CA bundle named by {variable} cannot be used ({bundle}): {exc}") from exc


def _refuse_insecure(request: httpx.Request) -> None:
    _check_url(str(request.url))


def _fetch(url: str, timeout: float) -> bytes:
    _check_url(url)
    shown = display_url(url)
    try:
        with httpx.Client(
            verify=_tls(), timeout=timeout, follow_redirects=True, max_redirects=_MAX_REDIRECTS,
            event_hooks={"request": [_refuse_insecure]},
        ) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException as exc:
        raise FeedUnreadable(
            f"The feed URL did not answer within {timeout:g} seconds: {shown}. Check that the server publishing "
            "the feed is up; the next run reads it again."
        ) from exc
    except httpx.ConnectError as exc:
        hint = ""
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = " (its certificate is not trusted; for a private CA set SSL_CERT_FILE to the CA bundle)"
        raise FeedUnreadable(
            f"The feed URL cannot be reached{hint}: {shown}: {exc}. Check the URL (LEARNCAL_FEED or --feed), "
            "that the server publishing the feed is running, and that this machine may reach it."
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FeedUnreadable(f"The feed URL cannot be read: {shown}: {exc}") from exc
    if response.status_code != 200:
        raise FeedUnreadable(
            f"The feed URL answered HTTP {response.status_code} {httpx.codes.get_reason_phrase(response.status_code)}, "
            f"not the feed: {shown}"
        )
    return response.content

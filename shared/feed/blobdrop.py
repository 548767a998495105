"""The feed drop: feeds uploaded to a Blob Storage container, of which the newest complete one is in force.

`LEARNCAL_FEED=blob:CONTAINER` reads the newest complete feed in that container of the feed
storage (LEARNCAL_FEED_STORAGE, else the app's own storage); `blob:CONTAINER/NAME` reads that
one blob. Whatever their format (JSON or CSV), the drop's blobs are walked newest first and
the first one that reads as a whole wins; an unreadable or incomplete one (JSON that does not
parse or validate as a whole, a CSV without its valid `#END,rows=N` trailer) is skipped and
reported, so a bad upload never replaces the last good feed.

A blob still being written is never seen here at all. A block blob upload stages its blocks
with Put Block, and "the block is not part of the blob until it's committed" by Put Block
List (https://learn.microsoft.com/rest/api/storageservices/put-block and
https://learn.microsoft.com/rest/api/storageservices/put-block-list); List Blobs returns
uncommitted blobs only when asked for them with `include=uncommittedblobs`
(https://learn.microsoft.com/rest/api/storageservices/list-blobs), which this reader never
does. A single-shot Put Blob is atomic. Each blob is read with the ETag it was listed with,
so a blob replaced between listing and reading is skipped (and read again on the next run)
rather than read half old, half new.

"Newest" is the blob's last-modified time; Blob Storage keeps it to the second, so blobs of
the same second are ordered by name, and uploads from `learncal feed push` and PUT /api/feed
are named `<UTC timestamp with milliseconds>-<hash8>.<json|csv>` for exactly that reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.domain import Feed
from shared.errors import ConfigurationError, FeedUnreadable, LearncalError, NoFeedYet

log = logging.getLogger("learncal.feed")

PREFIX = "blob:"
DEFAULT_CONTAINER = "feeds"
FeedFormat = Literal["json", "csv"]
# Container names: 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit
# (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_MAX_NAME = 1024
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def is_blob_source(source: str | None) -> bool:
    return bool(source) and str(source).strip().lower().startswith(PREFIX)


@dataclass(frozen=True)
class BlobLocation:
    container: str
    name: str | None = None  # None: the newest complete feed in the container

    def __str__(self) -> str:
        return PREFIX + self.container + (f"/{self.name}" if self.name else "")


def parse_location(source: str) -> BlobLocation:
    """`blob:CONTAINER` or `blob:CONTAINER/NAME`; raises ConfigurationError naming the fix."""
    rest = source.strip()[len(PREFIX):].strip().lstrip("/")
    container, _, name = rest.partition("/")
    if not _CONTAINER.match(container):
        raise ConfigurationError(
            f"LEARNCAL_FEED={source!r} does not name a blob container: write blob:CONTAINER (such as blob:feeds) "
            "or blob:CONTAINER/NAME; container names are 3 to 63 lowercase letters, digits and hyphens."
        )
    if len(name) > _MAX_NAME:
        raise ConfigurationError(f"LEARNCAL_FEED names a blob longer than {_MAX_NAME} characters.")
    return BlobLocation(container, name or None)


def feed_format(data: bytes) -> FeedFormat:
    """JSON when the bytes start like JSON, else CSV: the reader decides the same way."""
    from shared.feed.csvfeed import looks_like_json

    return "json" if looks_like_json(data) else "csv"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class DropBlob:
    """A blob as the listing shows it."""

    name: str
    size: int
    last_modified: datetime
    etag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "lastModified": _iso(self.last_modified)}


@dataclass(frozen=True)
class UsedFeed:
    """The blob a run read its feed from: enough to tell afterwards exactly which bytes it was."""

    container: str
    blob: DropBlob
    sha256: str
    format: FeedFormat

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, **self.blob.to_json(), "sha256": self.sha256, "format": self.format}


@dataclass(frozen=True)
class SkippedFeed:
    blob: DropBlob
    reason: str
    sha256: str | None = None
    format: FeedFormat | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.blob.to_json(), "reason": self.reason}


@dataclass
class DropReading:
    feed: Feed
    used: UsedFeed
    skipped: list[SkippedFeed] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The run summary's `feed` object."""
        return {"source": "blob", **self.used.to_json(), "skipped": [s.to_json() for s in self.skipped]}


class NothingUsable(FeedUnreadable):
    """Every feed in the drop was skipped; `skipped` says which and why, for the history."""

    def __init__(self, skipped: list[SkippedFeed], message: str) -> None:
        super().__init__(message)
        self.skipped = skipped


class ChangedWhileRead(FeedUnreadable):
    """The blob was replaced or deleted between listing and reading: skip it, never half-read it."""


Parse = Callable[[bytes, str], Feed]  # (content, blob name) -> Feed; raises FeedUnreadable


class FeedDrop:
    """One container of feeds in a blob service."""

    def __init__(self, service: Any, container: str = DEFAULT_CONTAINER) -> None:
        self._service = service
        self.container = container
        self._client = service.get_container_client(container)

    @property
    def where(self) -> str:
        url = str(getattr(self._client, "url", "") or "")
        return url.split("?", 1)[0] or f"container {self.container}"

    # -- reading -------------------------------------------------------------------------

    def blobs(self) -> list[DropBlob]:
        """The committed blobs, newest first (an uncommitted upload is not listed; see the module docstring)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            listed = [
                DropBlob(b.name, int(b.size or 0), b.last_modified or b.creation_time or _EARLIEST, b.etag)
                for b in self._client.list_blobs()
            ]
        except ResourceNotFoundError:
            return []  # no container yet: nothing was ever dropped
        except Exception as error:
            raise self._unreachable(error) from None
        return sorted(listed, key=lambda b: (b.last_modified, b.name), reverse=True)

    def blob(self, name: str) -> DropBlob | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self._client.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError:
            return None
        except Exception as error:
            raise self._unreachable(error) from None
        return DropBlob(name, int(props.size or 0), props.last_modified, props.etag)

    def download(self, blob: DropBlob) -> bytes:
        """The blob's content as it was listed; raises FeedUnreadable when it changed or vanished since."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        client = self._client.get_blob_client(blob.name)
        try:
            if blob.etag:
                stream = client.download_blob(etag=blob.etag, match_condition=MatchConditions.IfNotModified)
            else:
                stream = client.download_blob()
            return bytes(stream.readall())
        except ResourceModifiedError:
            raise ChangedWhileRead(f"{blob.name} was replaced while it was being read; the next run reads it again") \
                from None
        except ResourceNotFoundError:
            raise ChangedWhileRead(f"{blob.name} was deleted while it was being read") from None
        except Exception as error:
            raise self._unreachable(error) from None

    def read(self, location: BlobLocation, parse: Parse) -> DropReading:
        """The feed in force: the named blob, or the newest one that reads as a whole.

        Raises NoFeedYet for an empty drop and FeedUnreadable when nothing in it can be used.
        """
        if location.name is not None:
            blob = self.blob(location.name)
            if blob is None:
                raise FeedUnreadable(f"There is no blob {location.name!r} in the {self.container} container "
                                     f"({self.where}); check LEARNCAL_FEED")
            data = self.download(blob)
            feed = parse(data, blob.name)
            return DropReading(feed, UsedFeed(self.container, blob, sha256(data), feed_format(data)))
        skipped: list[SkippedFeed] = []
        blobs = self.blobs()
        if not blobs:
            raise NoFeedYet(no_feed_message(self.container))
        for blob in blobs:
            try:
                data = self.download(blob)
            except ChangedWhileRead as error:  # storage refusing or unreachable is not a reason to skip
                skipped.append(SkippedFeed(blob, str(error)))
                continue
            try:
                feed = parse(data, blob.name)
            except FeedUnreadable as error:
                log.warning("feed %s in %s skipped: %s", blob.name, self.container, error)
                skipped.append(SkippedFeed(blob, str(error), sha256(data), feed_format(data)))
                continue
            return DropReading(feed, UsedFeed(self.container, blob, sha256(data), feed_format(data)), skipped)
        reasons = "; ".join(f"{s.blob.name}: {s.reason}" for s in skipped[:5])
        raise NothingUsable(skipped,
            f"None of the {len(skipped)} feeds in the {self.container} container can be used ({reasons}). "
            "Upload a complete feed (`learncal feed push FILE`); nothing was sent."
        )

    # -- writing -------------------------------------------------------------------------

    def put(self, name: str, data: bytes, *, content_type: str) -> DropBlob:
        """Store a new feed in one Put Blob (atomic: it is listed complete or not at all)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContentSettings

        try:  # locally the first upload makes the container; in Azure the deployment made it
            self._client.create_container()
        except Exception:  # exists, or the uploader may write blobs but not create containers
            log.debug("container %s not created", self.container, exc_info=True)
        client = self._client.get_blob_client(name)
        try:
            client.upload_blob(data, overwrite=False, content_settings=ContentSettings(content_type=content_type))
        except ResourceExistsError:
            pass  # the same content in the same millisecond: the name holds its hash, so it is this very feed
        except Exception as error:
            if _refused(error):
                raise DropRefused(upload_refused_message(self.container, self.where)) from None
            if _not_signed_in(error):
                raise DropRefused(f"Could not sign in to upload to {self.where}: {error}. Sign in first "
                                  "(`az login`), or set LEARNCAL_FEED_STORAGE for a local drop.") from None
            raise self._unreachable(error) from None
        found = self.blob(name)
        assert found is not None
        return found

    def prune(self, *, keep_days: int, in_force: str, now: datetime) -> list[DropBlob]:
        """Delete feeds older than `keep_days`, never the one in force (feeds hold personal data)."""
        from azure.core.exceptions import ResourceNotFoundError

        cutoff = now - timedelta(days=keep_days)
        deleted: list[DropBlob] = []
        for blob in self.blobs():
            if blob.name == in_force or blob.last_modified >= cutoff:
                continue
            try:
                self._client.delete_blob(blob.name)
            except ResourceNotFoundError:
                continue
            deleted.append(blob)
            log.info("feed %s deleted from %s: older than %d days (LEARNCAL_FEED_KEEP_DAYS)", blob.name,
                     self.container, keep_days)
        return deleted

    def _unreachable(self, error: BaseException) -> FeedUnreadable:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

        if isinstance(error, FeedUnreadable):
            return error
        if isinstance(error, ServiceRequestError):
            return FeedUnreadable(
                f"The feed drop's blob storage could not be reached at {self.where} (no connection). Check "
                "LEARNCAL_FEED_STORAGE (or AzureWebJobsStorage), and locally that Azurite runs."
            )
        if isinstance(error, ClientAuthenticationError) or (
            isinstance(error, HttpResponseError) and error.status_code in (401, 403)
        ):
            return FeedUnreadable(
                f"The feed drop at {self.where} refused access. In Azure give the function app's identity "
                "'Storage Blob Data Owner' (or Reader, to read only) on the storage account or the "
                f"{self.container} container; locally check the key in LEARNCAL_FEED_STORAGE."
            )
        return FeedUnreadable(f"The feed drop at {self.where} could not be read: {type(error).__name__}")



class DropRefused(LearncalError):
    """The feed drop refused to store a feed: the uploader is not signed in or lacks the blob data role."""


def _refused(error: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError

    return isinstance(error, HttpResponseError) and error.status_code in (401, 403)


def _not_signed_in(error: BaseException) -> bool:
    """No credential at all (azure-identity's CredentialUnavailableError and kin carry no HTTP status)."""
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(error, ClientAuthenticationError) and not getattr(error, "status_code", None)


def upload_refused_message(container: str, where: str) -> str:
    return (
        f"The feed drop ({where}) refused the upload (403). Give yourself Storage Blob Data Contributor on the "
        f"{container} container: az role assignment create --assignee YOUR-SIGN-IN --role \"Storage Blob Data "
        "Contributor\" --scope /subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Storage/"
        f"storageAccounts/ACCOUNT/blobServices/default/containers/{container} (role assignments take a few "
        "minutes to apply), then push again."
    )


def no_feed_message(container: str = DEFAULT_CONTAINER) -> str:
    return (
        f"No feed yet: the {container} container holds no feed. Drop the first one with "
        "`learncal feed push FEED.json` (or .csv), PUT /api/feed, or the learning system's scheduled export; "
        "a new feed starts a sync within a minute."
    )


def upload_name(data: bytes, fmt: FeedFormat, now: datetime) -> str:
    """`<UTC timestamp>-<hash8>.<json|csv>`: sorts by time, and the same feed gets the same name."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{sha256(data)[:8]}.{fmt}"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

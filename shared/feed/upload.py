"""Uploading a feed into the drop (PUT /api/feed, `learncal feed push`): checked before it is stored.

A feed that lands in the drop starts a run, so the checks a run would make come first, while
the uploader is still there to read them: a feed that cannot be read is never stored; one whose
every item is rejected, or whose plan against the current mapping would trip the
mass-cancellation guard, is refused with the reasons unless forced. Forcing a guard-tripping
feed gives the one-shot allowance (shared/store/allowance.py) for exactly the cancellations
the preview showed, so the run it starts cancels those and no more.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from shared.domain import Rejection
from shared.errors import FeedUnreadable, LearncalError
from shared.feed.blobdrop import DEFAULT_CONTAINER, FeedDrop, FeedFormat, feed_format, sha256, upload_name

if TYPE_CHECKING:
    from shared.store.allowance import AllowanceStore, Via
    from shared.store.feeds import FeedStore
    from shared.sync.service import SyncService
    from shared.sync.summary import RunSummary

log = logging.getLogger("learncal.feed")

MAX_FEED_BYTES = 32 * 1024 * 1024  # far above any export we know of; well inside the host's 100 MB request limit
MAX_SHOWN_REJECTIONS = 100
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}

RefusalKind = Literal["unreadable", "all-rejected", "mass-cancellation", "preview-failed", "empty", "too-large"]


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    message: str
    forcible: bool
    cancellations: int | None = None


class UploadRefused(LearncalError):
    def __init__(self, check: UploadCheck) -> None:
        assert check.refusal is not None
        super().__init__(check.refusal.message)
        self.check = check


@dataclass
class UploadCheck:
    """What storing this feed would lead to: its name in the drop, the next run's preview, any refusal."""

    size: int
    format: FeedFormat
    name: str
    sha256: str
    offerings: int = 0
    rejections: tuple[Rejection, ...] = ()
    summary: RunSummary | None = None
    refusal: Refusal | None = None

    def preview(self) -> dict[str, Any]:
        summary = self.summary
        out: dict[str, Any] = {
            "offerings": self.offerings,
            "rejectedCount": len(self.rejections),
            "rejections": [{"path": r.path, "reason": r.reason} for r in self.rejections[:MAX_SHOWN_REJECTIONS]],
        }
        if summary is not None:
            out.update({"status": summary.status, "created": summary.created, "updated": summary.updated,
                        "cancelled": summary.cancelled, "unchanged": summary.unchanged, "message": summary.message})
            if summary.guard is not None:
                out["massCancelGuard"] = summary.guard
        return out

    def to_json(self) -> dict[str, Any]:
        return {"blob": self.name, "size": self.size, "sha256": self.sha256, "format": self.format,
                "preview": self.preview()}


def sniff_format(data: bytes, content_type: str | None = None, filename: str | None = None) -> FeedFormat:
    """The format from the content type, else the file name, else the bytes."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv", "text/tab-separated-values", "application/vnd.ms-excel"):
        return "csv"
    if kind.endswith("json"):
        return "json"
    suffix = os.path.splitext(filename or "")[1].lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    return feed_format(data)


def check_upload(data: bytes, *, sync: SyncService, content_type: str | None = None, filename: str | None = None,
                 now: datetime | None = None) -> UploadCheck:
    """Read the feed and plan it against the current mapping as a dry run; nothing is stored or sent."""
    from shared.feed.reader import parse_feed
    from shared.sync.service import SyncRequest

    fmt = sniff_format(data, content_type, filename)
    check = UploadCheck(len(data), fmt, upload_name(data, fmt, now or datetime.now(UTC)), sha256(data))
    if not data.strip():
        check.refusal = Refusal("empty", "The feed is empty: send the JSON or CSV feed as the body.", False)
        return check
    if len(data) > MAX_FEED_BYTES:
        check.refusal = Refusal("too-large", f"The feed is {len(data)} bytes, more than the {MAX_FEED_BYTES} a "
                                "single upload may hold.", False)
        return check
    try:
        feed = parse_feed(data, source="upload", name=f"upload.{fmt}")
    except FeedUnreadable as error:
        check.refusal = Refusal("unreadable", f"The feed cannot be read, so it was not stored: {error}", False)
        return check
    check.offerings = len(feed.offerings)
    check.rejections = feed.rejections
    with _as_file(data, fmt) as path:  # the same dry run as `learncal sync --dry-run`
        check.summary = sync.sync(SyncRequest(feed=path, dry_run=True))
    if not feed.offerings and feed.rejections:
        check.refusal = Refusal(
            "all-rejected", f"Every item of the feed was rejected ({len(feed.rejections)} rejections; see "
            "preview.rejections), so it was not stored: as the feed in force it would cancel every invitation of "
            "its offerings. Fix the export, or store it anyway with force.", True)
    elif check.summary.status == "failed":
        check.refusal = Refusal("preview-failed", f"What the next run would do could not be worked out, so the "
                                f"feed was not stored: {check.summary.message} Store it anyway with force.", True)
    elif check.summary.guard is not None:
        count = int(check.summary.guard["cancellations"])
        check.refusal = Refusal(
            "mass-cancellation", f"The next run would cancel {count} of {check.summary.guard['live']} live "
            f"invitations, which the mass-cancellation guard stops ({check.summary.guard['reason']}); the feed was "
            f"not stored. If these {count} cancellations are intended, upload it again with force: that stores it "
            f"and allows exactly {count} cancellations once.", True, count)
    return check


@contextlib.contextmanager
def _as_file(data: bytes, fmt: FeedFormat) -> Any:
    handle, path = tempfile.mkstemp(prefix="learncal-upload-", suffix=f".{fmt}")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def store_upload(check: UploadCheck, data: bytes, drop: FeedDrop, *, force: bool, by: str, via: Via,
                 allowances: AllowanceStore | None, history: FeedStore | None) -> dict[str, Any]:
    """Store a checked feed, or raise UploadRefused; a forced guard-tripping feed brings its allowance."""
    refusal = check.refusal
    if refusal is not None and not (force and refusal.forcible):
        _remember(history, drop.container, check, "rejected", refusal.message, by)
        raise UploadRefused(check)
    allowance = None
    if refusal is not None and refusal.kind == "mass-cancellation" and refusal.cancellations and allowances:
        allowance = allowances.give(refusal.cancellations, by=f"{by} (forced feed upload {check.name})", via=via)
        log.warning("%s forced feed %s past the mass-cancellation guard: %d cancellations allowed once", by,
                    check.name, refusal.cancellations)
    blob = drop.put(check.name, data, content_type=CONTENT_TYPES[check.format])
    note = f"uploaded; forced past: {refusal.kind}" if refusal is not None else "uploaded"
    _remember(history, drop.container, check, "received", note, by, blob.last_modified)
    result = {**check.to_json(), "container": drop.container, "lastModified": blob.to_json()["lastModified"],
              "forced": refusal is not None}
    if allowance is not None:
        result["allowance"] = allowance.to_json()
    return result


def _remember(history: FeedStore | None, container: str, check: UploadCheck, status: Any, reason: str, by: str,
              last_modified: datetime | None = None) -> None:
    if history is None:
        return
    try:
        history.record(container=container, name=check.name, status=status, size=check.size, sha256=check.sha256,
                       format=check.format, reason=reason, by=by, last_modified=last_modified)
    except Exception:
        log.warning("could not record the upload of %s in the feeds history", check.name, exc_info=True)


def drop_container(feed_setting: str | None) -> str:
    """The container uploads go to: LEARNCAL_FEED's when it names one, else the deployment's `feeds`."""
    from shared.feed.blobdrop import is_blob_source, parse_location

    if is_blob_source(feed_setting):
        return parse_location(str(feed_setting)).container
    return DEFAULT_CONTAINER

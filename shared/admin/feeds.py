"""PUT /api/feed (store a checked feed in the drop) and GET /api/feeds (the history of feeds received)."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from shared.admin.auth import READER_ROLE, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, ok, query_value
from shared.admin.problem import Problem, invalid

log = logging.getLogger("learncal.admin")

MAX_FEEDS = 200
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


def _flag(req: func.HttpRequest, name: str) -> bool:
    raw = (query_value(req, name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise invalid([{"field": name, "message": "must be true or false"}])


def _put_feed(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.feed.upload import MAX_FEED_BYTES, UploadRefused, check_upload, drop_container, store_upload
    from shared.store.allowance import AllowanceStore
    from shared.store.feeds import FeedStore

    force, dry_run = _flag(req, "force"), _flag(req, "dryRun")
    data = req.get_body() or b""
    if len(data) > MAX_FEED_BYTES:
        raise Problem(413, "feed-too-large", f"The feed is {len(data)} bytes; one upload may hold at most "
                      f"{MAX_FEED_BYTES // (1024 * 1024)} MiB. Split the export, or drop it straight into the feed "
                      "container with `learncal feed push` or the learning system's own delivery.",
                      title="Feed too large")
    current = services()
    who = principal.actor
    check = check_upload(data, sync=current.app.sync, content_type=req.headers.get("Content-Type"),
                         filename=query_value(req, "name"))
    if dry_run:
        return ok({**check.to_json(), "stored": False, "refusal": _refusal(check)})
    from shared.feed.blobdrop import FeedDrop
    from shared.store.services import feed_blob_service

    drop = FeedDrop(feed_blob_service(current.settings), drop_container(current.settings.feed))
    try:
        stored = store_upload(check, data, drop, force=force, by=f"{who} with PUT /api/feed", via="api",
                              allowances=AllowanceStore(current.tables), history=FeedStore(current.tables))
    except UploadRefused as refused:
        raise _problem(refused) from None
    _audit(current, who, "feed.upload.forced" if stored["forced"] else "feed.upload", stored)
    log.info("Feed %s (%d bytes) was stored in %s by %s%s.", stored["blob"], stored["size"], stored["container"],
             who, " (forced)" if stored["forced"] else "")
    return ok({**stored, "stored": True,
               "message": f"Stored as {stored['container']}/{stored['blob']}; a sync starts within a minute and "
                          "reads it (GET /api/runs shows it)."}, 201)


def _refusal(check: Any) -> dict[str, Any] | None:
    refusal = check.refusal
    if refusal is None:
        return None
    return {"kind": refusal.kind, "message": refusal.message, "forcible": refusal.forcible,
            "cancellations": refusal.cancellations}


def _problem(refused: Any) -> Problem:
    check = refused.check
    refusal = check.refusal
    extensions = {"preview": check.preview(), "blob": check.name, "forcible": refusal.forcible}
    if refusal.kind == "mass-cancellation":
        return Problem(409, "mass-cancellation", refusal.message, title="The feed would trip the "
                       "mass-cancellation guard", extensions={**extensions, "cancellations": refusal.cancellations})
    if refusal.kind == "preview-failed":
        return Problem(409, "preview-failed", refusal.message, title="The next run could not be previewed",
                       extensions=extensions)
    errors = [{"field": r.path, "message": r.reason} for r in check.rejections[:100]] or None
    kind = "feed-all-rejected" if refusal.kind == "all-rejected" else "feed-unreadable"
    title = "Every item of the feed was rejected" if refusal.kind == "all-rejected" else "The feed cannot be read"
    return Problem(422, kind, refusal.message, title=title, errors=errors, extensions=extensions)


def _audit(current: Any, actor: str, action: str, stored: dict[str, Any]) -> None:
    from shared.store.audit import audit

    audit(current.tables, actor, action, f"{stored['container']}/{stored['blob']}", {
        "size": stored["size"], "sha256": stored["sha256"], "format": stored["format"],
        "allowance": stored.get("allowance")})


def feed(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"PUT": _put_feed})


def _feeds(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.store.feeds import FeedStore

    raw = query_value(req, "limit")
    limit = 50
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_FEEDS:
            raise invalid([{"field": "limit", "message": f"must be a whole number from 1 to {MAX_FEEDS}"}])
        limit = int(raw)
    rows = FeedStore(services().tables).recent(limit)
    in_force = next((r for r in rows if r["status"] == "used" and not r["deletedAt"]), None)
    return ok({"value": rows, "inForce": in_force})


def feeds(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _feeds}, role=READER_ROLE)

"""`learncal feed push`: the checks of PUT /api/feed, run on a workstation, then one upload into the drop.

Locally the drop is Azurite (LEARNCAL_FEED_STORAGE or AzureWebJobsStorage, a connection string).
Against Azure the operator signs in as themself (`DefaultAzureCredential`: `az login`, Visual
Studio Code, environment) to the drop's blob service URL; no key or SAS is needed, only
Storage Blob Data Contributor on the feeds container, which the deployment grants the deployer.

The preview (what the next run would do) needs the installation's tables; where this machine
cannot read them, the upload goes ahead with the preview marked unavailable: the run it starts
still applies the mass-cancellation guard before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.errors import LearncalError


def push(file: Path, *, dry_run: bool, force: bool, account_url: str | None, container: str | None, who: str,
         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from shared.bootstrap import build
    from shared.feed.blobdrop import FeedDrop
    from shared.feed.upload import UploadRefused, check_upload, drop_container, store_upload
    from shared.settings import Settings
    from shared.store.allowance import AllowanceStore
    from shared.store.feeds import FeedStore
    from shared.store.services import feed_blob_service

    settings = Settings.from_env()
    data = file.read_bytes()
    app = build(settings)
    check = check_upload(data, sync=app.sync, filename=file.name)
    refusal = check.refusal
    preview_unavailable = refusal is not None and refusal.kind == "preview-failed"
    if preview_unavailable and progress is not None:
        progress(f"Note: {refusal.message if refusal else ''} The run the upload starts still applies the "
                 "mass-cancellation guard.")
    result: dict[str, Any] = {**check.to_json(), "stored": False, "file": str(file),
                              "refusal": None if refusal is None else {
                                  "kind": refusal.kind, "message": refusal.message, "forcible": refusal.forcible,
                                  "cancellations": refusal.cancellations}}
    if dry_run:
        return result
    url = account_url or settings.feed_blob_service_uri
    credential = None
    if url:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    drop = FeedDrop(feed_blob_service(settings, account_url=url, credential=credential),
                    container or drop_container(settings.feed))
    if preview_unavailable:
        check.refusal = None  # the workstation could not preview; the run's own guard still stands
    history = None
    try:
        history = FeedStore(app.tables)
    except LearncalError:
        history = None
    try:
        stored = store_upload(check, data, drop, force=force, by=who, via="cli",
                              allowances=AllowanceStore(app.tables) if force else None, history=history)
    except UploadRefused:
        return result
    return {**result, **stored, "stored": True, "where": drop.where}


def describe(result: dict[str, Any]) -> list[str]:
    """The result in words: what was read, what the next run would do, where it went."""
    preview = result["preview"]
    lines = [f"{result['file']}: {result['format'].upper()}, {result['size']} bytes, sha256 {result['sha256']}",
             f"{preview['offerings']} offerings accepted, {preview['rejectedCount']} items rejected."]
    for rejection in preview["rejections"][:20]:
        lines.append(f"  rejected {rejection['path']}: {rejection['reason']}")
    if "created" in preview and preview.get("status") != "failed":
        lines.append(f"The next run would send {preview['created']} invitations, {preview['updated']} updates and "
                     f"{preview['cancelled']} cancellations ({preview['unchanged']} unchanged).")
    refusal = result.get("refusal")
    if refusal and not result.get("stored"):
        hint = " Push again with --force to store it anyway." if refusal["forcible"] else ""
        lines.append(f"Refused: {refusal['message']}{hint}")
    elif result.get("stored"):
        lines.append(f"Stored as {result['container']}/{result['blob']} ({result['where']}); a sync starts within "
                     "a minute and reads it.")
        if result.get("allowance"):
            lines.append(f"Allowed once: {result['allowance']['count']} cancellations past the guard.")
    else:
        lines.append("Dry run: nothing was stored.")
    return lines

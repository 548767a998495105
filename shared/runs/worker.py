"""The run queue's consumer: one message {"runId"} performs that requested run.

The run plans and hands its writes to the send queue (`learncal-send`), whose workers send
each organizer's share at the budget's pace, so the next run may plan as soon as this one has.

A malformed message is logged and dropped, never retried: retrying cannot make it readable,
and the host would only move it to the poison queue after five attempts.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from shared.runs.perform import Performed, perform
from shared.runs.requests import RETRY_SECONDS

if TYPE_CHECKING:
    import azure.functions as func

    from shared.bootstrap import App

log = logging.getLogger("learncal.runs")


def run_id_of(body: bytes | str) -> str | None:
    """The run id a message names, or None when the message is not {"runId": "<id>"}."""
    try:
        data: Any = json.loads(body)
    except (TypeError, ValueError):
        return None
    run_id = data.get("runId") if isinstance(data, dict) else None
    if not isinstance(run_id, str) or not run_id or len(run_id) > 64 or not run_id.isalnum():
        return None
    return run_id


def handle(msg: func.QueueMessage, app: App | None = None) -> Performed | None:
    """Perform the run a message names; re-queue it with a delay while the planner lease is held."""
    run_id = run_id_of(msg.get_body())
    if run_id is None:
        log.error("A message on learncal-runs is not {\"runId\": \"<id>\"} and was dropped (message id %s).",
                  msg.id)
        return None
    if app is None:
        from shared.admin.context import services

        app = services().app
    performed = perform(app, run_id, send_in_process=False)  # the send workers send, each organizer apart
    if performed.outcome == "busy":
        log.info("Run %s waits: another run holds the planner lease (back in %d s, or when that run ends).",
                 run_id, RETRY_SECONDS)
        app.requests.retry_later(run_id)
    return performed

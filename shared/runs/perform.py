"""Performing a requested run: take the planner lease, claim the run, sync, record how it ended.

The run worker (queue trigger), the hourly timer and the synchronous `learncal sync` all end
here, so a run is recorded the same way whoever performs it. When the planner lease is held,
nothing is performed: the caller re-queues the run (the worker, with a delay) and the run
in progress starts it as soon as it ends (`RunRequests.finished`), so the follow-up never
waits for the delay and nothing polls while no run is waiting.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shared.errors import RunInProgress
from shared.runs.requests import RunTicket, sync_request

if TYPE_CHECKING:
    from shared.bootstrap import App
    from shared.store.runs import Claimed
    from shared.sync.service import SyncRequest
    from shared.sync.summary import RunSummary

log = logging.getLogger("learncal.runs")


@dataclass(frozen=True)
class Performed:
    """`done`: performed here (summary); `busy`: a run holds the planner lease; `gone`: not waiting."""

    outcome: Literal["done", "busy", "gone"]
    summary: RunSummary | None = None


def perform(app: App, run_id: str, *, send_in_process: bool = True) -> Performed:
    """Perform one requested run, if it is still waiting and no other run is planning.

    `send_in_process=False` (the run worker): plan only, and leave the sending to the send
    workers, woken at once, so the planner lease is free for the next run as soon as the plan is.

    The sync service takes the planner lease itself; the look at the lease here only saves
    claiming a run that could not start. Should another run take the lease between that look
    and the sync's start, the run goes back to waiting (`busy`), as if the look had seen it.
    """
    run = app.runs.get(run_id)
    if run is None:
        log.warning("Run %s is not recorded in this installation; its message is dropped.", run_id)
        return Performed("gone")
    if run.get("state") != "queued":
        log.info("Run %s has already started (%s); this message for it is dropped.", run_id, run.get("state"))
        return Performed("gone")
    requests = app.requests
    if run.get("dryRun"):  # a dry run changes nothing: no lease, never waits
        claimed = requests.claim(run_id)
        return Performed("done", execute(app, claimed, send_in_process)) if claimed else Performed("gone")
    if requests.planning():
        return Performed("busy")
    claimed = requests.claim(run_id)
    if claimed is None:
        return Performed("gone")
    try:
        summary = execute(app, claimed, send_in_process)
    finally:
        waiting = requests.finished(run_id)
    if summary is None:  # another run took the planner lease first: wait again
        requests.unclaim(claimed)
        return Performed("busy")
    if waiting:
        log.info("Run %s starts now that run %s has ended its planning.", waiting, run_id)
    return Performed("done", summary)


def execute(app: App, claimed: Claimed, send_in_process: bool = True) -> RunSummary | None:
    """The sync itself, and the run's record: state, counts, and for a dry run its plan.

    None when another run held the planner lease after all (nothing was done or recorded).
    """
    from shared.bootstrap import report_run_records

    request = dataclasses.replace(sync_request(claimed.request, claimed.via or "http"),
                                  send_in_process=send_in_process)
    log.info("Run %s starts (requested by %s via %s%s).", claimed.run_id, claimed.started_by or "an unnamed caller",
             claimed.via, ", dry run" if request.dry_run else "")
    summary = app.sync.sync(request, run_id=claimed.run_id)
    if summary.failure == RunInProgress.__name__:
        return None
    data = summary.to_json()
    if request.dry_run:  # the service records no dry run itself
        app.runs.record(data)
    app.runs.finish(claimed.run_id, **progress_fields(summary))
    result = {k: v for k, v in data.items() if k != "plan"}
    log.info("sync run %s: %s", summary.status, json.dumps(result, ensure_ascii=False))
    report_run_records(app, summary)  # a run's problems alert whoever asked for it
    log_loads(app)
    return summary


def progress_fields(summary: RunSummary) -> dict[str, Any]:
    """The run's state and counters at the end of its planning.

    Writes left queued are sent by the send queue's drains, which count them into `sent` and
    `left` (RunStore.progress); the run is `sending` until `left` reaches 0.
    """
    sent = 0 if summary.dry_run else summary.created + summary.updated + summary.cancelled
    planned = summary.created + summary.updated + summary.cancelled + summary.deferred + len(summary.errors)
    state = "sending" if summary.status == "completed" and summary.deferred and not summary.dry_run \
        else summary.status
    return {"state": state, "planned": planned, "sent": sent, "left": summary.deferred}


def log_loads(app: App) -> None:
    """Each organizer's sending after a run, one record each (selectable in Application Insights)."""
    from shared.runs.overview import app_loads

    try:
        loads = app_loads(app)
    except Exception:  # the run is recorded; this only describes the queue
        log.warning("could not read the organizers' sending", exc_info=True)
        return
    for load in loads:
        log.info("learncal.sending %s", json.dumps(load, ensure_ascii=False))


def run_now(app: App, request: SyncRequest, *, started_by: str) -> tuple[RunTicket, RunSummary | None]:
    """Request a run and perform it in this process when no run is planning (CLI, timer).

    While another run is planning (or one already waits), the request is coalesced like any
    other: the ticket names the follow-up run and no summary is returned; the follow-up is
    started through the run queue when the run in progress ends. A waiting run this request
    joined is performed here when no run is planning, so a lost message never strands it.
    """
    requests = app.requests
    ticket = requests.request(request, started_by=started_by, enqueue=False)
    performed = perform(app, ticket.run_id)  # a run joined here may wait on a message that was lost
    if ticket.coalesced:
        if performed.summary is not None:
            return RunTicket(ticket.run_id, "running", True, ticket.follow_up_of), performed.summary
        return ticket, None
    if performed.outcome == "busy":
        requests.retry_later(ticket.run_id, delay=0)  # the run in progress also starts it when it ends
        return ticket, None
    if performed.summary is None:
        return ticket, None
    return RunTicket(ticket.run_id, "running", False, ticket.follow_up_of), performed.summary

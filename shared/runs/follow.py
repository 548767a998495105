"""Following a requested run to its end, as `learncal sync --wait` and `learncal runs RUN_ID` show it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.errors import LearncalError
from shared.store.runs import ENDED

if TYPE_CHECKING:
    from shared.bootstrap import App

POLL_SECONDS = 2.0  # how often a follower reads the run's record (one table read)
QUIET_HINT_SECONDS = 60.0  # a run still queued this long is probably waiting for a queue host


class UnknownRun(LearncalError):
    """No run with this id is recorded in this installation."""


def progress_line(run: dict[str, Any]) -> str:
    """One line for a run: its state and, once known, its counts."""
    parts = [f"Run {run.get('runId')}: {run.get('state')}"]
    counts = [f"{name} {run[name]}" for name in ("planned", "sent", "left") if run.get(name) is not None]
    if run.get("deferred"):
        counts.append(f"deferred {run['deferred']}")
    if counts:
        parts.append(", ".join(counts))
    if run.get("state") in ENDED and run.get("message"):
        parts.append(str(run["message"]))
    elif run.get("state") == "queued" and run.get("followUpOf"):
        parts.append(f"starts when run {run['followUpOf']} ends")
    return " - ".join(parts)


def exit_code(run: dict[str, Any]) -> int:
    """As `learncal sync`: 0 all applied, 2 completed with rejected feed items, 1 failed or a write failed."""
    if run.get("status") == "failed" or run.get("state") == "failed" or run.get("errors") or run.get("errorsCount"):
        return 1
    if run.get("rejected") or run.get("rejectedCount"):
        return 2
    return 0


def follow(app: App, run_id: str, *, show: Callable[[str], None], perform_here: bool = False,
           poll: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Read the run until it has ended, showing each change; the run as it ended.

    `perform_here`: when the run is still waiting and no run holds the planner lease, perform
    it in this process (the synchronous CLI, where no Functions host may be draining the queue).
    """
    from shared.runs.perform import perform

    shown = ""
    since = clock()
    hinted = False
    while True:
        run = app.runs.get(run_id)
        if run is None:
            raise UnknownRun(f"No run with id {run_id} is recorded here; `learncal runs` lists the recent runs.")
        line = progress_line(run)
        if line != shown:
            show(line)
            shown = line
        if run.get("state") in ENDED:
            return run
        if run.get("state") == "queued":
            if perform_here and perform(app, run_id).outcome != "busy":
                continue
            if not hinted and not perform_here and clock() - since > QUIET_HINT_SECONDS:
                show(f"Run {run_id} is still queued. The Functions host (or a local queue host) performs the runs "
                     "on the learncal-runs queue; without one, `learncal sync --wait` performs it here.")
                hinted = True
        sleep(poll)

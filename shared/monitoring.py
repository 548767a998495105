"""The log records Azure Monitor's alert rules select (infra/modules/alerts.bicep).

Each record is one log line: a stable name, then `key=value` fields, e.g.

    learncal.run.failed run_id=3f2a9c01b7e4 kind=FeedUnreadable applied=true message="..."

The Functions host sends every log line to Application Insights as a trace whose `message` is
this text; the alert queries select by the name at the start and read fields with
`extract(@"\\bkey=(\\S+)", 1, message)`. The names and keys are an outside interface: the
alert rules and tests/integration/test_alert_records.py depend on them.

Rejected feed items are logged once per new problem: a rejection carries a fingerprint (its
path and reason, hashed) and is logged only when the previous completed run did not reject the
same item, so the rejection alert fires when an item starts being rejected, not every hour it
stays rejected.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.sync.summary import RunSummary

RUN_FAILED = "learncal.run.failed"
RUN_COMPLETED = "learncal.run.completed"
RUN_PROBLEMS = "learncal.run.problems"
RUN_SKIPPED = "learncal.run.skipped"
REJECTION_NEW = "learncal.feed.rejection.new"
GUARD_TRIPPED = "learncal.guard.tripped"
SECRET_EXPIRING = "learncal.secret.expiring"
QUEUE_DRAINED = "learncal.queue.drained"
QUEUE_POISON = "learncal.queue.poison"
QUEUE_PARKED = "learncal.queue.parked"

SECRET_WARNING_DAYS = 30  # the expiring-secret record is logged this many days ahead
GUARD_KIND = "MassCancellationStopped"

log = logging.getLogger("learncal.monitoring")


def _field(value: Any) -> str:
    """Single tokens stay bare (extract(@"key=(\\S+)") reads them); text with spaces is quoted JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and not any(c.isspace() or c in '"=' for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def emit(level: int, name: str, **fields: Any) -> str:
    """Log one record; returns its text (tests compare it with what the alert queries select)."""
    text = name + "".join(f" {key}={_field(value)}" for key, value in fields.items() if value is not None)
    log.log(level, text, extra={"custom_dimensions": {"record": name, **{k: str(v) for k, v in fields.items()}}})
    return text


def fingerprint(path: str, reason: str) -> str:
    """The same item rejected for the same reason gets the same fingerprint in every run."""
    return hashlib.sha256(f"{path}\n{reason}".encode()).hexdigest()[:16]


def previous_fingerprints(runs: Iterable[Mapping[str, Any]], current_run_id: str) -> set[str] | None:
    """Fingerprints of the newest earlier completed run's rejections; None when there is none."""
    for run in runs:
        if run.get("runId") == current_run_id or run.get("status") != "completed" or run.get("dryRun"):
            continue
        return {fingerprint(str(r.get("path", "")), str(r.get("reason", ""))) for r in run.get("rejected") or []}
    return None


def report_run(summary: RunSummary, *, applied_before: bool | None, earlier: set[str] | None) -> list[str]:
    """The records of one finished run; `applied_before`: whether any run has ever applied a feed."""
    records: list[str] = []
    counts = {
        "created": summary.created, "updated": summary.updated, "cancelled": summary.cancelled,
        "deferred": summary.deferred, "rejected": len(summary.rejected), "errors": len(summary.errors),
        "held": summary.held, "waiting_for_reconcile": summary.waiting_for_reconcile,
    }
    if summary.status == "failed":
        if summary.failure == "RunInProgress":
            records.append(emit(logging.WARNING, RUN_SKIPPED, run_id=summary.run_id, reason="busy",
                                message=summary.message))
            return records
        records.append(emit(logging.ERROR, RUN_FAILED, run_id=summary.run_id, kind=summary.failure or "unknown",
                            applied=bool(applied_before), message=summary.message))
        if summary.failure == GUARD_KIND:
            records.append(emit(logging.ERROR, GUARD_TRIPPED, run_id=summary.run_id, message=summary.message))
        return records
    if summary.status == "skipped":
        records.append(emit(logging.INFO, RUN_SKIPPED, run_id=summary.run_id, reason="inactive",
                            applied=bool(applied_before)))
        return records
    records.append(emit(logging.INFO, RUN_COMPLETED, run_id=summary.run_id, applied=True, **counts))
    if summary.rejected or summary.errors:
        records.append(emit(logging.WARNING, RUN_PROBLEMS, run_id=summary.run_id, **counts))
    for rejection in summary.rejected:
        mark = fingerprint(rejection.path, rejection.reason)
        if earlier is not None and mark in earlier:
            continue  # the same item was rejected last run: already alerted
        records.append(emit(logging.WARNING, REJECTION_NEW, run_id=summary.run_id, fingerprint=mark,
                            path=rejection.path, reason=rejection.reason))
    return records


def report_unstarted(error: BaseException) -> str:
    """A scheduled run that could not even start (storage unreachable, bad settings): no run id yet."""
    return emit(logging.ERROR, RUN_FAILED, run_id="none", kind=type(error).__name__, applied="unknown",
                message=str(error))


def report_secret_expiry(expires_on: datetime | None, now: datetime, *, where: str) -> str | None:
    """The expiring-secret record, within SECRET_WARNING_DAYS of the end date Key Vault holds."""
    if expires_on is None:
        return None
    days = (expires_on - now).total_seconds() / 86400
    if days > SECRET_WARNING_DAYS:
        return None
    return emit(logging.WARNING, SECRET_EXPIRING, days_left=max(0, int(days)), expires_on=expires_on.isoformat(),
                secret=where)


def report_drain(result: Any, *, run_id: str | None) -> list[str]:
    """What one send-worker invocation did for one organizer (shared/queue/drain.py's DrainResult);
    parked work (failed MAX_ATTEMPTS times, kept but no longer sent) gets a record of its own."""
    data = result.to_json()
    records = [emit(logging.INFO, QUEUE_DRAINED, run_id=run_id or "none", **_snake(data))]
    if result.parked:
        records.append(emit(logging.WARNING, QUEUE_PARKED, organizer=result.organizer, parked=result.parked,
                            message="Queued writes failed repeatedly and were parked; `learncal queue show` lists "
                                    "them."))
    return records


def report_poison(organizer: str | None, *, run_id: str | None, dequeue_count: int, error: BaseException) -> str:
    """The wake-up message failed its last attempt: the host moves it to the poison queue."""
    return emit(logging.ERROR, QUEUE_POISON, organizer=organizer or "unknown", run_id=run_id or "none",
                dequeue_count=dequeue_count, kind=type(error).__name__,
                message=f"{error} The wake-up went to the poison queue; the work stays queued: fix the cause, then "
                        "`learncal queue requeue` (or the next run) sends it.")


def _snake(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"".join("_" + c.lower() if c.isupper() else c for c in k): v for k, v in data.items()}

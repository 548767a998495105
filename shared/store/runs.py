"""A record of every run (start, end, counts, errors) for the admin API to list.

One run is one entity. Table Storage limits a string property to 64 KiB (32,768 UTF-16
characters) and an entity to 1 MiB, so a run that rejected thousands of feed items cannot keep
them all: its record keeps the counts and the first items, says `"truncated": true`, and still
lists like any other run. A record that cannot be read back at all (written before records were
trimmed to valid JSON) is listed from its row: id, start, status, marked truncated.

A run is recorded from the moment it is requested (state `queued`), so a caller can follow it
by id: its row keeps its place in the listing (the time it was requested) and an index row
(`id` partition) finds it by id in one read. Its state and progress counters are properties of
their own beside the summary, so the run and the drain of its writes can each update theirs
with a merge, without rewriting the other's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.store.tables import Tables

_suppress = contextlib.suppress

PARTITION = "run"
INDEX = "id"  # RowKey = run id; "Row" names the run's row in PARTITION
RunState = Literal["queued", "planning", "sending", "completed", "failed", "skipped"]
ENDED: frozenset[str] = frozenset({"completed", "failed", "skipped"})
# entity property -> JSON name of the run's state and progress (written apart from the summary)
_FIELDS = {
    "State": "state", "Planned": "planned", "Sent": "sent", "Left": "left", "StartedBy": "startedBy",
    "Via": "via", "FollowUpOf": "followUpOf", "RequestedAt": "requestedAt", "Requests": "requests",
    "Progress": "progress",
}
_MAX_TEXT = 30000  # characters of JSON (ASCII-escaped); well inside the 32,768-character property limit
_LISTS = ("rejected", "errors", "plan", "reconciled", "recreated", "warnings")
_EPOCH_INVERT = 10**13


def _newest_first(started: datetime) -> str:
    """Row keys sort ascending; an inverted timestamp lists the newest run first."""
    return f"{_EPOCH_INVERT - int(started.timestamp() * 1000):013d}"


def fit(summary: dict[str, Any], limit: int = _MAX_TEXT) -> str:
    """The summary as JSON of at most `limit` characters, always valid JSON.

    Lists are cut first (their full lengths kept as `<name>Count`), then dropped; the message
    is shortened last. A cut record says `"truncated": true`.
    """
    text = json.dumps(summary, sort_keys=True)
    if len(text) <= limit:
        return text
    trimmed = dict(summary, truncated=True)
    for name in _LISTS:
        if isinstance(summary.get(name), list):
            trimmed[f"{name}Count"] = len(summary[name])
    for keep in (50, 10, 1, 0):
        for name in _LISTS:
            if isinstance(summary.get(name), list):
                trimmed[name] = summary[name][:keep]
        text = json.dumps(trimmed, sort_keys=True)
        if len(text) <= limit:
            return text
    scalars = {k: v for k, v in trimmed.items() if not isinstance(v, (list, dict))}
    for name in ("message", "skipped"):
        if isinstance(scalars.get(name), str):
            scalars[name] = scalars[name][:500]
    return json.dumps(scalars, sort_keys=True)


def _from_row(entity: dict[str, Any]) -> dict[str, Any]:
    """What the row itself says about a run whose summary cannot be read back."""
    row = str(entity.get("RowKey", ""))
    inverted, _, run_id = row.partition("-")
    started = None
    if inverted.isdigit():
        started = datetime.fromtimestamp((_EPOCH_INVERT - int(inverted)) / 1000, UTC).isoformat()
    return {
        "runId": run_id,
        "status": entity.get("Status", ""),
        "startedAt": started,
        "truncated": True,
        "message": "The record of this run was too large to keep in full; its details are in the logs.",
    }


def view(entity: Any) -> dict[str, Any]:
    """A run as the admin API and the CLI show it: its summary with its state and progress."""
    try:
        run = json.loads(entity["Summary"]) if entity.get("Summary") else None
    except (KeyError, ValueError):
        run = None
    if not isinstance(run, dict):
        run = _from_row(entity) if entity.get("Summary") else {"runId": entity.get("RunId")}
    for name, key in _FIELDS.items():
        value = entity.get(name)
        if value is not None and value != "":
            run[key] = value.isoformat() if isinstance(value, datetime) else value
    if entity.get("Request") and run.get("state") == "queued":
        try:
            asked = json.loads(entity["Request"])
        except ValueError:
            asked = {}
        run.setdefault("dryRun", bool(asked.get("dryRun")))
    run.setdefault("state", _state_of(run.get("status")))
    if run["state"] in ENDED and run.get("status") in ("queued", "running"):  # ended without its summary
        run["status"] = run["state"]
        run["message"] = run.get("progress") or run.get("message")
    if "left" not in run and run.get("deferred") is not None:
        run["left"] = run["deferred"]
    return run


def _state_of(status: Any) -> str:
    """Runs recorded before runs had states: their status is their end state."""
    return str(status) if status in ENDED else "completed"


@dataclass(frozen=True)
class Claimed:
    """A queued run taken by the process that will perform it: what was asked, as finally merged."""

    run_id: str
    request: dict[str, Any]
    started_by: str
    via: str


class RunStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["runs"]

    # -- finished runs (and the final summary of a requested run) -------------------------------

    def record(self, summary: dict[str, Any]) -> None:
        """Write a run's summary: into its requested row when it has one, else a row of its own."""
        from azure.data.tables import UpdateMode

        run_id = str(summary.get("runId", ""))
        row = self._row_of(run_id) if run_id else None
        if row is None:
            started = datetime.fromisoformat(summary["startedAt"]) if summary.get("startedAt") else datetime.now(UTC)
            row = _newest_first(started) + "-" + run_id
            if run_id:
                self._table.upsert_entity({"PartitionKey": INDEX, "RowKey": run_id, "Row": row})
        text = fit(summary)
        truncated = len(text) < len(json.dumps(summary, sort_keys=True))
        self._table.upsert_entity(
            {
                "PartitionKey": PARTITION,
                "RowKey": row,
                "RunId": run_id,
                "Status": summary.get("status", ""),
                "Truncated": truncated,
                "Summary": text,
            },
            mode=UpdateMode.MERGE,
        )

    # -- requested runs ----------------------------------------------------------------------

    def create(self, run_id: str, *, request: dict[str, Any], started_by: str, via: str,
               follow_up_of: str | None = None, now: datetime | None = None) -> None:
        """A run asked for and not started yet (state `queued`), findable by id at once."""
        now = now or datetime.now(UTC)
        row = _newest_first(now) + "-" + run_id
        summary = {"runId": run_id, "status": "queued", "startedAt": None, "endedAt": None,
                   "dryRun": bool(request.get("dryRun")), "message": "Waiting to start."}
        self._table.upsert_entity({"PartitionKey": INDEX, "RowKey": run_id, "Row": row})
        self._table.upsert_entity({
            "PartitionKey": PARTITION, "RowKey": row, "RunId": run_id, "Status": "queued", "Truncated": False,
            "Summary": json.dumps(summary), "State": "queued", "Request": json.dumps(request, sort_keys=True),
            "StartedBy": started_by, "Via": via, "FollowUpOf": follow_up_of or "", "RequestedAt": now,
            "Requests": 1, "EnqueuedAt": now,
        })

    def delete(self, run_id: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        row = self._row_of(run_id)
        if row is not None:
            with _suppress(ResourceNotFoundError):
                self._table.delete_entity(PARTITION, row)
        with _suppress(ResourceNotFoundError):
            self._table.delete_entity(INDEX, run_id)

    def get(self, run_id: str) -> dict[str, Any] | None:
        """One run by id (any state); None for an id this installation never recorded."""
        entity = self._entity(run_id)
        return view(entity) if entity is not None else None

    def state(self, run_id: str) -> str | None:
        entity = self._entity(run_id)
        if entity is None:
            return None
        return str(entity.get("State") or _state_of(entity.get("Status")))

    def join(self, run_id: str, merge: Callable[[dict[str, Any]], dict[str, Any]]) -> datetime | None:
        """Merge one more request into a run still queued (ETag-checked).

        Returns when the run's message was last sent, or None when the run is no longer queued
        (it started, or another caller changed it in between: read it again).
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        entity = self._entity(run_id)
        if entity is None or entity.get("State") != "queued":
            return None
        try:
            request = json.loads(entity.get("Request") or "{}")
        except ValueError:
            request = {}
        update = {"PartitionKey": PARTITION, "RowKey": entity["RowKey"],
                  "Request": json.dumps(merge(request), sort_keys=True),
                  "Requests": int(entity.get("Requests") or 1) + 1}
        try:
            self._table.update_entity(update, mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        enqueued = entity.get("EnqueuedAt")
        return enqueued if isinstance(enqueued, datetime) else datetime.fromtimestamp(0, UTC)

    def claim(self, run_id: str, *, now: datetime | None = None) -> Claimed | None:
        """Move a queued run to `planning` (ETag-checked): exactly one caller gets it.

        None when the run is unknown or no longer queued. A request merged in at the same
        moment makes the ETag check fail; the run is then read again, request included.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        for _attempt in range(20):
            entity = self._entity(run_id)
            if entity is None or entity.get("State") != "queued":
                return None
            started = now or datetime.now(UTC)
            summary = {"runId": run_id, "status": "running", "startedAt": started.isoformat(), "endedAt": None,
                       "dryRun": False, "message": "Planning."}
            try:
                request = json.loads(entity.get("Request") or "{}")
            except ValueError:
                request = {}
            summary["dryRun"] = bool(request.get("dryRun"))
            update = {"PartitionKey": PARTITION, "RowKey": entity["RowKey"], "State": "planning",
                      "Status": "running", "Summary": json.dumps(summary)}
            try:
                self._table.update_entity(update, mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                          match_condition=MatchConditions.IfNotModified)
            except ResourceModifiedError:
                continue
            except ResourceNotFoundError:
                return None
            return Claimed(run_id, request, str(entity.get("StartedBy") or ""), str(entity.get("Via") or ""))
        return None

    def enqueued(self, run_id: str, now: datetime | None = None) -> None:
        self.update(run_id, EnqueuedAt=now or datetime.now(UTC))

    def progress(self, run_id: str, *, sent: int, left: int, state: str | None = None) -> bool:
        """Sending progress of a run whose work drains after its plan: `sent` messages are added to
        the run's count, `left` (the run's writes still queued) replaces the last figure. A run
        that is `sending` is `completed` once nothing is left.

        Drains of several organizers report on one run at once, so the row is written with the
        ETag it was read with and read again on a conflict. False when the run has no record.
        """
        def change(entity: Any) -> dict[str, Any]:
            before = entity.get("Sent")
            if before is None:  # what the run sent itself before its work went to the queue
                summary = view(entity)
                before = sum(int(summary.get(k) or 0) for k in ("created", "updated", "cancelled"))
            fields: dict[str, Any] = {"Sent": int(before) + sent, "Left": left}
            if state is not None:
                fields["State"] = state
            elif left == 0 and entity.get("State") == "sending":
                fields["State"] = "completed"
            return fields

        return self._change(run_id, change)

    def finish(self, run_id: str, *, state: str, planned: int, sent: int, left: int) -> bool:
        """A run's figures when its planning ends; what drains counted meanwhile is kept."""
        def change(entity: Any) -> dict[str, Any]:
            now_left = left
            if entity.get("Left") is not None and int(entity.get("Sent") or 0) > sent:
                now_left = min(left, int(entity["Left"]))  # a drain already sent some of what was left
            ended = "completed" if state == "sending" and now_left == 0 else state
            return {"State": ended, "Planned": planned, "Sent": max(sent, int(entity.get("Sent") or 0)),
                    "Left": now_left}

        return self._change(run_id, change)

    def requeue(self, run_id: str) -> None:
        """A claimed run that could not start after all waits again (`queued`)."""
        summary = {"runId": run_id, "status": "queued", "startedAt": None, "endedAt": None, "dryRun": False,
                   "message": "Waiting to start."}
        self.update(run_id, State="queued", Status="queued", Summary=json.dumps(summary))

    def _change(self, run_id: str, change: Callable[[Any], dict[str, Any]]) -> bool:
        """Merge `change(entity)` into a run's row with the ETag it was read with, again on a conflict."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        for _attempt in range(8):
            entity = self._entity(run_id)
            if entity is None:
                return False
            try:
                self._table.update_entity({"PartitionKey": PARTITION, "RowKey": entity["RowKey"], **change(entity)},
                                          mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                          match_condition=MatchConditions.IfNotModified)
                return True
            except ResourceModifiedError:
                continue
            except ResourceNotFoundError:
                return False
        return False

    def update(self, run_id: str, **properties: Any) -> None:
        """Merge entity properties into a requested run's row (nothing for an unknown id)."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        row = self._row_of(run_id)
        if row is None:
            entity = self._entity(run_id)
            if entity is None:
                return
            row = str(entity["RowKey"])
        with _suppress(ResourceNotFoundError):
            self._table.update_entity({"PartitionKey": PARTITION, "RowKey": row, **properties},
                                      mode=UpdateMode.MERGE)

    def _row_of(self, run_id: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return str(self._table.get_entity(INDEX, run_id)["Row"])
        except ResourceNotFoundError:
            return None

    def _entity(self, run_id: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        row = self._row_of(run_id)
        if row is None:  # recorded before runs had an index row: one query of the partition
            query = self._table.query_entities("PartitionKey eq @pk and RunId eq @run",
                                               parameters={"pk": PARTITION, "run": run_id})
            return next(iter(query), None)
        try:
            return self._table.get_entity(PARTITION, row)
        except ResourceNotFoundError:
            return None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        query = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION}, results_per_page=limit)
        result: list[dict[str, Any]] = []
        for entity in query:
            result.append(view(entity))
            if len(result) >= limit:
                break
        return result

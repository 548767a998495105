"""A record of every run (start, end, counts, errors) for the admin API to list.

One run is one entity. Table Storage limits a string property to 64 KiB (32,768 UTF-16
characters) and an entity to 1 MiB, so a run that rejected thousands of feed items cannot keep
them all: its record keeps the counts and the first items, says `"truncated": true`, and still
lists like any other run. A record that cannot be read back at all (written before records were
trimmed to valid JSON) is listed from its row: id, start, status, marked truncated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.store.tables import Tables

PARTITION = "run"
_MAX_TEXT = 30000  # characters of JSON (ASCII-escaped); well inside the 32,768-character property limit
_LISTS = ("rejected", "errors", "plan", "reconciled", "recreated")
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


class RunStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["runs"]

    def record(self, summary: dict[str, Any]) -> None:
        started = datetime.fromisoformat(summary["startedAt"]) if summary.get("startedAt") else datetime.now(UTC)
        text = fit(summary)
        truncated = len(text) < len(json.dumps(summary, sort_keys=True))
        self._table.upsert_entity(
            {
                "PartitionKey": PARTITION,
                "RowKey": _newest_first(started) + "-" + str(summary.get("runId", "")),
                "RunId": str(summary.get("runId", "")),
                "Status": summary.get("status", ""),
                "Truncated": truncated,
                "Summary": text,
            }
        )

    def progress(self, run_id: str, *, sent: int, left: int, state: str | None = None) -> bool:
        """Sending progress of a run whose work drains after its plan: `sent` messages are added to
        the run's count, `left` (the run's writes still queued) replaces the last figure.

        Drains of several organizers report on one run at once, so the row is written with the
        ETag it was read with and read again on a conflict. False when the run has no record
        (yet): the run that is still planning records its own figures when it ends.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        for _attempt in range(8):
            query = self._table.query_entities("PartitionKey eq @pk and RunId eq @run",
                                               parameters={"pk": PARTITION, "run": run_id})
            entity = next(iter(query), None)
            if entity is None:
                return False
            try:
                run = json.loads(entity["Summary"])
            except (KeyError, ValueError):
                run = _from_row(entity)
            run["sent"] = int(run.get("sent") or 0) + sent
            run["left"] = left
            if state is not None:
                run["state"] = state
            try:
                self._table.update_entity(
                    {"PartitionKey": PARTITION, "RowKey": entity["RowKey"], "Summary": fit(run),
                     "Sent": run["sent"], "Left": left, **({"State": state} if state else {})},
                    mode=UpdateMode.MERGE, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified,
                )
                return True
            except ResourceModifiedError:
                continue
            except ResourceNotFoundError:
                return False
        return False

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        query = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION}, results_per_page=limit)
        result: list[dict[str, Any]] = []
        for entity in query:
            try:
                run = json.loads(entity["Summary"])
            except (KeyError, ValueError):
                run = _from_row(entity)
            if not isinstance(run, dict):
                run = _from_row(entity)
            result.append(run)
            if len(result) >= limit:
                break
        return result

"""A record of every run (start, end, counts, errors) for the admin API to list."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.store.tables import Tables

PARTITION = "run"
_MAX_TEXT = 30000  # keep each row well inside Table Storage's 64 KiB string limit


def _newest_first(started: datetime) -> str:
    """Row keys sort ascending; an inverted timestamp lists the newest run first."""
    return f"{10**13 - int(started.timestamp() * 1000):013d}"


class RunStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["runs"]

    def record(self, summary: dict[str, Any]) -> None:
        started = datetime.fromisoformat(summary["startedAt"]) if summary.get("startedAt") else datetime.now(UTC)
        text = json.dumps(summary, sort_keys=True)
        if len(text) > _MAX_TEXT:
            trimmed = dict(summary, rejected=summary.get("rejected", [])[:50], errors=summary.get("errors", [])[:50])
            trimmed["truncated"] = True
            text = json.dumps(trimmed, sort_keys=True)[:_MAX_TEXT]
        self._table.upsert_entity(
            {
                "PartitionKey": PARTITION,
                "RowKey": _newest_first(started) + "-" + str(summary.get("runId", "")),
                "Status": summary.get("status", ""),
                "Summary": text,
            }
        )

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        query = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION}, results_per_page=limit)
        result: list[dict[str, Any]] = []
        for entity in query:
            try:
                result.append(json.loads(entity["Summary"]))
            except (KeyError, ValueError):
                continue
            if len(result) >= limit:
                break
        return result

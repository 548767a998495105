"""Long operations the console follows (Validate, a preview of the next run) as stored jobs.

An HTTP response must come within 230 seconds on Azure Functions; a Validate against a slow
tenant or a preview over a large catalog may not. The request stores a job and queues its id
on `learncal-jobs`; the `job_worker` queue trigger runs it and stores the result here, and
the console polls GET /api/jobs/{id}.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.queue.names import JOBS_QUEUE
from shared.store.runs import fit
from shared.store.tables import Tables

PARTITION = "job"
QUEUE = JOBS_QUEUE
JobKind = Literal["validate", "preview"]
JobState = Literal["queued", "running", "completed", "failed"]
KEEP = timedelta(days=7)  # a job's answer is for the page that asked; older ones are removed


def _iso(value: Any) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else None


class JobStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["jobs"]

    def create(self, kind: JobKind, *, by: str, job_input: dict[str, Any] | None = None) -> dict[str, Any]:
        job_id = uuid.uuid4().hex[:16]
        self._table.create_entity({
            "PartitionKey": PARTITION, "RowKey": job_id, "Kind": kind, "State": "queued", "CreatedBy": by[:256],
            "CreatedAt": datetime.now(UTC), "Input": json.dumps(job_input or {}),
        })
        self._forget_old()
        job = self.get(job_id)
        assert job is not None
        return job

    def _forget_old(self, limit: int = 100) -> None:
        """Remove jobs older than KEEP, a few at a time, as new ones are started."""
        cutoff = datetime.now(UTC) - KEEP
        old = self._table.query_entities("PartitionKey eq @pk and CreatedAt lt @cutoff",
                                         parameters={"pk": PARTITION, "cutoff": cutoff},
                                         select=["PartitionKey", "RowKey"], results_per_page=limit)
        for n, entity in enumerate(old):
            if n >= limit:
                break
            self._table.delete_entity(PARTITION, entity["RowKey"])  # already gone: the SDK ignores it

    def get(self, job_id: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(PARTITION, job_id)
        except ResourceNotFoundError:
            return None
        result = entity.get("Result")
        return {
            "jobId": entity["RowKey"],
            "kind": entity.get("Kind"),
            "state": entity.get("State"),
            "createdBy": entity.get("CreatedBy"),
            "createdAt": _iso(entity.get("CreatedAt")),
            "startedAt": _iso(entity.get("StartedAt")),
            "endedAt": _iso(entity.get("EndedAt")),
            "result": json.loads(result) if result else None,
            "error": entity.get("Error") or None,
        }

    def input_of(self, job_id: str) -> dict[str, Any]:
        raw = self._table.get_entity(PARTITION, job_id).get("Input") or "{}"
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}

    def _merge(self, job_id: str, **values: Any) -> None:
        from azure.data.tables import UpdateMode

        self._table.update_entity({"PartitionKey": PARTITION, "RowKey": job_id, **values}, mode=UpdateMode.MERGE)

    def start(self, job_id: str) -> None:
        self._merge(job_id, State="running", StartedAt=datetime.now(UTC))

    def finish(self, job_id: str, result: dict[str, Any]) -> None:
        self._merge(job_id, State="completed", EndedAt=datetime.now(UTC), Result=fit(result))

    def fail(self, job_id: str, message: str) -> None:
        self._merge(job_id, State="failed", EndedAt=datetime.now(UTC), Error=message[:4000])

"""Start a job (store it, queue its id) and run one (the `job_worker` queue trigger's work)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import Any

from shared.settings import Settings
from shared.store.jobs import QUEUE, JobKind, JobStore
from shared.store.tables import Tables

log = logging.getLogger("learncal.jobs")

_queue_ready: set[str] = set()
_queue_lock = threading.Lock()


def _queue(settings: Settings) -> Any:
    """The jobs queue; created on first use outside Azure (Azurite), where no deployment made it."""
    from azure.core.exceptions import ResourceExistsError

    from shared.queue.names import queue_name
    from shared.store.services import queue_client

    client = queue_client(settings, queue_name(settings.table_prefix, QUEUE))
    if not settings.queue_service_uri:
        with _queue_lock:
            if client.url not in _queue_ready:
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                _queue_ready.add(client.url)
    return client


def start_job(settings: Settings, tables: Tables, kind: JobKind, *, by: str,
              job_input: dict[str, Any] | None = None) -> dict[str, Any]:
    job = JobStore(tables).create(kind, by=by, job_input=job_input)
    _queue(settings).send_message(json.dumps({"jobId": job["jobId"]}))
    return job


def run_job(job_id: str, current: Any = None) -> None:
    """Run one queued job with the admin services and store its result; a failure is stored, not raised.

    Raising would make the host retry the job up to five times and then park it in the poison
    queue, while the console keeps waiting; a failed Validate or preview is an answer too.
    """
    from shared.admin.context import services
    from shared.admin.http import problem_for

    current = current or services()  # the local queue host may bring an installation's own
    store = JobStore(current.tables)
    job = store.get(job_id)
    if job is None:
        log.warning("job %s is not known (its record is gone); nothing to run", job_id)
        return
    if job["state"] in ("completed", "failed"):
        return  # a repeated message: the job already has its answer
    store.start(job_id)
    try:
        result = _run(job["kind"], store.input_of(job_id), current)
    except Exception as error:
        problem = problem_for(error)
        store.fail(job_id, problem.detail)
        log.warning("job %s (%s) failed: %s", job_id, job["kind"], problem.detail)
        return
    store.finish(job_id, result)


def _run(kind: str, job_input: dict[str, Any], current: Any) -> dict[str, Any]:
    if kind == "validate":
        from shared.provider.model import ValidateInput, parse
        from shared.validate.runner import target_for

        proposal = parse(ValidateInput, job_input) if job_input else None
        report: dict[str, Any] = current.validator.run(target_for(current.provider, proposal)).to_json()
        return report
    if kind == "preview":
        from shared.sync.service import SyncRequest

        summary = current.app.sync.sync(SyncRequest(dry_run=True, via="api"))
        preview: dict[str, Any] = summary.to_json()
        return preview
    raise ValueError(f"unknown job kind {kind!r}")


def run_job_message(body: bytes | str, current: Any = None) -> None:
    """The queue message {"jobId": id}, as the job_worker trigger receives it."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        job_id = json.loads(text)["jobId"]
    except (ValueError, KeyError, TypeError):
        log.error("a learncal-jobs message is not {\"jobId\": ...}; it is dropped")
        return
    run_job(str(job_id), current)

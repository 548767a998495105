"""Handlers of the routes the console reads and acts through: audit, offerings, jobs, the allowance.

Every answer is JSON (`json.dumps`): titles, names and addresses from the feed travel as
string data and are never interpreted here; the console renders them as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from shared.admin.auth import ADMIN_ROLE, READER_ROLE, SIGNED_IN, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, json_body, ok, query_value
from shared.admin.inputs import AllowanceInput, JobInput
from shared.admin.problem import Problem, invalid
from shared.provider.model import parse
from shared.store.audit import AuditStore, audit

MAX_AUDIT = 500


def _int_query(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = query_value(req, name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7) or not low <= int(raw) <= high:
        raise invalid([{"field": name, "message": f"must be a whole number from {low} to {high}"}])
    return int(raw)


def _offering_id(req: func.HttpRequest) -> str:
    # the host leaves an encoded slash encoded in route values; ids may contain one
    offering_id = (req.route_params.get("offeringId") or "").replace("%2F", "/").replace("%2f", "/").strip()
    if not offering_id or len(offering_id) > 256:
        raise invalid([{"field": "offeringId", "message": "must be an offering id of 1 to 256 characters"}])
    return offering_id


# -- GET /api/me ---------------------------------------------------------------------------

def _me(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    return ok({"name": principal.actor, "roles": sorted(principal.roles & {ADMIN_ROLE, READER_ROLE}),
               "canRead": principal.holds(READER_ROLE), "canChange": principal.holds(ADMIN_ROLE)})


def me(req: func.HttpRequest) -> func.HttpResponse:
    """Who the console is signed in as and what they may do (any signed-in caller, role or not)."""
    return dispatch(req, {"GET": _me}, role=SIGNED_IN)


# -- GET /api/audit ------------------------------------------------------------------------

def _audit(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    limit = _int_query(req, "limit", 50, 1, MAX_AUDIT)
    since_text = query_value(req, "since")
    since = None
    if since_text:
        try:
            since = datetime.fromisoformat(since_text.replace("Z", "+00:00"))
        except ValueError:
            raise invalid([{"field": "since", "message": "must be a date or time such as 2026-01-31 or "
                            "2026-01-31T08:00:00Z"}]) from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return ok({"value": AuditStore(services().tables).recent(limit, since)})


def audit_trail(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _audit}, role=READER_ROLE)


# -- GET /api/offerings, GET /api/offerings/{offeringId} -----------------------------------

def _offerings(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.catalog import Catalog

    search = query_value(req, "search") or ""
    if len(search) > 256:
        raise invalid([{"field": "search", "message": "must be at most 256 characters"}])
    page = _int_query(req, "page", 1, 1, 100000)
    return ok(Catalog(services().tables).page(search, page).to_json())


def offerings(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _offerings}, role=READER_ROLE)


def _offering(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.catalog import Catalog

    return ok(Catalog(services().tables).detail(_offering_id(req)))


def offering(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _offering}, role=READER_ROLE)


def reconcile_preview(req: func.HttpRequest) -> func.HttpResponse:
    """POST /api/offerings/{id}/reconcile?preview=true: what a reconcile would send; nothing marked."""
    from shared.admin.catalog import reconcile_preview as preview

    current = services()
    return ok(preview(current.provider.effective_settings(), current.tables, _offering_id(req)))


def wants_preview(req: func.HttpRequest) -> bool:
    value = (query_value(req, "preview") or "").strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise invalid([{"field": "preview", "message": "must be true or false"}])


# -- POST /api/jobs, GET /api/jobs/{jobId} -------------------------------------------------

def _start_job(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.jobs import start_job

    data: JobInput = parse(JobInput, json_body(req, required=True))
    if data.probe_mailbox and data.kind != "validate":
        raise invalid([{"field": "probeMailbox", "message": "is only used by kind validate"}])
    if data.probe_mailbox:  # checked now, so a mistyped address is named at once rather than in the job
        from shared.provider.model import ValidateInput

        parse(ValidateInput, {"probeMailbox": data.probe_mailbox})
    current = services()
    job = start_job(current.settings, current.tables, data.kind, by=principal.actor,
                    job_input={"probeMailbox": data.probe_mailbox} if data.probe_mailbox else None)
    return ok(job, 202, {"Location": f"/api/jobs/{job['jobId']}"})


def jobs(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _start_job})


def _job(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.store.jobs import JobStore

    job_id = (req.route_params.get("jobId") or "").strip()
    if not (job_id.isascii() and job_id.isalnum() and len(job_id) <= 64):
        raise invalid([{"field": "jobId", "message": "must be the id POST /api/jobs answered"}])
    job = JobStore(services().tables).get(job_id)
    if job is None:
        raise Problem(404, "unknown-job", f"No job {job_id} is known; start one with POST /api/jobs.",
                      title="Unknown job")
    return ok(job, headers={"Retry-After": "2"} if job["state"] in ("queued", "running") else None)


def job(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _job})


# -- POST /api/allowance -------------------------------------------------------------------

def _allowance(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.store.allowance import AllowanceStore

    data: AllowanceInput = parse(AllowanceInput, json_body(req, required=True))
    if not data.confirm:
        raise invalid([{"field": "confirm", "message": "must be true: confirm that these cancellations are "
                        "intended"}])
    current = services()
    given = AllowanceStore(current.tables).give(data.count, by=f"{principal.actor} with POST /api/allowance",
                                                via="api")
    audit(current.tables, principal.actor, "allowance.give", "mass-cancellation guard",
          {"count": data.count, "expiresAt": given.to_json()["expiresAt"]})
    body: dict[str, Any] = given.to_json()
    body["message"] = (f"The next run the mass-cancellation guard would stop may cancel up to {data.count} "
                       "invitations, once, within 24 hours.")
    return ok(body, 201)


def allowance(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _allowance})

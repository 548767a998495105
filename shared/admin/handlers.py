"""The admin API's handlers: parse, call one service, answer. The routes are declared in function_app.py."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.admin.auth import READER_ROLE, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, json_body, ok, query_value
from shared.admin.lease import run_in_progress
from shared.admin.problem import Problem, invalid
from shared.provider.model import ProviderInput, SyncInput, ValidateInput, parse
from shared.store.audit import audit

log = logging.getLogger("learncal.admin")

MAX_RUNS = 100


# -- /api/provider -------------------------------------------------------------------------

def _get_provider(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    return ok(services().provider.view())


def _put_provider(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.changes import record_provider_save

    data: ProviderInput = parse(ProviderInput, json_body(req, required=True))
    current = services()
    provider = current.provider
    actor = principal.actor
    before = provider.current()[0]
    result = provider.save(data, actor=actor)
    record_provider_save(current.tables, current.settings, actor, before, result.config,
                         secret_set=data.new_secret() is not None, via="api")
    log.info("The provider configuration was saved (status %s, organizer %s) by %s.", result.config.status,
             result.config.organizer, actor)
    return ok(provider.render(result.config, "stored", result.notices))


def provider(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _get_provider, "PUT": _put_provider})


# -- /api/provider/validate ----------------------------------------------------------------

def _validate(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.validate.runner import target_for

    body = json_body(req, required=False)
    proposal: ValidateInput | None = parse(ValidateInput, body) if body is not None else None
    current = services()
    report = current.validator.run(target_for(current.provider, proposal))
    return ok(report.to_json())


def provider_validate(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _validate})


# -- /api/offerings/{offeringId}/reconcile -------------------------------------------------

def _reconcile(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin import console_api

    if console_api.wants_preview(req):
        return console_api.reconcile_preview(req)
    # the host leaves an encoded slash encoded in route values; ids may contain one
    offering_id = (req.route_params.get("offeringId") or "").replace("%2F", "/").replace("%2f", "/").strip()
    if not offering_id or len(offering_id) > 256:
        raise invalid([{"field": "offeringId", "message": "must be an offering id of 1 to 256 characters"}])
    current = services()
    state = current.app.offerings.request_reconcile(offering_id)
    requested = state.reconcile_requested_at
    audit(current.tables, principal.actor, "offering.reconcile", state.offering_id,
          {"reconcileRequestedAt": requested.isoformat() if requested else None})
    return ok({
        "offeringId": state.offering_id,
        "reconcileRequestedAt": requested.isoformat() if requested else None,
        "message": f"Offering {state.offering_id} is marked; the next sync run sends every difference to its "
                   "attendees.",
    }, 202)


def offering_reconcile(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _reconcile})


# -- /api/sync -----------------------------------------------------------------------------

def _sync(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.bootstrap import report_run_records
    from shared.sync.service import SyncRequest

    body = json_body(req, required=False)
    data: SyncInput = parse(SyncInput, {} if body is None else body)
    current = services()
    organizer = current.provider.current()[0].organizer
    if not data.dry_run:
        busy = run_in_progress(current.tables, organizer)
        if busy:
            raise Problem(409, "run-in-progress", busy, title="A run is in progress")
    who = principal.actor
    log.info("A manual sync run was requested by %s (dry run: %s).", who, data.dry_run)
    if not data.dry_run:
        from shared.admin.changes import record_sync_request

        record_sync_request(current.tables, who, via="api", allowance=data.allow_mass_cancel)
    summary = current.app.sync.sync(SyncRequest(dry_run=data.dry_run, allow_mass_cancel=data.allow_mass_cancel,
                                                given_by=f"{who} with POST /api/sync", via="api"))
    report_run_records(current.app, summary)  # a manual run's problems alert like a scheduled run's
    if summary.status == "failed" and not data.dry_run:
        busy = run_in_progress(current.tables, summary.organizer or organizer)
        if busy:  # another run took the lease between our look and our start
            raise Problem(409, "run-in-progress", summary.message or busy, title="A run is in progress")
    return ok(summary.to_json())


def sync_now(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _sync})


# -- /api/runs -----------------------------------------------------------------------------

def _runs(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    raw = query_value(req, "limit")
    limit = 20
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_RUNS:
            raise invalid([{"field": "limit", "message": f"must be a whole number from 1 to {MAX_RUNS}"}])
        limit = int(raw)
    return ok({"value": services().app.runs.recent(limit)})


def runs(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _runs}, role=READER_ROLE)


# -- /api/openapi.json ---------------------------------------------------------------------

def _openapi(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.openapi import document

    return ok(document())


def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _openapi}, role=READER_ROLE)

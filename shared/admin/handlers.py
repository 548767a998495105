"""The admin API's handlers: parse, call one service, answer. The routes are declared in function_app.py."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from shared.admin.auth import READER_ROLE, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, json_body, ok, query_value
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
    log.info("The provider configuration was saved (status %s, organizers %s) by %s.", result.config.status,
             ", ".join(result.config.organizers), actor)
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
    from shared.sync.service import SyncRequest

    body = json_body(req, required=False)
    data: SyncInput = parse(SyncInput, {} if body is None else body)
    current = services()
    who = principal.actor
    if not data.dry_run:
        from shared.admin.changes import record_sync_request

        record_sync_request(current.tables, who, via="api", allowance=data.allow_mass_cancel)
    ticket = current.app.request_run(
        SyncRequest(dry_run=data.dry_run, allow_mass_cancel=data.allow_mass_cancel,
                    given_by=f"{who} with POST /api/sync", via="http"), started_by=who)
    log.info("A sync run was requested by %s (dry run: %s): run %s, %s%s.", who, data.dry_run, ticket.run_id,
             ticket.status, ", joined the run already waiting" if ticket.coalesced else "")
    location = f"/api/runs/{ticket.run_id}"
    if ticket.coalesced:
        message = (f"A run is already waiting to start; this request joined it. Follow it at {location}.")
    elif ticket.follow_up_of:
        message = (f"Run {ticket.follow_up_of} is in progress; this run starts when it ends. Follow it at "
                   f"{location}.")
    else:
        message = f"The run is queued. Follow it at {location}."
    return ok({**ticket.to_json(), "location": location, "message": message}, 202,
              headers={"Location": location, "Retry-After": "5"})


def sync_now(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _sync})


# -- /api/runs -----------------------------------------------------------------------------

def _runs(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.runs.overview import app_loads

    raw = query_value(req, "limit")
    limit = 20
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_RUNS:
            raise invalid([{"field": "limit", "message": f"must be a whole number from 1 to {MAX_RUNS}"}])
        limit = int(raw)
    current = services()
    app = current.app
    # the console charts each day's messages against what the organizer mailboxes may send (Exchange's limits)
    budget = {"perDay": current.settings.send_per_day, "perMinute": current.settings.send_per_minute,
              "organizers": max(1, len(current.settings.organizers or ()))}
    return ok({"value": app.runs.recent(limit), "waiting": app.requests.waiting(),
               "organizers": app_loads(app), "poisonedRequests": app.requests.queue.poisoned(), "budget": budget})


def runs(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _runs}, role=READER_ROLE)


# -- /api/runs/{runId} ---------------------------------------------------------------------

def _run(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    run_id = (req.route_params.get("runId") or "").strip()
    if not run_id or len(run_id) > 64 or not (run_id.isascii() and run_id.isalnum()):
        raise invalid([{"field": "runId", "message": "must be a run id as POST /api/sync returns it (letters and "
                                                     "digits, such as 3f9a0c1d2e4b)"}])
    found = services().app.runs.get(run_id)
    if found is None:
        raise Problem(404, "unknown-run", f"No run with id {run_id} is recorded here. GET /api/runs lists the "
                                          "recent runs and their ids.", title="Unknown run")
    return ok(found)


def run(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _run}, role=READER_ROLE)


# -- /api/queue ----------------------------------------------------------------------------

def _queue_filters(req: func.HttpRequest) -> tuple[str | None, str | None]:
    organizer = query_value(req, "organizer")
    offering = query_value(req, "offering")
    errors = []
    if organizer is not None and (not 3 <= len(organizer) <= 320 or "@" not in organizer):
        errors.append({"field": "organizer", "message": "must be an organizer mailbox address"})
    if offering is not None and not 1 <= len(offering) <= 256:
        errors.append({"field": "offering", "message": "must be an offering id of 1 to 256 characters"})
    if errors:
        raise invalid(errors)
    return organizer, offering


def _queue_settings() -> tuple[Any, Any]:
    from shared.bootstrap import effective_settings

    current = services()
    return effective_settings(current.settings, current.tables), current.tables


def _queue_show(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.queue.status import queue_status

    organizer, offering = _queue_filters(req)
    if offering is not None:
        raise invalid([{"field": "offering", "message": "is only accepted by DELETE; GET filters by organizer"}])
    settings, tables = _queue_settings()
    return ok(queue_status(settings, tables, organizer=organizer))


def _queue_clear(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.queue.status import clear_queue

    organizer, offering = _queue_filters(req)
    raw = query_value(req, "poison")
    if raw is not None and raw not in ("true", "false"):
        raise invalid([{"field": "poison", "message": "must be true or false"}])
    settings, tables = _queue_settings()
    result = clear_queue(settings, tables, organizer=organizer, offering=offering, poison=raw == "true")
    who = principal.actor
    audit(tables, who, "queue.clear", organizer or "all organizers",
          {"offering": offering, "removed": result["removed"], "poisonRemoved": result["poisonRemoved"]})
    log.warning("The send queue was cleared by %s: %d writes (organizer %s, offering %s), %d poison messages.", who,
                result["removed"], organizer or "any", offering or "any", result["poisonRemoved"])
    return ok({**result, "message": f"Removed {result['removed']} queued writes. The next run decides these "
                                    "offerings again from the feed; to stop a rollout for good, fix the feed or set "
                                    "the provider inactive."})


def queue(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _queue_show, "DELETE": _queue_clear})


# -- /api/openapi.json ---------------------------------------------------------------------

def _openapi(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.openapi import document

    return ok(document())


def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _openapi}, role=READER_ROLE)

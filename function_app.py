"""Azure Functions entry points: thin triggers over the services built in shared.bootstrap.

Imports of the service stack happen inside the functions, so a cold start loads only what
the first invocation needs.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("learncal")


@app.timer_trigger(schedule="%LEARNCAL_SYNC_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def hourly_sync(timer: func.TimerRequest) -> None:
    """The scheduled run (hourly by default); the same service as `learncal sync`."""
    from shared.bootstrap import build
    from shared.sync.service import SyncRequest

    if timer.past_due:
        log.warning("The sync timer is running late; this run catches up.")
    summary = build().sync.sync(SyncRequest())
    result = summary.to_json()
    result.pop("plan", None)
    log.info("sync run %s: %s", summary.status, json.dumps(result, ensure_ascii=False))


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and configuration completeness, without calling Graph or revealing settings."""
    from shared.health import health_report

    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    return func.HttpResponse(json.dumps(report), status_code=status, mimetype="application/json")

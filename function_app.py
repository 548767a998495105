"""Azure Functions entry points: thin triggers over the services built in shared.bootstrap.

Imports of the service stack happen inside the functions, so a cold start loads only what
the first invocation needs.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

# Admin routes are anonymous at the host: browsers cannot send function keys. shared.admin.auth
# admits only a caller signed in through App Service Authentication (or `learncal serve` locally)
# holding the route's app role, and refuses everyone else (fail closed).
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
log = logging.getLogger("learncal")

# Queue triggers read their queue's name from an app setting (`%NAME%`, resolved by the Functions host),
# which the Bicep sets from the table prefix, so every installation listens on the queues it sends to
# (shared/queue/names.py). The local queue host takes its consumers from shared/local/functions.py.


@app.timer_trigger(schedule="%LEARNCAL_SYNC_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def hourly_sync(timer: func.TimerRequest) -> None:
    """The scheduled run (hourly by default); the same service as `learncal sync`.

    Its log records (shared.monitoring) are what the alert rules in infra/modules/alerts.bicep select.
    """
    from shared.bootstrap import scheduled_run

    if timer.past_due:
        log.warning("The sync timer is running late; this run catches up.")
    scheduled_run()  # raises when the run failed, so the invocation is marked failed; coalesces while one runs


@app.queue_trigger(arg_name="msg", queue_name="%LEARNCAL_RUNS_QUEUE%", connection="AzureWebJobsStorage")
def run_worker(msg: func.QueueMessage) -> None:
    """Performs a requested run ({"runId"}: POST /api/sync, a new feed, `learncal sync --async`).

    While another run holds the planner lease the message comes back a minute later; the run in
    progress also starts it as soon as it ends. A run that fails is recorded failed, not retried.
    """
    from shared.runs.worker import handle

    handle(msg)


@app.blob_trigger(arg_name="blob", path="feeds/{name}", connection="LEARNCAL_FEED_STORAGE",
                  source=func.BlobSource.EVENT_GRID)
def feed_arrived(blob: func.InputStream) -> None:
    """A new feed in the drop starts a sync: records its arrival and requests a run (coalesced).

    The Event Grid source (the one Flex Consumption supports; azure-functions >= 1.21.1) delivers
    a blob-created event within seconds
    (https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger); the
    hourly timer stays as the safety net. Locally Azurite has no Event Grid, so
    shared/local/blob_events.py calls this function the way the platform would.
    """
    from shared.feed.arrival import on_feed_arrived

    on_feed_arrived(blob)


@app.queue_trigger(arg_name="msg", queue_name="%LEARNCAL_SEND_QUEUE%", connection="AzureWebJobsStorage")
def send_worker(msg: func.QueueMessage) -> None:
    """Send one organizer's queued work at the budget's pace; the message only names the organizer.

    host.json `extensions.queues` keeps one message per instance at a time (batchSize 1), so each
    organizer's work can run on its own instance; after five failed attempts the host moves the
    message to learncal-send-poison (`learncal queue show` reports it).
    """
    from shared.bootstrap import send_queued

    send_queued(msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count or 1)


@app.queue_trigger(arg_name="msg", queue_name="%LEARNCAL_WEBHOOKS_QUEUE%", connection="AzureWebJobsStorage")
def webhook_worker(msg: func.QueueMessage) -> None:
    """Post one response change to LEARNCAL_RESPONSE_WEBHOOK_URL, signed (shared/responses/webhook.py).

    Tries a few times with backoff, then raises so the host tries again later; after five
    attempts the host moves the change to learncal-webhooks-poison.
    """
    from shared.responses.webhook import deliver_message

    deliver_message(msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count or 1)


@app.timer_trigger(schedule="0 15 3 * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
def responses_retention(timer: func.TimerRequest) -> None:
    """Daily: remove attendees' responses kept LEARNCAL_RESPONSE_KEEP_DAYS past their invitation's end."""
    from shared.responses.retention import prune_expired

    prune_expired()


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and configuration completeness: status only (outside sign-in), details in the log."""
    from shared.health import health_report, public_health

    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    return func.HttpResponse(json.dumps(public_health(report)), status_code=status, mimetype="application/json")


# -- admin API (shared/admin): a signed-in caller with LearningCalendar.Admin (or, for the read routes,
# -- LearningCalendar.Reader); see shared/admin/auth.py. Each handler answers problem+json on errors.

@app.route(route="provider", methods=["GET", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
def provider(req: func.HttpRequest) -> func.HttpResponse:
    """Read the provider configuration (secret masked) or save it (secret to Key Vault)."""
    from shared.admin import handlers

    return handlers.provider(req)


@app.route(route="provider/validate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def provider_validate(req: func.HttpRequest) -> func.HttpResponse:
    """Check the configuration, or proposed values, against the tenant: pass, warn or fail with the fix."""
    from shared.admin import handlers

    return handlers.provider_validate(req)


@app.route(route="offerings/{offeringId}/reconcile", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def offering_reconcile(req: func.HttpRequest) -> func.HttpResponse:
    """Mark an offering so the next run pushes every difference (404 for an offering never seen)."""
    from shared.admin import handlers

    return handlers.offering_reconcile(req)


@app.route(route="sync", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def sync_now(req: func.HttpRequest) -> func.HttpResponse:
    """Request a run: 202 with its id at once (a follow-up run when one is in progress), performed by run_worker."""
    from shared.admin import handlers

    return handlers.sync_now(req)


@app.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def runs(req: func.HttpRequest) -> func.HttpResponse:
    """Recent run summaries, newest first."""
    from shared.admin import handlers

    return handlers.runs(req)


@app.route(route="runs/{runId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def run(req: func.HttpRequest) -> func.HttpResponse:
    """One run's state and progress (planned, sent, deferred, left) and its outcome; 404 for an unknown id."""
    from shared.admin import handlers

    return handlers.run(req)


@app.route(route="feed", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
def feed(req: func.HttpRequest) -> func.HttpResponse:
    """Store a feed (JSON or CSV body) in the drop after the checks a run would make; a new feed starts a run."""
    from shared.admin import feeds

    return feeds.feed(req)


@app.route(route="feeds", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def feeds(req: func.HttpRequest) -> func.HttpResponse:
    """The feeds received in the drop, newest first: used, skipped or rejected, and why."""
    from shared.admin import feeds

    return feeds.feeds(req)


@app.route(route="queue", methods=["GET", "DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
def queue(req: func.HttpRequest) -> func.HttpResponse:
    """The send queue per organizer (queued, parked, budget, expected end, poison); DELETE stops queued work."""
    from shared.admin import handlers

    return handlers.queue(req)


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 description of the admin API."""
    from shared.admin import handlers

    return handlers.openapi(req)


# -- what the console reads and does beyond the routes above (shared/admin/console_api.py) ----------

@app.route(route="me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def me(req: func.HttpRequest) -> func.HttpResponse:
    """Who is signed in and what they may do, so the console can show only what applies (any signed-in caller)."""
    from shared.admin import console_api

    return console_api.me(req)


@app.route(route="audit", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def audit_trail(req: func.HttpRequest) -> func.HttpResponse:
    """Who changed what and when, newest first (Reader)."""
    from shared.admin import console_api

    return console_api.audit_trail(req)


@app.route(route="offerings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def offerings(req: func.HttpRequest) -> func.HttpResponse:
    """A page of the offerings runs have seen, searchable by id or title (Reader)."""
    from shared.admin import console_api

    return console_api.offerings(req)


@app.route(route="offerings/{offeringId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def offering(req: func.HttpRequest) -> func.HttpResponse:
    """One offering's sessions and who holds which meeting (the mapping, read only; Reader)."""
    from shared.admin import console_api

    return console_api.offering(req)


@app.route(route="jobs", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def jobs(req: func.HttpRequest) -> func.HttpResponse:
    """Start a Validate or a preview of the next run as a job; 202 with its Location."""
    from shared.admin import console_api

    return console_api.jobs(req)


@app.route(route="jobs/{jobId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def job(req: func.HttpRequest) -> func.HttpResponse:
    """A job's state and, once done, its result."""
    from shared.admin import console_api

    return console_api.job(req)


@app.route(route="allowance", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def allowance(req: func.HttpRequest) -> func.HttpResponse:
    """Give the one-shot mass-cancellation allowance (confirmed), recorded in the audit trail."""
    from shared.admin import console_api

    return console_api.allowance(req)


@app.route(route="templates", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def templates(req: func.HttpRequest) -> func.HttpResponse:
    """The invitation templates in force per role and language: built-in or the newest stored version (Reader)."""
    from shared.admin import templates

    return templates.templates(req)


@app.route(route="templates/preview", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def template_preview(req: func.HttpRequest) -> func.HttpResponse:
    """A template rendered for a real offering of the feed in force, with its problems; nothing saved (Reader)."""
    from shared.admin import templates

    return templates.template_preview(req)


@app.route(route="templates/{role}/{language}", methods=["GET", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
def template(req: func.HttpRequest) -> func.HttpResponse:
    """One template and its versions (Reader); PUT saves a new version after the checks (Admin, audited)."""
    from shared.admin import templates

    return templates.template(req)


@app.route(route="rollout", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def rollout(req: func.HttpRequest) -> func.HttpResponse:
    """Count the updates that bring sent invitations to the content in force; unless a dry run, mark and run them."""
    from shared.admin import rollout

    return rollout.rollout(req)


@app.route(route="responses", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def responses(req: func.HttpRequest) -> func.HttpResponse:
    """Attendees' answers (accepted, tentative, declined, none), filtered and paged (Reader)."""
    from shared.admin import responses as answers

    return answers.responses(req)


@app.route(route="responses/counts", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def response_counts(req: func.HttpRequest) -> func.HttpResponse:
    """How many attendees of an offering (or one session) had each answer over time (Reader)."""
    from shared.admin import responses as answers

    return answers.response_counts(req)


@app.queue_trigger(arg_name="message", queue_name="%LEARNCAL_JOBS_QUEUE%", connection="AzureWebJobsStorage")
def job_worker(message: func.QueueMessage) -> None:
    """Run one job POST /api/jobs queued; its result (or failure) is stored for GET /api/jobs/{id}."""
    from shared.admin.jobs import run_job_message

    run_job_message(message.get_body())


@app.route(route="console/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console(req: func.HttpRequest) -> func.HttpResponse:
    """The admin console's static pages; sign-in (App Service Authentication) guards the API they call."""
    from shared.console.assets import console_response

    return console_response(req)


# -- response collection (shared/responses): Graph change notifications, the upkeep timer, the reading worker.

@app.route(route="notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def graph_notifications(req: func.HttpRequest) -> func.HttpResponse:
    """Graph's change notifications: the validation handshake, else 202 at once (clientState checked);
    the reading happens on the learncal-responses queue. Excluded from sign-in (Graph sends no token)."""
    from shared.responses.notifications import answer

    result = answer(req.method, dict(req.params), req.get_body(), lifecycle=False)
    return func.HttpResponse(result.body, status_code=result.status, mimetype=result.mimetype)


@app.route(route="notifications/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def graph_lifecycle_notifications(req: func.HttpRequest) -> func.HttpResponse:
    """Graph's lifecycle notifications: reauthorizationRequired renews, subscriptionRemoved recreates,
    missed reads the organizer's delta (each on the learncal-responses queue)."""
    from shared.responses.notifications import answer

    result = answer(req.method, dict(req.params), req.get_body(), lifecycle=True)
    return func.HttpResponse(result.body, status_code=result.status, mimetype=result.mimetype)


@app.timer_trigger(schedule="0 */30 * * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
def responses_upkeep(timer: func.TimerRequest) -> None:
    """Every 30 minutes: subscriptions created, renewed (a day before expiry) or deleted, and each
    organizer's calendar delta read as the safety net. With collection off: subscriptions deleted."""
    from shared.responses.runner import run_upkeep

    run_upkeep()


@app.queue_trigger(arg_name="msg", queue_name="%LEARNCAL_RESPONSES_QUEUE%", connection="AzureWebJobsStorage")
def responses_worker(msg: func.QueueMessage) -> None:
    """Reads an organizer's changed events after a notification (coalesced), or renews / recreates its
    subscription after a lifecycle notification."""
    from shared.responses.runner import handle_task

    handle_task(msg.get_body().decode("utf-8"))

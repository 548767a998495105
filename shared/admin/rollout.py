"""The handler of POST /api/rollout: count the updates, then (unless a dry run) mark and run them."""

from __future__ import annotations

import azure.functions as func

from shared.admin.auth import Principal
from shared.admin.context import services
from shared.admin.http import dispatch, json_body, ok
from shared.admin.inputs import RolloutInput
from shared.admin.problem import Problem
from shared.errors import ConfigurationError, FeedUnreadable, NoFeedYet
from shared.provider.model import parse


def not_ready(error: Exception) -> Problem:
    """What the service lacks to count or render (no feed, no organizer, inactive): the detail says what to set."""
    return Problem(409, "not-ready", str(error), title="The service cannot do this yet")


# -- POST /api/rollout -------------------------------------------------------------------------

def _rollout(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.sync.rollout import rollout as roll_out

    body = json_body(req, required=False)
    data: RolloutInput = parse(RolloutInput, {} if body is None else body)
    current = services()
    app = current.app
    actor = principal.actor
    try:
        result = roll_out(app, dry_run=data.dry_run, actor=actor, via="api",
                          start=lambda request: app.request_run(request, started_by=actor).run_id)
    except (ConfigurationError, FeedUnreadable, NoFeedYet) as error:
        raise not_ready(error) from None
    answer = result.to_json()
    if result.run_id is None:
        return ok(answer)
    location = f"/api/runs/{result.run_id}"
    return ok({**answer, "location": location}, 202, headers={"Location": location, "Retry-After": "5"})


def rollout(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _rollout})

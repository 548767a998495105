"""Request and response plumbing shared by the admin handlers: JSON bodies, query values, dispatch.

`dispatch` is the one place that turns the product's errors into problem documents, so every
route answers the same way and no handler can forget to hide an unexpected error's text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

import azure.functions as func

from shared.admin.auth import ADMIN_ROLE, Principal, authorize, check_csrf
from shared.admin.problem import Problem, invalid

log = logging.getLogger("learncal.admin")

Handler = Callable[[func.HttpRequest, Principal], func.HttpResponse]
MAX_BODY = 256 * 1024


def ok(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    """A JSON answer. Text from the feed stays data: JSON strings, served as application/json, never markup."""
    return func.HttpResponse(json.dumps(body, ensure_ascii=False), status_code=status,
                             headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                      **(headers or {})},
                             mimetype="application/json", charset="utf-8")


def json_body(req: func.HttpRequest, *, required: bool) -> Any:
    """The parsed JSON body; None when it is empty and optional."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY:
        raise Problem(400, "body-too-large", f"The body is larger than {MAX_BODY // 1024} KiB.")
    if not raw.strip():
        if required:
            raise invalid([{"field": "(body)", "message": "is required: send a JSON object"}])
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "malformed-json", "The body is not valid JSON (UTF-8).",
                      errors=[{"field": "(body)", "message": "is not valid JSON"}]) from None


def query_value(req: func.HttpRequest, name: str) -> str | None:
    """A query parameter (the host fills `params`; a directly built request only has the URL)."""
    if name in req.params:
        return req.params[name]
    values = parse_qs(urlparse(req.url).query).get(name)
    return values[0] if values else None


def dispatch(
    req: func.HttpRequest, handlers: Mapping[str, Handler], *, role: str = ADMIN_ROLE
) -> func.HttpResponse:
    """Authorize (fail closed: `role`, Admin unless a read route says Reader), refuse cross-site writes, then route."""
    instance = urlparse(req.url).path or None
    try:
        principal = authorize(req, role)
        check_csrf(req)
        handler = handlers.get(req.method.upper())
        if handler is None:
            raise Problem(405, "method-not-allowed", f"{req.method.upper()} is not supported here.",
                          headers={"Allow": ", ".join(handlers)})
        return handler(req, principal)
    except Exception as error:
        return problem_for(error).response(instance)


def problem_for(error: Exception) -> Problem:
    """The problem document for an error; unexpected ones are logged and described only by kind."""
    from shared.errors import (
        ConfigurationError,
        DependencyUnreachable,
        GraphError,
        LearncalError,
        RunInProgress,
        SignInFailed,
        UnknownOffering,
    )
    from shared.provider.errors import AllowlistRemovalUnconfirmed, InvalidInput, OrganizerChangeUnconfirmed
    from shared.secrets import SecretUnavailable

    if isinstance(error, Problem):
        return error
    if isinstance(error, InvalidInput):
        return invalid(error.errors)
    if isinstance(error, OrganizerChangeUnconfirmed):
        return Problem(409, "organizer-change-unconfirmed", str(error), title="Organizer change not confirmed",
                       errors=[{"field": error.field, "message": "must be true to change the organizer while "
                                "invitations from another organizer are open"}])
    if isinstance(error, AllowlistRemovalUnconfirmed):
        return Problem(409, "allowlist-removal-unconfirmed", str(error), title="Allow-list removal not confirmed",
                       errors=[{"field": error.field, "message": "must be true to remove the stored recipient "
                                "allow-list"}])
    if isinstance(error, UnknownOffering):
        return Problem(404, "unknown-offering", str(error), title="Unknown offering")
    if isinstance(error, RunInProgress):
        return Problem(409, "run-in-progress", str(error), title="A run is in progress")
    if isinstance(error, DependencyUnreachable):
        return Problem(503, "dependency-unreachable", str(error), title=f"{error.what} could not be reached")
    if isinstance(error, SecretUnavailable):
        return Problem(502, "key-vault", str(error), title="Key Vault refused the request")
    if isinstance(error, (SignInFailed, GraphError)):
        return Problem(502, "microsoft-365", str(error), title="Microsoft 365 refused the request")
    if isinstance(error, ConfigurationError):
        return Problem(500, "configuration", str(error), title="The service is not fully configured")
    if isinstance(error, LearncalError):
        return Problem(500, "error", str(error))
    log.error("admin request failed unexpectedly: %s", type(error).__name__, exc_info=error)
    return Problem(500, "internal", f"The request failed unexpectedly ({type(error).__name__}). See the logs.")

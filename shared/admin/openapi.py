"""The OpenAPI 3.1 description of the admin API, served at GET /api/openapi.json.

Request schemas come from the same pydantic models that validate the requests, so the
document cannot drift from what the handlers accept. Response schemas are written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from shared import __version__
from shared.admin.auth import ADMIN_ROLE
from shared.provider.model import ProviderInput, SyncInput, ValidateInput

JSON = "application/json"
PROBLEM = "application/problem+json"


def _model_schema(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    return _without_titles(schema)


def _without_titles(value: Any) -> Any:
    """Pydantic's generated titles ("Tenantid") add nothing to the descriptions; drop them."""
    if isinstance(value, dict):
        return {k: _without_titles(v) for k, v in value.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(value, list):
        return [_without_titles(v) for v in value]
    return value


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(name)}}}


def _problem(description: str, name: str = "Problem") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref(name)}}}


NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

RESPONSE_SCHEMAS: dict[str, Any] = {
    "Alert": {
        "type": "object", "required": ["code", "name"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
    },
    "Provider": {
        "type": "object",
        "description": "The provider configuration in force. The client secret is never returned, only whether "
                       "it is set (********), where it lives and when it last changed.",
        "required": ["source", "status", "tenantId", "clientId", "organizer", "authMode", "recipientAllowlist",
                     "allowlistsInForce", "effectiveAllowlist",
                     "clientSecret", "clientSecretSource", "clientSecretUpdatedAt", "alertsToSwitchOff"],
        "properties": {
            "source": {"enum": ["stored", "environment"],
                       "description": "environment until a configuration is saved"},
            "status": {"enum": ["active", "inactive"]},
            "tenantId": NULLABLE_STRING,
            "clientId": NULLABLE_STRING,
            "organizer": {"type": ["string", "null"], "description": "the organizer pool's first mailbox"},
            "organizers": {"type": "array", "items": {"type": "string"},
                           "description": "the organizer pool; each offering's invitations come from one of them"},
            "authMode": {"enum": ["secret", "federated"]},
            "recipientAllowlist": {"type": "array", "items": {"type": "string"},
                                   "description": "the stored allow-list (what PUT sets)"},
            "allowlistsInForce": {
                "type": "array", "description": "every allow-list in force and where it came from; a person is "
                "invited only if each admits them (none: everyone is invited)",
                "items": {"type": "object", "required": ["source", "entries"], "properties": {
                    "source": {"enum": ["environment", "stored"]}, "setting": {"type": "string"},
                    "entries": {"type": "array", "items": {"type": "string"}}}},
            },
            "effectiveAllowlist": {"type": "array", "items": {"type": "string"},
                                   "description": "what runs apply: the entries every list admits (empty: everyone)"},
            "allowlistProblem": {"type": "string", "description": "set when the lists in force admit nobody"},
            "clientSecret": {"enum": ["********", None], "description": "a mask when a secret is set"},
            "clientSecretSource": {"enum": ["keyVault", "environment", "none", "notUsed"]},
            "clientSecretUpdatedAt": NULLABLE_TIME,
            "clientSecretProblem": {"type": "string", "description": "why the secret could not be read"},
            "updatedAt": NULLABLE_TIME,
            "updatedBy": NULLABLE_STRING,
            "alertsToSwitchOff": {
                "type": "array", "items": _ref("Alert"),
                "description": "learning-system alerts this provider replaces while active (none while inactive)",
            },
            "notices": {"type": "array", "items": {"type": "string"},
                        "description": "after a save: what the change means"},
        },
    },
    "Check": {
        "type": "object", "required": ["name", "status", "detail", "fix"],
        "properties": {
            "name": {"type": "string"},
            "status": {"enum": ["pass", "warn", "fail"]},
            "detail": {"type": "string"},
            "fix": NULLABLE_STRING,
            "mailbox": {"type": "string", "description": "the organizer-pool mailbox this check is about "
                        "(organizer-mailbox and calendar-write: one check per mailbox)"},
        },
    },
    "ValidateReport": {
        "type": "object", "required": ["checks"],
        "properties": {"checks": {"type": "array", "items": _ref("Check")}},
    },
    "ReconcileAccepted": {
        "type": "object", "required": ["offeringId", "reconcileRequestedAt", "message"],
        "properties": {"offeringId": {"type": "string"}, "reconcileRequestedAt": NULLABLE_TIME,
                       "message": {"type": "string"}},
    },
    "RunSummary": {
        "type": "object",
        "required": ["runId", "status", "created", "updated", "cancelled", "unchanged", "deferred", "rejected"],
        "properties": {
            "runId": {"type": "string"},
            "status": {"enum": ["completed", "skipped", "failed"]},
            "startedAt": NULLABLE_TIME,
            "endedAt": NULLABLE_TIME,
            "dryRun": {"type": "boolean"},
            "organizer": NULLABLE_STRING,
            "organizers": {"type": "array", "items": {"type": "string"}, "description": "the organizer pool in force"},
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "cancelled": {"type": "integer"},
            "recreated": {"type": "integer", "description": "meetings deleted by hand in the organizer's "
                                                            "calendar and sent again"},
            "recreatedTags": {"type": "array", "items": {"type": "string"}},
            "unchanged": {"type": "integer"},
            "deferred": {"type": "integer"},
            "rejected": {"type": "array", "items": {
                "type": "object", "properties": {"path": {"type": "string"}, "reason": {"type": "string"}}}},
            "errors": {"type": "array", "items": {"type": "object"}},
            "message": NULLABLE_STRING,
            "skipped": NULLABLE_STRING,
            "stopped": {"type": ["string", "null"],
                        "description": "why the run stopped starting work early (its lease could not be renewed)"},
            "warnings": {
                "type": "array", "description": "what an administrator should know although nothing failed",
                "items": {"type": "object", "required": ["kind", "message"], "properties": {
                    "kind": {"enum": ["organizer-repinned"]}, "message": {"type": "string"},
                    "offeringId": {"type": "string"}, "from": {"type": "string",
                                                              "description": "the mailbox that left the pool"},
                    "to": {"type": "string", "description": "the mailbox new invitations come from now"}}},
            },
            "massCancelAllowance": {
                "type": ["object", "null"],
                "description": "the one-shot allowance this run used to pass the mass-cancellation guard",
                "properties": {"count": {"type": "integer"}, "used": {"type": "integer"},
                               "givenBy": {"type": "string"}, "givenAt": {"type": "string", "format": "date-time"},
                               "expiresAt": {"type": "string", "format": "date-time"},
                               "via": {"enum": ["cli", "api", "environment"]}},
            },
        },
    },
    "RunList": {
        "type": "object", "required": ["value"],
        "properties": {"value": {"type": "array", "items": _ref("RunSummary")}},
    },
    "FieldError": {
        "type": "object", "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; validation problems add errors.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": _ref("FieldError")},
        },
    },
}

AUTH_RESPONSES = {
    "401": _problem("App Service Authentication is on and the caller is not signed in."),
    "403": _problem(f"The signed-in caller lacks the app role {ADMIN_ROLE}."),
}
FAILURE_RESPONSES = {
    "500": _problem("The service is not fully configured, or failed unexpectedly."),
    "502": _problem("Key Vault or Microsoft 365 refused a request the operation needed."),
}


def _operation(operation_id: str, summary: str, responses: dict[str, Any], *, body: str | None = None,
               body_required: bool = False, parameters: list[dict[str, Any]] | None = None,
               admin: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": dict(responses)}
    if admin:
        op["responses"].update(AUTH_RESPONSES)
    op["responses"].update(FAILURE_RESPONSES)
    if body:
        op["requestBody"] = {"required": body_required, "content": {JSON: {"schema": _ref(body)}}}
        op["responses"].setdefault("400", _problem("The body is not valid JSON."))
        op["responses"].setdefault("422", _problem("A field is not valid; errors names it."))
    if parameters:
        op["parameters"] = parameters
    return op


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "ProviderInput": _model_schema(ProviderInput),
        "ValidateInput": _model_schema(ValidateInput),
        "SyncInput": _model_schema(SyncInput),
        **RESPONSE_SCHEMAS,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Learning Calendar Sync admin API",
            "version": __version__,
            "description": "Configure the provider, validate it against the tenant, reconcile offerings, start runs "
                           "and read their summaries. Errors are application/problem+json (RFC 9457).",
        },
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {
            "/provider": {
                "get": _operation("getProvider", "The provider configuration in force (secret masked).",
                                  {"200": _json("Provider", "The configuration in force.")}),
                "put": _operation(
                    "putProvider", "Save the provider configuration (the secret goes to Key Vault).",
                    {"200": _json("Provider", "Saved; notices say what the change means."),
                     "409": _problem("A new organizer while invitations are open needs confirmOrganizerChange.")},
                    body="ProviderInput", body_required=True,
                ),
            },
            "/provider/validate": {
                "post": _operation(
                    "validateProvider", "Check the configuration (or proposed values) against the tenant.",
                    {"200": _json("ValidateReport", "One entry per check: pass, warn or fail, with the fix.")},
                    body="ValidateInput",
                ),
            },
            "/offerings/{offeringId}/reconcile": {
                "post": _operation(
                    "reconcileOffering", "Mark an offering so the next run pushes every difference.",
                    {"202": _json("ReconcileAccepted", "Marked; the next run applies it."),
                     "404": _problem("No feed applied so far contained this offering; nothing was marked."),
                     "422": _problem("The offering id is not valid.")},
                    parameters=[{"name": "offeringId", "in": "path", "required": True,
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 256}}],
                ),
            },
            "/sync": {
                "post": _operation(
                    "startSync", "Run one sync now, through the same service as the hourly timer.",
                    {"200": _json("RunSummary", "The run's summary (status completed, skipped or failed)."),
                     "409": _problem("A run is already in progress; no second run was started.")},
                    body="SyncInput",
                ),
            },
            "/runs": {
                "get": _operation(
                    "listRuns", "Recent run summaries, newest first.",
                    {"200": _json("RunList", "Recent runs."), "422": _problem("limit is out of range.")},
                    parameters=[{"name": "limit", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                ),
            },
            "/openapi.json": {
                "get": _operation("getOpenApi", "This document.",
                                  {"200": {"description": "The OpenAPI document.",
                                           "content": {JSON: {"schema": {"type": "object"}}}}}),
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                                "description": "The function app's master (admin) key; openapi.json takes any "
                                               "function key."},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }

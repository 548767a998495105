"""The OpenAPI 3.1 description of the admin API, served at GET /api/openapi.json.

Request schemas come from the same pydantic models that validate the requests, so the
document cannot drift from what the handlers accept. Response schemas are written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from shared import __version__
from shared.admin.auth import ADMIN_ROLE, READER_ROLE
from shared.admin.inputs import AllowanceInput, JobInput, PhrasesInput, PreviewInput, RolloutInput, TemplateInput
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

FEED_RECORD = {
    "type": "object",
    "description": "One feed received in the drop. status: received (arrived, not read by a run yet), used (a run "
                   "read it), skipped (a run passed over it: unreadable or incomplete, see reason), rejected (an "
                   "upload refused before it was stored).",
    "properties": {
        "container": {"type": "string"}, "name": {"type": "string"}, "size": {"type": ["integer", "null"]},
        "lastModified": NULLABLE_TIME, "sha256": NULLABLE_STRING, "format": {"enum": ["json", "csv", None]},
        "status": {"enum": ["received", "used", "skipped", "rejected"]}, "reason": NULLABLE_STRING,
        "runId": NULLABLE_STRING, "by": NULLABLE_STRING, "updatedAt": NULLABLE_TIME, "deletedAt": NULLABLE_TIME,
    },
}

RESPONSE_SCHEMAS: dict[str, Any] = {
    "FeedRecord": FEED_RECORD,
    "FeedList": {
        "type": "object", "required": ["value", "inForce"],
        "properties": {"value": {"type": "array", "items": {"$ref": "#/components/schemas/FeedRecord"}},
                       "inForce": {"anyOf": [{"$ref": "#/components/schemas/FeedRecord"}, {"type": "null"}]}},
    },
    "FeedStored": {
        "type": "object", "required": ["blob", "size", "sha256", "format", "preview", "stored"],
        "properties": {
            "blob": {"type": "string", "description": "<UTC timestamp>-<hash8>.<json|csv>"},
            "container": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
            "format": {"enum": ["json", "csv"]}, "lastModified": NULLABLE_TIME, "stored": {"type": "boolean"},
            "forced": {"type": "boolean"}, "allowance": {"type": ["object", "null"]},
            "refusal": {"type": ["object", "null"]}, "message": {"type": "string"},
            "preview": {
                "type": "object",
                "description": "What the next run would do with this feed against the current mapping.",
                "properties": {
                    "offerings": {"type": "integer"}, "created": {"type": "integer"}, "updated": {"type": "integer"},
                    "cancelled": {"type": "integer"}, "unchanged": {"type": "integer"},
                    "rejectedCount": {"type": "integer"}, "rejections": {"type": "array"},
                    "status": {"type": "string"}, "message": NULLABLE_STRING,
                    "massCancelGuard": {"type": ["object", "null"]},
                },
            },
        },
    },
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
            "defaultLanguage": {"type": "string", "description": "BCP 47 tag: the language of invitations whose "
                                "person and offering name none, and of languages without a template (en by default)"},
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
            "requestResponses": {"type": ["boolean", "null"], "description": "the stored response-collection "
                                 "switch; null: LEARNCAL_REQUEST_RESPONSES applies"},
            "requestResponsesInForce": {"type": "boolean", "description": "whether invitations ask for a response "
                                        "and responses are collected now"},
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
            "status": {"enum": ["queued", "running", "completed", "skipped", "failed"],
                       "description": "queued and running until the run ends"},
            "state": {"enum": ["queued", "planning", "sending", "completed", "failed", "skipped"],
                      "description": "where the run is: waiting to start, planning, sending its writes, or ended"},
            "planned": {"type": "integer", "description": "writes the run planned"},
            "sent": {"type": "integer", "description": "writes sent so far"},
            "left": {"type": "integer", "description": "writes still waiting to be sent"},
            "startedBy": {"type": "string", "description": "who asked for the run (a principal, or the trigger: "
                                                           "timer, feed:<blob name>)"},
            "via": {"enum": ["timer", "http", "feed", "cli", "console"]},
            "followUpOf": {"type": ["string", "null"],
                           "description": "the run that was planning when this one was asked for; this one started "
                                          "after it ended"},
            "requestedAt": NULLABLE_TIME,
            "requests": {"type": "integer", "description": "requests this run serves (later ones joined it while "
                                                           "it waited)"},
            "plan": {"type": "array", "items": {"type": "object"},
                     "description": "dry runs: what a real run would send (cut to the first items when very long, "
                                    "with planCount)"},
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
                               "via": {"enum": ["cli", "api", "http", "timer", "feed", "console",
                                                "environment"]}},
            },
        },
    },
    "RunTicket": {
        "type": "object", "required": ["runId", "status", "coalesced", "location"],
        "properties": {
            "runId": {"type": "string"},
            "status": {"enum": ["queued", "running"]},
            "coalesced": {"type": "boolean", "description": "true: the request joined a run already waiting to "
                                                            "start, whose id this is"},
            "followUpOf": {"type": ["string", "null"], "description": "the run in progress this one waits for"},
            "location": {"type": "string", "description": "where to follow the run (GET)"},
            "message": {"type": "string"},
        },
    },
    "OrganizerLoad": {
        "type": "object",
        "properties": {
            "organizer": {"type": "string"},
            "queued": {"type": "integer", "description": "writes waiting to be sent"},
            "parked": {"type": "integer", "description": "work set aside after repeated failures"},
            "sentLastMinute": {"type": "integer"},
            "sentLastDay": {"type": "integer"},
            "perMinute": {"type": "integer", "description": "the sending budget per minute"},
            "perDay": {"type": "integer", "description": "the sending budget per day"},
            "emptyInMinutes": {"type": "number"},
            "expectedEmptyAt": {**NULLABLE_TIME, "description": "when the waiting writes are expected to be sent "
                                                                "at the budget's pace (null: nothing waits)"},
            "nextSessionStart": NULLABLE_TIME,
            "oldestQueuedAt": NULLABLE_TIME,
        },
    },
    "RunList": {
        "type": "object", "required": ["value"],
        "properties": {"value": {"type": "array", "items": _ref("RunSummary")},
                       "waiting": {"type": ["string", "null"], "description": "the run waiting to start, if any"},
                       "organizers": {"type": "array", "items": _ref("OrganizerLoad")},
                       "poisonedRequests": {"type": "integer", "description": "run messages set aside after five "
                                                                              "failed attempts"},
                       "budget": {"type": "object", "description": "the sending budget of each organizer mailbox "
                                  "(LEARNCAL_SEND_PER_DAY recipients a rolling day, LEARNCAL_SEND_PER_MINUTE messages "
                                  "a minute)", "properties": {"perDay": {"type": "integer"},
                                                               "perMinute": {"type": "integer"},
                                                               "organizers": {"type": "integer"}}}},
    },
    "QueueOrganizer": {
        "type": "object",
        "required": ["organizer", "queued", "parked", "sentLastMinute", "sentLastDay", "perMinute", "perDay",
                     "emptyInMinutes", "expectedEmptyAt", "nextSessionStart", "lastSessionStart", "oldestQueuedAt"],
        "properties": {
            "organizer": {"type": "string"},
            "queued": {"type": "integer", "description": "writes waiting to be sent"},
            "parked": {"type": "integer", "description": "writes that failed five times; kept, not sent again until "
                                                         "a new plan replaces them or they are cleared"},
            "sentLastMinute": {"type": "integer"}, "sentLastDay": {"type": "integer"},
            "perMinute": {"type": "integer"}, "perDay": {"type": "integer"},
            "emptyInMinutes": {"type": "number", "description": "queued writes at the per-minute budget, held back "
                                                                "by the day's budget"},
            "expectedEmptyAt": NULLABLE_TIME, "nextSessionStart": NULLABLE_TIME, "lastSessionStart": NULLABLE_TIME,
            "oldestQueuedAt": NULLABLE_TIME,
        },
    },
    "QueueStatus": {
        "type": "object", "required": ["queue", "queued", "parked", "messages", "poison", "organizers"],
        "properties": {
            "queue": {"type": "string"}, "queued": {"type": "integer"}, "parked": {"type": "integer"},
            "messages": {"type": "integer", "description": "wake-up messages on the queue (visible or not)"},
            "poison": {"type": "object", "required": ["queue", "count", "messages"], "properties": {
                "queue": {"type": "string"}, "count": {"type": "integer"},
                "messages": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "insertedOn": NULLABLE_TIME, "dequeueCount": {"type": "integer"},
                    "organizer": NULLABLE_STRING, "runId": NULLABLE_STRING}}}}},
            "organizers": {"type": "array", "items": _ref("QueueOrganizer")},
        },
    },
    "QueueCleared": {
        "type": "object", "required": ["removed", "offerings", "poisonRemoved", "message"],
        "properties": {"removed": {"type": "integer"}, "offerings": {"type": "array", "items": {"type": "string"}},
                       "poisonRemoved": {"type": "integer"}, "message": {"type": "string"}},
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
    "401": _problem("The caller is not signed in (or sign-in is not set up for the app); detail says how to."),
    "403": _problem("The signed-in caller lacks the app role the operation needs (x-learncal-role), or a change "
                    "came without X-Learncal-Request: 1 and without a bearer token."),
}
CSRF_HEADER = {"name": "X-Learncal-Request", "in": "header", "required": False,
               "schema": {"type": "string", "enum": ["1"]},
               "description": "Required on every change made with the browser session's cookie (the console sends "
                              "it); not needed with Authorization: Bearer."}
FAILURE_RESPONSES = {
    "500": _problem("The service is not fully configured, or failed unexpectedly."),
    "502": _problem("Key Vault or Microsoft 365 refused a request the operation needed."),
}


def _operation(operation_id: str, summary: str, responses: dict[str, Any], *, body: str | None = None,
               body_required: bool = False, parameters: list[dict[str, Any]] | None = None,
               role: str = ADMIN_ROLE, write: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": dict(responses),
                          "x-learncal-role": role}
    op["responses"].update(AUTH_RESPONSES)
    if write:
        parameters = [*(parameters or []), CSRF_HEADER]
    op["responses"].update(FAILURE_RESPONSES)
    if body:
        op["requestBody"] = {"required": body_required, "content": {JSON: {"schema": _ref(body)}}}
        op["responses"].setdefault("400", _problem("The body is not valid JSON."))
        op["responses"].setdefault("422", _problem("A field is not valid; errors names it."))
    if parameters:
        op["parameters"] = parameters
    return op


OFFERING_ID = {"name": "offeringId", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 256}}
FROM_FEED = ("Titles, names and addresses come from the learning feed: they are plain JSON strings (which may "
             "contain any characters, markup included) for the client to show as text.")

CONSOLE_SCHEMAS: dict[str, Any] = {
    "Me": {
        "type": "object", "required": ["name", "roles", "canRead", "canChange"],
        "properties": {"name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
                       "canRead": {"type": "boolean"}, "canChange": {"type": "boolean"}},
    },
    "AuditEntry": {
        "type": "object", "required": ["at", "actor", "action", "target", "changes"],
        "properties": {
            "at": NULLABLE_TIME, "actor": {"type": "string", "description": "who: the signed-in name, an "
                                           "application id, or the CLI's LEARNCAL_ACTOR / Azure sign-in / OS user"},
            "action": {"enum": ["provider.save", "secret.set", "offering.reconcile", "sync.request", "allowance.give",
                                "feed.upload", "feed.upload.forced", "queue.clear", "template.set",
                                "rollout.start"]},
            "target": {"type": "string"},
            "changes": {"type": "object", "description": "what changed ({field: {from, to}}, or facts); a secret "
                                                        "only as \"set\" with its expiry"},
            "truncated": {"type": "boolean"},
        },
    },
    "AuditList": {"type": "object", "required": ["value"],
                  "properties": {"value": {"type": "array", "items": _ref("AuditEntry")}}},
    "OfferingSummary": {
        "type": "object", "description": FROM_FEED,
        "required": ["offeringId", "title", "sessions", "liveInvitations", "lastChange", "organizer"],
        "properties": {
            "offeringId": {"type": "string"}, "title": {"type": "string"},
            "sessions": {"type": "integer", "description": "sessions (activities) with invitations on record"},
            "liveInvitations": {"type": "integer"},
            "lastChange": NULLABLE_TIME, "lastSeen": NULLABLE_TIME, "reconcileRequestedAt": NULLABLE_TIME,
            "organizer": {"type": ["string", "null"], "description": "the mailbox the offering is pinned to"},
        },
    },
    "OfferingPage": {
        "type": "object", "required": ["value", "page", "pages", "total", "pageSize"],
        "properties": {"value": {"type": "array", "items": _ref("OfferingSummary")}, "page": {"type": "integer"},
                       "pages": {"type": "integer"}, "total": {"type": "integer"}, "pageSize": {"type": "integer"}},
    },
    "Invitation": {
        "type": "object", "required": ["address", "role", "state", "organizer", "eventId"],
        "properties": {"address": {"type": "string"}, "role": {"type": "string"}, "state": {"type": "string"},
                       "organizer": {"type": "string"},
                       "eventId": {"type": ["string", "null"], "description": "the Outlook event id, shortened"}},
    },
    "OfferingDetail": {
        "type": "object", "description": FROM_FEED,
        "required": ["offeringId", "title", "sessions"],
        "properties": {
            "offeringId": {"type": "string"}, "title": {"type": "string"}, "organizer": NULLABLE_STRING,
            "liveInvitations": {"type": "integer"}, "lastChange": NULLABLE_TIME, "lastSeen": NULLABLE_TIME,
            "reconcileRequestedAt": NULLABLE_TIME,
            "sessions": {"type": "array", "items": {
                "type": "object", "required": ["activityId", "invitations"],
                "properties": {"activityId": {"type": "string"}, "start": NULLABLE_TIME,
                               "invitations": {"type": "array", "items": _ref("Invitation")}}}},
        },
    },
    "ReconcilePreview": {
        "type": "object", "required": ["offeringId", "inFeed", "sends", "counts", "message"],
        "properties": {
            "offeringId": {"type": "string"}, "title": {"type": "string"}, "inFeed": {"type": "boolean"},
            "sends": {"type": "array", "items": {"type": "object"},
                      "description": "one entry per message a reconcile would send (action, activity, person)"},
            "counts": {"type": "object", "properties": {"create": {"type": "integer"}, "update": {"type": "integer"},
                                                        "cancel": {"type": "integer"}}},
            "unchanged": {"type": "integer"}, "message": {"type": "string"},
        },
    },
    "Job": {
        "type": "object", "required": ["jobId", "kind", "state"],
        "properties": {
            "jobId": {"type": "string"}, "kind": {"enum": ["validate", "preview"]},
            "state": {"enum": ["queued", "running", "completed", "failed"]},
            "createdBy": NULLABLE_STRING, "createdAt": NULLABLE_TIME, "startedAt": NULLABLE_TIME,
            "endedAt": NULLABLE_TIME,
            "result": {"type": ["object", "null"], "description": "validate: a ValidateReport; preview: a dry run's "
                                                                  "RunSummary with its plan"},
            "error": NULLABLE_STRING,
        },
    },
    "Allowance": {
        "type": "object", "required": ["count", "givenBy", "givenAt", "expiresAt", "via"],
        "properties": {"count": {"type": "integer"}, "givenBy": {"type": "string"},
                       "givenAt": {"type": "string", "format": "date-time"},
                       "expiresAt": {"type": "string", "format": "date-time"}, "via": {"type": "string"},
                       "message": {"type": "string"}},
    },
}

CONSOLE_PATHS: dict[str, Any] = {
    "/me": {"get": _operation(
        "getMe", "Who is signed in and what they may do (any signed-in caller, with or without a role).",
        {"200": _json("Me", "The caller.")}, role="signed-in")},
    "/audit": {"get": _operation(
        "listAudit", "Who changed what and when, newest first.",
        {"200": _json("AuditList", "Audit entries."), "422": _problem("limit or since is not valid.")},
        parameters=[{"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                    {"name": "since", "in": "query", "required": False,
                     "schema": {"type": "string", "format": "date-time"}}],
        role=READER_ROLE)},
    "/offerings": {"get": _operation(
        "listOfferings", "A page of the offerings runs have seen, by title; search matches id or title.",
        {"200": _json("OfferingPage", "One page."), "422": _problem("page or search is not valid.")},
        parameters=[{"name": "search", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": 256}},
                    {"name": "page", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "default": 1}}],
        role=READER_ROLE)},
    "/offerings/{offeringId}": {"get": _operation(
        "getOffering", "One offering's sessions and who holds which meeting (the mapping, read only).",
        {"200": _json("OfferingDetail", "The offering."), "404": _problem("No feed applied so far contained it."),
         "422": _problem("The offering id is not valid.")},
        parameters=[OFFERING_ID], role=READER_ROLE)},
    "/jobs": {"post": _operation(
        "startJob", "Start Validate or a preview of the next run as a job; follow it at the Location.",
        {"202": {**_json("Job", "Queued."), "headers": {"Location": {"schema": {"type": "string"}}}}},
        body="JobInput", body_required=True, write=True)},
    "/jobs/{jobId}": {"get": _operation(
        "getJob", "A job's state and, once it is done, its result.",
        {"200": _json("Job", "The job (Retry-After while it is queued or running)."),
         "404": _problem("No such job."), "422": _problem("The job id is not valid.")},
        parameters=[{"name": "jobId", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,64}$"}}])},
    "/allowance": {"post": _operation(
        "giveAllowance", "Give the one-shot mass-cancellation allowance (24 hours, used by the first run the guard "
        "would stop that cancels no more than count).",
        {"201": _json("Allowance", "Given; recorded in the audit trail.")},
        body="AllowanceInput", body_required=True, write=True)},
}


ROLE_PARAMETER = {"name": "role", "in": "path", "required": True,
                  "schema": {"enum": ["learner", "primaryInstructor", "instructor"]}}
LANGUAGE_PARAMETER = {"name": "language", "in": "path", "required": True,
                      "schema": {"type": "string", "minLength": 2, "maxLength": 35, "examples": ["en", "de", "fr-CH"]},
                      "description": "BCP 47 language tag (CLDR must know it)"}
TEMPLATE_PROBLEM = {
    "type": "object", "required": ["field", "message", "fix"],
    "properties": {"field": {"enum": ["subject", "body"]},
                   "line": {"type": ["integer", "null"], "description": "the template line (1 is the first)"},
                   "message": {"type": "string"}, "fix": {"type": "string"}},
}
TEMPLATE_VERSION_PROPERTIES: dict[str, Any] = {
    "role": {"type": "string"}, "language": {"type": "string"},
    "version": {"type": "integer", "description": "0: the built-in text; 1, 2, ...: stored versions"},
    "source": {"enum": ["builtin", "stored"]}, "updatedBy": NULLABLE_STRING, "updatedAt": NULLABLE_TIME,
}
TEMPLATE_VERSION_REQUIRED = ["role", "language", "version", "source", "updatedBy", "updatedAt"]
TEMPLATE_VERSION = {
    "type": "object", "required": ["role", "language", "version", "source", "updatedBy", "updatedAt"],
    "properties": {
        "role": {"type": "string"}, "language": {"type": "string"},
        "version": {"type": "integer", "description": "0: the built-in text; 1, 2, ...: stored versions"},
        "source": {"enum": ["builtin", "stored"]}, "updatedBy": NULLABLE_STRING, "updatedAt": NULLABLE_TIME,
    },
}
PHRASES_VERSION_REQUIRED = ["language", "version", "source", "updatedBy", "updatedAt"]
TEMPLATE_SCHEMAS: dict[str, Any] = {
    "TemplateProblem": TEMPLATE_PROBLEM,
    "TemplateVersion": TEMPLATE_VERSION,
    "TemplateList": {
        "type": "object", "required": ["value", "defaultLanguage", "version", "roles", "languages", "phrases"],
        "properties": {"value": {"type": "array", "items": _ref("TemplateVersion")},
                       "defaultLanguage": {"type": "string"},
                       "version": {"type": "string", "description": "the version of the whole set in force"},
                       "roles": {"type": "array", "items": {"type": "string"}},
                       "languages": {"type": "array", "items": {"type": "string"}},
                       "phrases": {"type": "array", "items": _ref("PhrasesVersion"),
                                   "description": "each language's phrases in force: built in or stored"}},
    },
    "PhrasesVersion": {
        "type": "object", "required": PHRASES_VERSION_REQUIRED,
        "properties": {key: TEMPLATE_VERSION_PROPERTIES[key] for key in PHRASES_VERSION_REQUIRED},
    },
    "Phrases": {
        "type": "object", "required": [*PHRASES_VERSION_REQUIRED, "phrases", "own", "keys", "placeholders", "versions"],
        "properties": {
            **{key: TEMPLATE_VERSION_PROPERTIES[key] for key in PHRASES_VERSION_REQUIRED},
            "phrases": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "every phrase in force in the language: key -> text"},
            "own": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "the organisation's own phrases of this version (the others are built in)"},
            "keys": {"type": "array", "items": {"type": "string"}, "description": "every phrase key"},
            "placeholders": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                             "description": "key -> the placeholders that phrase receives"},
            "versions": {"type": "array", "items": _ref("PhrasesVersion"),
                         "description": "every version, newest first, then the built-in phrases (0)"},
            "message": {"type": "string"},
        },
    },
    "PhraseProblem": {
        "type": "object", "required": ["field", "message", "fix"],
        "properties": {"field": {"type": "string", "description": "phrases.<key>, or phrases when none was given",
                                 "examples": ["phrases.cancel.withdrew"]},
                       "line": {"type": ["integer", "null"], "description": "the phrase's line (1 is the first)"},
                       "message": {"type": "string"}, "fix": {"type": "string"}},
    },
    "PhrasesRefused": {
        "type": "object", "required": ["type", "title", "status", "detail", "errors", "problems"],
        "properties": {**RESPONSE_SCHEMAS["Problem"]["properties"],
                       "errors": {"type": "array", "items": _ref("PhraseProblem")},
                       "problems": {"type": "array", "items": _ref("PhraseProblem")}},
    },
    "Template": {
        "type": "object", "required": [*TEMPLATE_VERSION_REQUIRED, "subject", "body"],
        "properties": {**TEMPLATE_VERSION_PROPERTIES, "subject": {"type": "string"}, "body": {"type": "string"},
                       "versions": {"type": "array", "items": _ref("TemplateVersion"),
                                    "description": "every version, newest first"},
                       "message": {"type": "string"}},
    },
    "TemplatePreview": {
        "type": "object", "required": ["subject", "body", "problems"],
        "properties": {"subject": NULLABLE_STRING,
                       "body": {"type": ["string", "null"], "description": "the rendered HTML body: show it in a "
                                "sandboxed frame (or as text), never in the page itself"},
                       "problems": {"type": "array", "items": _ref("TemplateProblem")},
                       "offeringId": NULLABLE_STRING, "offeringTitle": NULLABLE_STRING,
                       "person": NULLABLE_STRING, "activityId": NULLABLE_STRING},
    },
    "TemplateRefused": {
        "type": "object", "required": ["type", "title", "status", "detail", "errors", "problems"],
        "properties": {**RESPONSE_SCHEMAS["Problem"]["properties"],
                       "errors": {"type": "array", "items": _ref("TemplateProblem")},
                       "problems": {"type": "array", "items": _ref("TemplateProblem")}},
    },
    "Rollout": {
        "type": "object", "required": ["offerings", "updates", "runId"],
        "properties": {
            "offerings": {"type": "integer", "description": "offerings with at least one update"},
            "updates": {"type": "integer", "description": "update messages: one per invitation that would read "
                                                          "differently"},
            "runId": {"type": ["string", "null"], "description": "the run that sends them (null for a dry run or "
                                                                 "when nothing differs)"},
            "dryRun": {"type": "boolean"}, "invitations": {"type": "integer"}, "cancellations": {"type": "integer"},
            "templateVersion": NULLABLE_STRING, "message": {"type": "string"}, "location": {"type": "string"},
        },
    },
}
TEMPLATE_PATHS: dict[str, Any] = {
    "/templates": {"get": _operation(
        "listTemplates", "The invitation templates in force per role and language: built-in or the newest stored "
        "version.", {"200": _json("TemplateList", "Every template in force.")}, role=READER_ROLE)},
    "/templates/{role}/{language}": {
        "get": _operation(
            "getTemplate", "One template in force (or, with version, an earlier one) and its versions.",
            {"200": _json("Template", "The template."),
             "404": _problem("No template for this role and language, stored or built in."),
             "422": _problem("role, language or version is not valid.")},
            parameters=[ROLE_PARAMETER, LANGUAGE_PARAMETER,
                        {"name": "version", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 0}}], role=READER_ROLE),
        "put": _operation(
            "putTemplate", "Save a new version after the checks (placeholders, syntax, the links a role needs). "
            "Invitations already sent change only by a reconcile or a roll-out.",
            {"200": _json("Template", "Saved; version is the new version's number. Audited as template.set."),
             "422": _problem("Refused: problems (and errors) give each problem's field, line and fix; or role or "
                             "language is not valid.", "TemplateRefused")},
            body="TemplateInput", body_required=True, parameters=[ROLE_PARAMETER, LANGUAGE_PARAMETER], write=True),
    },
    "/templates/phrases/{language}": {
        # Served by the templates/{role}/{language} route with role "phrases": a concrete path, so
        # OpenAPI matches it before the templated one.
        "get": _operation(
            "getPhrases", "A language's phrases in force (the \"Online\" location, the cancellation comments): the "
            "newest stored version over the built-in ones, which keys are stored, their placeholders, the versions.",
            {"200": _json("Phrases", "The phrases."), "422": _problem("language is not valid.")},
            parameters=[LANGUAGE_PARAMETER], role=READER_ROLE),
        "put": _operation(
            "putPhrases", "Save a new version of a language's phrases after the checks (known key, one plain-text "
            "line, syntax, placeholders); keys left out keep their text, null goes back to the built-in text. "
            "Invitations already sent change only by a reconcile or a roll-out.",
            {"200": _json("Phrases", "Saved; version is the new version's number. Audited as template.set "
                          "(phrases/<language>)."),
             "422": _problem("Refused: problems (and errors) give each phrase's key (phrases.<key>), line and fix; or "
                             "language is not valid.", "PhrasesRefused")},
            body="PhrasesInput", body_required=True, parameters=[LANGUAGE_PARAMETER], write=True),
    },
    "/templates/preview": {"post": _operation(
        "previewTemplate", "Render a template (the one given, or the one in force) for a real offering of the feed "
        "in force; nothing saved. Problems come back with line and fix.",
        {"200": _json("TemplatePreview", "The rendered subject and body, or the problems."),
         "404": _problem("The offering is not in the feed in force.")},
        body="PreviewInput", body_required=True, role=READER_ROLE, write=True)},
    "/rollout": {"post": _operation(
        "startRollout", "Count the updates that bring invitations already sent to the content in force (templates, "
        "languages); unless dryRun, mark those offerings for reconcile and ask for a run, paced like any work.",
        {"200": _json("Rollout", "dryRun, or nothing differs: the counts; nothing marked or sent."),
         "202": {**_json("Rollout", "Marked and the run requested; Location: /api/runs/{runId}. Audited as "
                         "rollout.start."), "headers": {"Location": {"schema": {"type": "string"}}}}},
        body="RolloutInput", write=True)},
}

RESPONSE_KINDS = ["none", "accepted", "tentativelyAccepted", "declined"]

RESPONSES_SCHEMAS: dict[str, Any] = {
    "ResponseItem": {
        "type": "object", "required": ["offeringId", "activityId", "email", "role", "response", "respondedAt"],
        "description": "One attendee's latest answer to one invitation, as Outlook recorded it on the organizer's "
                       "calendar. none: not answered (yet).",
        "properties": {
            "offeringId": {"type": "string"}, "activityId": {"type": "string", "description": "the session"},
            "email": {"type": "string"}, "role": {"type": "string", "description": "learner, primaryInstructor or "
                                                                                  "instructor"},
            "response": {"enum": RESPONSE_KINDS},
            "respondedAt": {**NULLABLE_TIME, "description": "when the attendee answered (UTC); null for none"},
        },
    },
    "ResponsePage": {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": _ref("ResponseItem")},
                       "next": {**NULLABLE_STRING,
                                "description": "pass as `after` for the next page; null at the end"}},
    },
    "ResponseCounts": {
        "type": "object", "required": ["offeringId", "activityId", "points"],
        "properties": {
            "offeringId": {"type": "string"}, "activityId": NULLABLE_STRING,
            "points": {"type": "array", "description": "after each answer, oldest first: how many attendees had each "
                                                      "answer",
                       "items": {"type": "object", "required": ["at", *RESPONSE_KINDS],
                                 "properties": {"at": {"type": "string", "format": "date-time"},
                                                **{k: {"type": "integer"} for k in RESPONSE_KINDS}}}},
        },
    },
}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


RESPONSES_PATHS: dict[str, Any] = {
    "/responses": {"get": _operation(
        "listResponses", "Attendees' answers to their invitations, filtered and paged (offering, session, person "
        "order).",
        {"200": _json("ResponsePage", "One page; follow `next` for the rest."),
         "400": _problem("A filter is unknown or not valid; errors names it.")},
        parameters=[
            _query("offeringId", "only this offering", type="string", maxLength=256),
            _query("activityId", "only this session", type="string", maxLength=256),
            _query("email", "only this attendee", type="string", maxLength=320),
            _query("response", "only this answer", enum=RESPONSE_KINDS),
            _query("changedSince", "only answers this service recorded at or after this time (ISO 8601)",
                   type="string", format="date-time"),
            _query("limit", "items per page", type="integer", minimum=1, maximum=1000, default=100),
            _query("after", "the `next` of the previous page", type="string"),
        ],
        role=READER_ROLE)},
    "/responses/counts": {"get": _operation(
        "getResponseCounts", "How many attendees of an offering (or one of its sessions) had each answer, over time.",
        {"200": _json("ResponseCounts", "The counts after each answer."),
         "400": _problem("offeringId is missing or a filter is unknown.")},
        parameters=[{**_query("offeringId", "the offering", type="string", maxLength=256), "required": True},
                    _query("activityId", "only this session", type="string", maxLength=256)],
        role=READER_ROLE)},
}


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "ProviderInput": _model_schema(ProviderInput),
        "ValidateInput": _model_schema(ValidateInput),
        "SyncInput": _model_schema(SyncInput),
        "JobInput": _model_schema(JobInput),
        "AllowanceInput": _model_schema(AllowanceInput),
        "TemplateInput": _model_schema(TemplateInput),
        "PhrasesInput": _model_schema(PhrasesInput),
        "PreviewInput": _model_schema(PreviewInput),
        "RolloutInput": _model_schema(RolloutInput),
        **TEMPLATE_SCHEMAS,
        **RESPONSE_SCHEMAS,
        **CONSOLE_SCHEMAS,
        **RESPONSES_SCHEMAS,
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
        "security": [{"entraBearer": []}, {"appServiceSession": []}],
        "paths": {
            "/provider": {
                "get": _operation("getProvider", "The provider configuration in force (secret masked).",
                                  {"200": _json("Provider", "The configuration in force.")}),
                "put": _operation(
                    "putProvider", "Save the provider configuration (the secret goes to Key Vault).",
                    {"200": _json("Provider", "Saved; notices say what the change means."),
                     "409": _problem("A new organizer while invitations are open needs confirmOrganizerChange.")},
                    body="ProviderInput", body_required=True, write=True,
                ),
            },
            "/provider/validate": {
                "post": _operation(
                    "validateProvider", "Check the configuration (or proposed values) against the tenant.",
                    {"200": _json("ValidateReport", "One entry per check: pass, warn or fail, with the fix.")},
                    body="ValidateInput", write=True,
                ),
            },
            "/offerings/{offeringId}/reconcile": {
                "post": _operation(
                    "reconcileOffering", "Mark an offering so the next run pushes every difference (or, with "
                    "preview=true, only show what that would send).",
                    {"202": _json("ReconcileAccepted", "Marked; the next run applies it."),
                     "200": _json("ReconcilePreview", "preview=true: what a reconcile would send now; nothing "
                                  "marked or sent."),
                     "404": _problem("No feed applied so far contained this offering; nothing was marked."),
                     "422": _problem("The offering id is not valid.")},
                    parameters=[OFFERING_ID, {"name": "preview", "in": "query", "required": False,
                                              "schema": {"type": "boolean", "default": False}}],
                    write=True,
                ),
            },
            "/sync": {
                "post": _operation(
                    "startSync", "Ask for a run (performed by the run queue's worker, through the same service as "
                    "the hourly timer). While a run is planning, requests are coalesced into one follow-up run.",
                    {"202": {**_json("RunTicket", "Accepted: the run's id; Location: /api/runs/{runId}."),
                             "headers": {"Location": {"schema": {"type": "string"},
                                                      "description": "/api/runs/{runId}"}}}},
                    body="SyncInput", write=True,
                ),
            },
            "/runs": {
                "get": _operation(
                    "listRuns", "Recent run summaries, newest first.",
                    {"200": _json("RunList", "Recent runs."), "422": _problem("limit is out of range.")},
                    parameters=[{"name": "limit", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                    role=READER_ROLE,
                ),
            },
            "/runs/{runId}": {
                "get": _operation(
                    "getRun", "One run: its state, progress (planned, sent, deferred, left) and outcome; a dry "
                    "run's plan.",
                    {"200": _json("RunSummary", "The run as recorded now."),
                     "404": _problem("No run with this id is recorded."),
                     "422": _problem("runId is not a run id.")},
                    parameters=[{"name": "runId", "in": "path", "required": True,
                                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,64}$"}}],
                ),
            },
            "/feed": {
                "put": {
                    **_operation(
                        "putFeed", "Store a feed (JSON or CSV) in the feed drop, after the checks a run would make: "
                        "an unreadable feed is refused; one whose every item is rejected, or whose plan against "
                        "the current mapping trips the mass-cancellation guard, is refused unless force=true "
                        "(which gives the one-shot allowance for exactly the cancellations shown). A stored feed "
                        "starts a run within a minute.",
                        {"201": _json("FeedStored", "Stored: the blob's name and what the next run would do."),
                         "200": _json("FeedStored", "dryRun=true: the checks and preview; nothing stored."),
                         "409": _problem("The feed would trip the mass-cancellation guard (cancellations, preview), "
                                         "or the preview failed; force=true stores it anyway."),
                         "413": _problem("The feed is larger than one upload may be (32 MiB)."),
                         "422": _problem("The feed cannot be read, or every item was rejected (errors name them).")},
                        parameters=[
                            {"name": "force", "in": "query", "required": False, "schema": {"type": "boolean"}},
                            {"name": "dryRun", "in": "query", "required": False, "schema": {"type": "boolean"}},
                            {"name": "name", "in": "query", "required": False, "schema": {"type": "string"},
                             "description": "The uploaded file's name; its suffix (.json, .csv) names the format "
                                            "when the content type does not."},
                        ],
                    ),
                    "requestBody": {"required": True, "content": {
                        JSON: {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}}}},
                },
            },
            "/feeds": {
                "get": _operation(
                    "listFeeds", "The feeds received in the drop, newest first: used, skipped or rejected, why, "
                    "and which is in force.",
                    {"200": _json("FeedList", "Recent feeds."), "422": _problem("limit is out of range.")},
                    parameters=[{"name": "limit", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
                ),
            },
            "/queue": {
                "get": _operation(
                    "showQueue", "Queued and parked writes per organizer, the budget used, when the queue is "
                    "expected to be empty, and poison messages.",
                    {"200": _json("QueueStatus", "The send queue."), "422": _problem("A filter is not valid.")},
                    parameters=[{"name": "organizer", "in": "query", "required": False, "schema": {"type": "string"}}],
                ),
                "delete": _operation(
                    "clearQueue", "Remove queued writes (all, one organizer's or one offering's); the next run "
                    "decides those offerings again from the feed.",
                    {"200": _json("QueueCleared", "What was removed."), "422": _problem("A filter is not valid.")},
                    parameters=[
                        {"name": "organizer", "in": "query", "required": False, "schema": {"type": "string"}},
                        {"name": "offering", "in": "query", "required": False, "schema": {"type": "string"}},
                        {"name": "poison", "in": "query", "required": False,
                         "schema": {"type": "boolean", "default": False},
                         "description": "also empty the poison queue"},
                    ],
                ),
            },
            "/openapi.json": {
                "get": _operation("getOpenApi", "This document.",
                                  {"200": {"description": "The OpenAPI document.",
                                           "content": {JSON: {"schema": {"type": "object"}}}}}, role=READER_ROLE),
            },
            **CONSOLE_PATHS,
            **TEMPLATE_PATHS,
            **RESPONSES_PATHS,
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "entraBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                "description": "A Microsoft Entra access token for the sign-in app (api://<client id>) "
                                               "carrying the app role LearningCalendar.Admin or "
                                               "LearningCalendar.Reader; App Service Authentication validates it."},
                "appServiceSession": {"type": "apiKey", "in": "cookie", "name": "AppServiceAuthSession",
                                      "description": "The browser session App Service Authentication signs people "
                                                     "into (the console); changes also need X-Learncal-Request: 1."},
            },
        },
    }

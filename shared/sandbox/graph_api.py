"""The Microsoft Graph v1.0 subset the product uses: users, events, calendar.

`GraphService.handle` is the single path of every Graph request, top-level or inside a batch:
it authenticates the bearer token, counts the request, passes the gate (throttling, fault
plan) and only then runs the endpoint, so a sub-request is authorised and limited exactly
like a request of its own.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from shared.sandbox import events as ev
from shared.sandbox import odata
from shared.sandbox.core import Sandbox
from shared.sandbox.delta import CalendarDelta
from shared.sandbox.directory import App, User
from shared.sandbox.gate import fault_error
from shared.sandbox.graph_http import GraphError, GraphRequest, GraphResponse, access_denied
from shared.sandbox.tokens import TokenError, bearer, decode

log = logging.getLogger(__name__)

GRAPH_AUDIENCES = frozenset({"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"})
CALENDAR_READ = frozenset({"Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic.All"})
CALENDAR_WRITE = frozenset({"Calendars.ReadWrite"})
USER_READ = frozenset({"User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"})
MAX_PAGE = 1000
# What tenants answer today for a mailbox outside an application access policy.
ACCESS_POLICY_REFUSAL = ("Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy "
                         "settings.")
_SUBSCRIBABLE = re.compile(r"^/?users/([^/]+)/(?:calendar/)?events/?$", re.IGNORECASE)
ORDERS = {"start/datetime": "start", "end/datetime": "end", "createddatetime": "seq"}

_ROUTES = Map([
    Rule("/users", endpoint="users", methods=["GET"]),
    Rule("/users/<user_key>", endpoint="user", methods=["GET"]),
    Rule("/users/<user_key>/calendar", endpoint="calendar", methods=["GET"]),
    Rule("/users/<user_key>/events", endpoint="events", methods=["GET", "POST"]),
    Rule("/users/<user_key>/calendar/events", endpoint="events", methods=["GET", "POST"]),
    Rule("/users/<user_key>/events/<event_id>", endpoint="event", methods=["GET", "PATCH", "DELETE"]),
    Rule("/users/<user_key>/calendar/events/<event_id>", endpoint="event", methods=["GET", "PATCH", "DELETE"]),
    Rule("/users/<user_key>/events/<event_id>/cancel", endpoint="cancel", methods=["POST"]),
    # The SDK writes the function call with parentheses (`delta()`); Graph accepts both.
    Rule("/users/<user_key>/events/<event_id>/<any(accept, tentativelyAccept, decline):answer>", endpoint="answer",
         methods=["POST"]),
    Rule("/users/<user_key>/calendar/events/<event_id>/<any(accept, tentativelyAccept, decline):answer>",
         endpoint="answer", methods=["POST"]),
    Rule("/subscriptions", endpoint="subscriptions", methods=["GET", "POST"]),
    Rule("/subscriptions/<subscription_id>", endpoint="subscription", methods=["GET", "PATCH", "DELETE"]),
    Rule("/subscriptions/<subscription_id>/reauthorize", endpoint="reauthorize", methods=["POST"]),
    Rule("/users/<user_key>/calendarView/delta", endpoint="delta", methods=["GET"]),
    Rule("/users/<user_key>/calendarView/delta()", endpoint="delta", methods=["GET"]),
    Rule("/users/<user_key>/calendar/calendarView/delta", endpoint="delta", methods=["GET"]),
    Rule("/users/<user_key>/calendar/calendarView/delta()", endpoint="delta", methods=["GET"]),
], strict_slashes=False)


USER_SELECTABLE = frozenset(User("", "", "").graph_json(extended=True))


def _user_body(user: User, select: list[str] | None) -> dict[str, Any]:
    if select is None:
        return user.graph_json()
    body = user.graph_json(extended=True)
    return {key: body[key] for key in select}


def _user_matches(user: User, name: str, value: str) -> bool:
    """Directory string comparisons are case-insensitive."""
    wanted = value.lower()
    if name == "proxyAddresses":
        return wanted in {p.lower() for p in user.all_proxy_addresses()}
    found = user.graph_json()[name]
    return isinstance(found, str) and found.lower() == wanted


@dataclass(frozen=True)
class Principal:
    client_id: str
    roles: frozenset[str]
    app: App | None


@dataclass(frozen=True)
class Target:
    """What the URL addresses: the user segment as sent, the user it names (if any), an event id."""

    user_key: str
    user: User | None
    event_id: str = ""
    action: str = ""  # accept | tentativelyAccept | decline


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
                            'authorize", client_id="00000003-0000-0000-c000-000000000000"'})


class GraphService:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._endpoints: dict[str, Callable[[GraphRequest, Principal, Target], GraphResponse]] = {
            "users": self._users, "user": self._user, "calendar": self._calendar, "events": self._events,
            "event": self._event, "cancel": self._cancel, "delta": self._delta,
            "answer": self._answer, "subscriptions": self._subscriptions, "subscription": self._subscription,
            "reauthorize": self._reauthorize,
        }
        self._calendar_delta = CalendarDelta(sandbox.store, lambda: sandbox.realism)

    @property
    def sandbox(self) -> Sandbox:
        return self._sandbox

    def mailbox_key(self, request: GraphRequest) -> str:
        """The mailbox a request addresses (for a batch's per-mailbox parallelism); "" when none."""
        try:
            _endpoint, args = self._route(request)
        except GraphError:
            return ""
        user_key = str(args.get("user_key", ""))
        user = self._sandbox.directory.resolve(user_key, smtp=_endpoint != "user") if user_key else None
        return (user.address if user else user_key).lower()

    def handle(self, request: GraphRequest) -> GraphResponse:
        """Serve one Graph request; every Graph request and batch sub-request comes through here."""
        sandbox = self._sandbox
        try:
            principal = self._authenticate(request)
            endpoint, args = self._route(request)
            user_key = args.get("user_key", "")
            # /users/{id | UPN}; Outlook resources under it also take the primary SMTP address.
            user = sandbox.directory.resolve(user_key, smtp=endpoint != "user") if user_key else None
            target = Target(user_key, user, args.get("event_id", "") or args.get("subscription_id", ""),
                            args.get("answer", ""))
            with sandbox.gate.admit(principal.client_id, user.address if user else target.user_key):
                rule = sandbox.gate.fault_for(request.method, request.path)
                fault = None
                if rule is not None:
                    time.sleep(rule.latency)
                    fault = fault_error(rule)
                    if fault is not None and not rule.applied:
                        raise fault
                response = self._endpoints[endpoint](request, principal, target)
                if fault is not None:
                    raise fault  # served and committed, but the answer is lost
        except GraphError as error:
            response = error.response(request)
        except Exception:
            log.exception("Graph request %s %s failed", request.method, request.path)
            response = GraphError(500, "InternalServerError", "An internal server error occurred.").response(request)
        sandbox.stats.graph_request(request.method, response.status)
        response.headers.setdefault("request-id", request.request_id)
        response.headers.setdefault("client-request-id", request.headers.get("client-request-id") or request.request_id)
        return response

    def _authenticate(self, request: GraphRequest) -> Principal:
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            raise _unauthorized("Access token is empty.")
        identity = self._sandbox.directory.identity
        try:
            claims = decode(token, identity.signing_key)
        except TokenError as error:
            raise _unauthorized(str(error)) from None
        if claims.get("aud") not in GRAPH_AUDIENCES:
            raise _unauthorized("Access token validation failure. Invalid audience.")
        if str(claims.get("tid", "")).lower() != identity.tenant_id.lower():
            raise _unauthorized("Access token validation failure. Invalid issuer.")
        client_id = str(claims.get("appid", ""))
        return Principal(client_id, frozenset(claims.get("roles") or ()), self._sandbox.directory.app(client_id))

    def _route(self, request: GraphRequest) -> tuple[str, dict[str, Any]]:
        if request.path.lower().startswith("/me/") or request.path.lower() == "/me":
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        try:
            endpoint, args = _ROUTES.bind("graph", "/").match(request.path, method=request.method)
        except MethodNotAllowed:
            raise GraphError(405, "BadRequest", f"Unsupported request: {request.method} {request.path}.") from None
        except NotFound:
            segment = request.path.strip("/").split("/")[-1] or request.path
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.") from None
        return str(endpoint), dict(args)

    def _mailbox(self, principal: Principal, target: Target, *, write: bool) -> User:
        """The user whose mailbox an events request addresses, checked in Graph and Exchange's order.

        Exchange scoping (learn.microsoft.com/graph/auth-limit-mailbox-access and
        learn.microsoft.com/exchange/permissions-exo/application-rbac): an application access
        policy refuses other mailboxes with today's wording; under RBAC for Applications the
        token carries no Calendars role and Exchange decides per mailbox.
        """
        needed = CALENDAR_WRITE if write else CALENDAR_READ
        app = principal.app
        rbac = app is not None and app.scoping == "rbacForApplications" and not principal.roles & needed
        if not rbac and not principal.roles & needed:
            raise access_denied()
        user = target.user
        if user is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{target.user_key}' is invalid.")
        if rbac:
            assert app is not None
            if not set(app.roles) & needed or not app.reaches(user.address):
                # Microsoft's RBAC for Applications page documents no wording for an out-of-scope
                # mailbox; Exchange's generic refusal is the plausible answer.
                raise access_denied()
        elif app is not None and not app.reaches(user.address):
            raise GraphError(403, "ErrorAccessDenied", ACCESS_POLICY_REFUSAL)
        if not user.has_mailbox:
            raise GraphError(404, "MailboxNotEnabledForRESTAPI",
                             "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        return user

    @staticmethod
    def _can_write(principal: Principal, owner: User) -> bool:
        if principal.roles & CALENDAR_WRITE:
            return True
        app = principal.app
        return (app is not None and app.scoping == "rbacForApplications" and bool(set(app.roles) & CALENDAR_WRITE)
                and app.reaches(owner.address))

    def _users(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """`GET /users[?$filter=…][&$top=N]`: Validate finds an organizer by address or alias, and a mailbox
        outside the app's scope. learn.microsoft.com/graph/api/user-list."""
        if not principal.roles & USER_READ:
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        top_text = request.option("top") or "100"
        if not top_text.isdigit() or not 1 <= int(top_text) <= 999:
            raise GraphError(400, "Request_BadRequest",
                             f"Invalid page size specified: '{top_text}'. Must be between 1 and 999 inclusive.")
        found = self._sandbox.directory.users()
        if request.option("filter"):
            name, value = odata.parse_user_filter(request.option("filter") or "")
            found = [u for u in found if _user_matches(u, name, value)]
        select = odata.parse_select(request.option("select"), USER_SELECTABLE, "user")
        users = [_user_body(u, select) for u in found][: int(top_text)]
        return GraphResponse(200, {"@odata.context": f"{request.base_url}/$metadata#users", "value": users})

    def _user(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        if not principal.roles & USER_READ:
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        if target.user is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{target.user_key}' does not exist or one "
                             "of its queried reference-property objects are not present.")
        select = odata.parse_select(request.option("select"), USER_SELECTABLE, "user")
        context = f"{request.base_url}/$metadata#users/$entity"
        return GraphResponse(200, {"@odata.context": context, **_user_body(target.user, select)})

    def _calendar(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        owner = self._mailbox(principal, target, write=False)
        can_edit = self._can_write(principal, owner)
        return GraphResponse(200, {
            "@odata.context": f"{request.base_url}/$metadata#users('{quote(target.user_key)}')/calendar/$entity",
            "id": "AAMkACalendar" + owner.id.replace("-", ""), "name": "Calendar", "color": "auto",
            "hexColor": "", "isDefaultCalendar": True, "changeKey": "sandbox", "canShare": can_edit,
            "canViewPrivateItems": can_edit, "canEdit": can_edit, "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": True, "isRemovable": False,
            "owner": {"name": owner.display_name, "address": owner.address},
        })

    def _events(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        if request.method == "POST":
            owner = self._mailbox(principal, target, write=True)
            changes = self._limit_subject(ev.parse_changes(request.json(), self._sandbox.realism.time_zones))
            row, _created = self._sandbox.outlook.create(owner.address, owner.display_name, changes)
            return self._entity(request, 201, row, target.user_key)
        owner = self._mailbox(principal, target, write=False)
        prop = odata.parse_event_filter(request.option("filter") or "") if request.option("filter") else None
        expand = odata.parse_expand(request.option("expand"))
        select = odata.parse_select(request.option("select"), ev.SELECTABLE, "event")
        top = min(odata.parse_int(request.option("top"), "top", 10), MAX_PAGE)
        skip = odata.parse_int(request.option("skip"), "skip", 0)
        order = self._order(request.option("orderby"))
        rows = self._sandbox.store.live_events(
            owner.address, prop_id=prop.prop_id if prop else None, prop_value=prop.value if prop else None,
            any_value=prop is not None and prop.value is None, order=order, limit=top + 1, offset=skip,
            # Graph compares extended-property values case-insensitively (switch extendedPropertyFilterCase).
            ignore_case=self._sandbox.realism.extended_property_filter_case == "insensitive")
        zone, preferences = self._preferences(request)
        body: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/$metadata#users('{quote(target.user_key)}')/events",
            "value": [ev.render(row, zone_name=zone, expand=expand, select=select) for row in rows[:top]],
        }
        if len(rows) > top:
            query = {k: v for k, v in request.query.items() if k.lstrip("$") not in ("skip", "top")}
            query.update({"$top": str(top), "$skip": str(skip + top)})
            body["@odata.nextLink"] = f"{request.base_url}{quote(request.path)}?{urlencode(query, quote_via=quote)}"
        return GraphResponse(200, body, preferences)

    def _delta(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """`GET /users/{u}/calendarView/delta`: learn.microsoft.com/graph/api/event-delta (see delta.py)."""
        owner = self._mailbox(principal, target, write=False)
        zone, preferences = self._preferences(request)
        response = self._calendar_delta.serve(request, owner.address.lower(), zone)
        applied = [p for p in (preferences.get("Preference-Applied"), response.headers.get("Preference-Applied")) if p]
        if applied:
            response.headers["Preference-Applied"] = ", ".join(applied)
        return response

    def _answer(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """`POST /users/{u}/events/{id}/accept|tentativelyAccept|decline` `{"comment", "sendResponse"}`: 202.

        learn.microsoft.com/graph/api/event-accept, /event-tentativelyaccept, /event-decline: the attendee's
        own copy answers; the organizer's item cannot (400).
        """
        owner = self._mailbox(principal, target, write=True)
        row = self._sandbox.outlook.event(owner.address, target.event_id)
        if not row.is_copy:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. You can't respond to a "
                             "meeting you organized.")
        body = request.json() if request.body.strip() else {}
        options = {k.lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        comment, send = options.get("comment"), options.get("sendresponse", True)
        if (comment is not None and not isinstance(comment, str)) or not isinstance(send, bool):
            raise GraphError(400, "BadRequest", "comment is a string and sendResponse true or false.")
        response = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}
        self._sandbox.outlook.respond(row, response[target.action], comment, send)
        return GraphResponse(202)

    def _subscriptions(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """`POST /subscriptions` (learn.microsoft.com/graph/api/subscription-post-subscriptions) for
        `users/{id}/events` or `users/{id}/calendar/events`; `GET /subscriptions` lists the app's own."""
        service = self._sandbox.subscriptions
        context = f"{request.base_url}/$metadata#subscriptions"
        if request.method == "GET":
            return GraphResponse(200, {"@odata.context": context, "value": service.of_app(principal.client_id)})
        body = request.json()
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
        resource = body.get("resource")
        match = _SUBSCRIBABLE.match(resource) if isinstance(resource, str) else None
        if match is None:
            raise GraphError(400, "InvalidRequest", f"The 'resource' {resource!r} is not supported here: subscribe to "
                             "'users/{id}/events' (or 'users/{id}/calendar/events'); /me needs delegated sign-in.")
        key = match.group(1)
        owner = self._mailbox(principal, Target(key, self._sandbox.directory.resolve(key, smtp=True)), write=False)
        created = service.create(body, app_id=principal.client_id, user_id=owner.id, mailbox=owner.address.lower())
        return GraphResponse(201, {"@odata.context": f"{context}/$entity", **created})

    def _subscription(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """GET, PATCH (renew: learn.microsoft.com/graph/api/subscription-update), DELETE (204)."""
        service = self._sandbox.subscriptions
        context = f"{request.base_url}/$metadata#subscriptions/$entity"
        if request.method == "GET":
            return GraphResponse(200, {"@odata.context": context, **service.get(target.event_id, principal.client_id)})
        if request.method == "DELETE":
            service.delete(target.event_id, principal.client_id)
            return GraphResponse(204)
        body = request.json()
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
        renewed = service.renew(target.event_id, principal.client_id, body)
        return GraphResponse(200, {"@odata.context": context, **renewed})

    def _reauthorize(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        """learn.microsoft.com/graph/api/subscription-reauthorize: 204."""
        self._sandbox.subscriptions.reauthorize(target.event_id, principal.client_id)
        return GraphResponse(204)

    def _limit_subject(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Exchange keeps a subject to 255 characters; whether Graph refuses a longer one or cuts it is
        undocumented (switches subjectOverLimit and subjectMaxLength)."""
        realism = self._sandbox.realism
        subject = changes.get("subject")
        if not isinstance(subject, str) or len(subject) <= realism.subject_max_length:
            return changes
        if realism.subject_over_limit == "truncate":
            return {**changes, "subject": subject[: realism.subject_max_length]}
        raise GraphError(400, "ErrorInvalidRequest", f"The 'subject' property is {len(subject)} characters long; "
                         f"the maximum is {realism.subject_max_length}.")

    @staticmethod
    def _order(text: str | None) -> str:
        if not text:
            return "seq"
        field, _, direction = text.strip().partition(" ")
        order = ORDERS.get(field.lower())
        if order is None or direction.strip().lower() not in ("", "asc", "desc"):
            raise GraphError(400, "ErrorInvalidUrlQuery", f"The $orderby value '{text}' is not supported.")
        return order + (" desc" if direction.strip().lower() == "desc" else "")

    def _event(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        outlook = self._sandbox.outlook
        owner = self._mailbox(principal, target, write=request.method != "GET")
        if request.method == "GET":
            return self._entity(request, 200, outlook.event(owner.address, target.event_id), target.user_key)
        if request.method == "DELETE":
            outlook.delete(owner.address, target.event_id)
            return GraphResponse(204)
        changes = self._limit_subject(ev.parse_changes(request.json(), self._sandbox.realism.time_zones))
        return self._entity(request, 200, outlook.update(owner.address, target.event_id, changes), target.user_key)

    def _cancel(self, request: GraphRequest, principal: Principal, target: Target) -> GraphResponse:
        owner = self._mailbox(principal, target, write=True)
        body = request.json() if request.body.strip() else {}
        # Graph's action parameter is `Comment`; OData parameter names match case-insensitively.
        found = [v for k, v in body.items() if k.lower() == "comment"] if isinstance(body, dict) else []
        comment = found[0] if found else None
        self._sandbox.outlook.cancel(owner.address, target.event_id, comment if isinstance(comment, str) else None)
        return GraphResponse(202)

    def _entity(self, request: GraphRequest, status: int, row: Any, user_key: str) -> GraphResponse:
        zone, preferences = self._preferences(request)
        body = ev.render(row, zone_name=zone, expand=odata.parse_expand(request.option("expand")),
                         select=odata.parse_select(request.option("select"), ev.SELECTABLE, "event"))
        context = f"{request.base_url}/$metadata#users('{quote(user_key)}')/events/$entity"
        return GraphResponse(status, {"@odata.context": context, **body}, preferences)

    @staticmethod
    def _preferences(request: GraphRequest) -> tuple[str | None, dict[str, str]]:
        """The response zone, and the Preference-Applied header.

        Event ids in this sandbox never change (cancel and updates keep them), so
        `IdType="ImmutableId"` is always honoured simply by acknowledging it.
        """
        prefer = request.prefer()
        applied = []
        zone = prefer.get("outlook.timezone")
        if zone:
            applied.append(f'outlook.timezone="{zone}"')
        if prefer.get("idtype", "").lower() == "immutableid":
            applied.append('IdType="ImmutableId"')
        return zone, ({"Preference-Applied": ", ".join(applied)} if applied else {})

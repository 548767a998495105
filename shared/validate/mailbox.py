"""Checks against Microsoft Graph: the organizer's mailbox, writing to its calendar, and the app's mailbox scope.

They use the product's own Graph client (msgraph-sdk, same base URL and CA handling as the
sync), so what passes here is what the sync will be able to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.calendar.errors import graph_error, sign_in_failed
from shared.errors import GraphError, SignInFailed
from shared.validate.model import CALENDAR_WRITE, MAILBOX_SCOPE, ORGANIZER, Check, failed, passed, warned

T = TypeVar("T")

PROBE_SUBJECT = "Learning Calendar Sync validation (safe to delete)"
SCOPE_FIX = (
    "Limit the app to the organizer's mailbox with Exchange RBAC for Applications: New-ManagementScope "
    "-RecipientRestrictionFilter for the organizer, then New-ManagementRoleAssignment -App <client ID> -Role "
    "'Application Calendars.ReadWrite' -CustomResourceScope <scope>, and remove the tenant-wide Calendars.ReadWrite "
    "grant in Entra. Check with Test-ServicePrincipalAuthorization."
)
OUT_OF_SCOPE = "Access to OData is disabled."


async def graph(call: Awaitable[T], action: str) -> T:
    """Await one SDK call; every failure becomes a GraphError or SignInFailed with a plain message."""
    import httpx
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return await call
    except ClientAuthenticationError as error:
        raise sign_in_failed(error) from None
    except (httpx.TransportError, TimeoutError):
        raise GraphError(f"Microsoft Graph could not be reached to {action}.") from None
    except GraphError:
        raise
    except Exception as error:
        raise graph_error(error, action=action) from None


def _out_of_scope(error: GraphError) -> bool:
    return error.status == 403 and error.code == "ErrorAccessDenied" and OUT_OF_SCOPE in str(error)


async def check_organizer(client: Any, organizer: str) -> Check:
    """The organizer is a user of this tenant and has a mailbox the app can use."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=["id", "displayName", "mail", "userPrincipalName"]
    )
    user_api = client.users.by_user_id(organizer)
    try:
        user = await graph(user_api.get(request_configuration=RequestConfiguration(query_parameters=query)),
                           f"look up the organizer {organizer}")
    except SignInFailed as error:
        return failed(ORGANIZER, str(error), "Fix the sign-in first.")
    except GraphError as error:
        if error.status == 404:
            return failed(ORGANIZER, f"There is no user {organizer} in this tenant.",
                          "Check the organizer address, or create the mailbox (a shared mailbox such as "
                          "'Learning Coordinator' is advised) in the same tenant as the app.")
        if error.code == "Authorization_RequestDenied":
            return failed(ORGANIZER, f"The app may not look up users ({error}).",
                          "Grant the application permission User.Read.All and admin consent.")
        return failed(ORGANIZER, str(error), "Check the organizer address and the app's permissions.")
    name = getattr(user, "display_name", None) or organizer
    try:
        await graph(user_api.calendar.get(), f"open the calendar of {organizer}")
    except SignInFailed as error:
        return failed(ORGANIZER, str(error), "Fix the sign-in first.")
    except GraphError as error:
        if error.code == "MailboxNotEnabledForRESTAPI":
            return failed(ORGANIZER, f"{organizer} exists but has no Exchange Online mailbox that Graph can use.",
                          "Give the user an Exchange Online licence, or use a shared mailbox as the organizer.")
        if _out_of_scope(error):
            return failed(ORGANIZER, f"{organizer} is outside the mailboxes the app may use (its Exchange scope).",
                          "Add the organizer to the app's Exchange scope (the management scope of RBAC for "
                          "Applications, or the application access policy's group).")
        return failed(ORGANIZER, str(error), "Grant the application permission Calendars.ReadWrite (or its Exchange "
                      "RBAC equivalent) for the organizer's mailbox.")
    return passed(ORGANIZER, f"{organizer} ({name}) is a user of the tenant with a mailbox the app can use.")


async def check_calendar_write(client: Any, organizer: str, now: datetime | None = None) -> Check:
    """Create and delete a probe event without attendees: proves write access and sends nobody anything."""
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.free_busy_status import FreeBusyStatus

    start = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(days=365)
    probe = Event(
        subject=PROBE_SUBJECT,
        start=DateTimeTimeZone(date_time=start.strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"),
        end=DateTimeTimeZone(date_time=(start + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"),
        show_as=FreeBusyStatus.Free,
        is_reminder_on=False,
        response_requested=False,
        attendees=[],
        transaction_id=f"learncal-validate-{uuid.uuid4()}",
    )
    events = client.users.by_user_id(organizer).events
    try:
        created = await graph(events.post(probe), f"create a test event in the calendar of {organizer}")
    except (GraphError, SignInFailed) as error:
        return failed(CALENDAR_WRITE, f"The app cannot create events in the organizer's calendar: {error}",
                      "Grant Calendars.ReadWrite as an application permission (or 'Application Calendars.ReadWrite' "
                      "through Exchange RBAC for Applications) for the organizer's mailbox.")
    event_id = getattr(created, "id", None)
    if not event_id:
        return failed(CALENDAR_WRITE, "Graph accepted the test event but returned no id.",
                      "Try again; if it persists, check the service health of Exchange Online.")
    try:
        await graph(events.by_event_id(event_id).delete(), "delete the test event")
    except (GraphError, SignInFailed) as error:
        return failed(CALENDAR_WRITE, f"The test event was created but could not be deleted: {error}",
                      f"Delete the event '{PROBE_SUBJECT}' from the organizer's calendar and check "
                      "Calendars.ReadWrite.")
    return passed(CALENDAR_WRITE, "A test event without attendees was created in the organizer's calendar and "
                  "deleted again; nobody received anything.")


async def _candidates(client: Any, organizer: str, probe: str | None) -> list[str]:
    if probe:
        return [probe]
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=5, select=["mail", "userPrincipalName"])
    try:
        page = await graph(client.users.get(request_configuration=RequestConfiguration(query_parameters=query)),
                           "list users")
    except (GraphError, SignInFailed):
        return []
    found: list[str] = []
    for user in getattr(page, "value", None) or []:
        address = (getattr(user, "mail", None) or getattr(user, "user_principal_name", None) or "").lower()
        if address and address != organizer.lower():
            found.append(address)
    return found


async def check_mailbox_scope(client: Any, organizer: str, probe: str | None = None) -> Check:
    """The app should reach the organizer's mailbox only: reading another calendar must be refused."""
    if probe and probe.lower() == organizer.lower():
        return warned(MAILBOX_SCOPE, "The mailbox named to test the app's scope is the organizer itself.",
                      "Name a mailbox the app should NOT reach (probeMailbox).")
    candidates = await _candidates(client, organizer, probe)
    for address in candidates:
        try:
            await graph(client.users.by_user_id(address).calendar.get(), f"open the calendar of {address}")
        except SignInFailed as error:
            return failed(MAILBOX_SCOPE, str(error), "Fix the sign-in first.")
        except GraphError as error:
            if _out_of_scope(error):
                return passed(MAILBOX_SCOPE, f"The app cannot read the calendar of {address}: it is limited to the "
                              "mailboxes in its Exchange scope.")
            if error.status in (403, 404):
                continue  # no mailbox, no such user, or no read permission at all: try another
            return warned(MAILBOX_SCOPE, f"Could not check with {address}: {error}",
                          "Validate again later, or name another mailbox to test (probeMailbox).")
        return warned(MAILBOX_SCOPE, f"The app can read the calendar of {address}: it reaches every mailbox in the "
                      "tenant, not just the organizer's.", SCOPE_FIX)
    if probe:
        return warned(MAILBOX_SCOPE, f"{probe} has no mailbox Graph can use, so the app's scope could not be tested.",
                      "Name another user's mailbox to test (probeMailbox).")
    return warned(MAILBOX_SCOPE, "No other mailbox was found to test whether the app is limited to the organizer's.",
                  "Name a mailbox the app should NOT reach (probeMailbox, or learncal validate --probe-mailbox).")

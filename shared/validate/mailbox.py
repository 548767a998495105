"""Checks against Microsoft Graph: the organizer's mailbox, writing to its calendar, and the app's mailbox scope.

They use the product's own Graph client (msgraph-sdk, same base URL and CA handling as the
sync), so what passes here is what the sync will be able to do. The scope is confirmed by
what the mailboxes answer (the organizer's calendar opens, another one is refused), never by
the token's roles: with Exchange RBAC for Applications the token carries no calendar role at
all and Exchange grants access per mailbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import GraphError, SignInFailed
from shared.validate.directory import Organizer, find_organizer
from shared.validate.graphcall import graph
from shared.validate.model import (
    CALENDAR_WRITE,
    MAILBOX_SCOPE,
    ORGANIZER,
    CalendarAccess,
    Check,
    failed,
    passed,
    warned,
)
from shared.validate.scoping import (
    LABELS,
    Scoping,
    is_refusal,
    out_of_scope_fix,
    quoted,
    refusal_scoping,
    scoping_note,
    unrestricted_fix,
)

PROBE_SUBJECT = "Learning Calendar Sync validation (safe to delete)"
BUSY = "A sync run is sending from this mailbox; checked later."
BUSY_FIX = "Validate again when the run has finished (learncal runs, or GET /api/runs, shows it)."


@dataclass(frozen=True)
class Grants:
    """What the token says and who the app is, to word the fixes; never what decides a scope."""

    calendar_role: bool  # the token carries Calendars.ReadWrite (a tenant-wide Entra grant)
    client_id: str | None = None


async def look_up_organizer(client: Any, given: str) -> Organizer | Check:
    """The organizer's directory entry, or the failed organizer-mailbox check saying why not."""
    try:
        found = await find_organizer(client, given)
    except SignInFailed as error:
        return failed(ORGANIZER, str(error), "Fix the sign-in first.")
    except GraphError as error:
        if error.code == "Authorization_RequestDenied":
            return failed(ORGANIZER, f"The app may not look up users ({error}).",
                          "Grant the application permission User.Read.All and admin consent.")
        return failed(ORGANIZER, str(error), "Check the organizer address and the app's permissions.")
    if found is None:
        return failed(ORGANIZER, f"There is no user {given} in this tenant (no user has it as sign-in name, "
                      "primary address or alias).",
                      "Check the organizer address, or create the mailbox (a shared mailbox such as "
                      "'Learning Coordinator' is advised) in the same tenant as the app.")
    return found


async def check_organizer_calendar(client: Any, organizer: Organizer, grants: Grants) -> tuple[Check, CalendarAccess]:
    """Open the organizer's calendar under the configured name, as the sync addresses it."""
    given = organizer.given
    try:
        await graph(client.users.by_user_id(given).calendar.get(), f"open the calendar of {given}")
    except SignInFailed as error:
        return failed(ORGANIZER, str(error), "Fix the sign-in first."), "unknown"
    except GraphError as error:
        scoping = refusal_scoping(error, calendar_role=grants.calendar_role)
        if scoping is not None:
            return failed(
                ORGANIZER,
                f"{organizer.describe()} But Exchange refuses the app its calendar: {given} is outside the app's "
                f"Exchange scope ({LABELS[scoping]}){quoted(error)}.",
                out_of_scope_fix(scoping, given, grants.client_id, organizer.address),
            ), "refused"
        if error.code == "MailboxNotEnabledForRESTAPI":
            return failed(ORGANIZER, f"{given} exists but has no Exchange Online mailbox that Graph can use.",
                          "Give the user an Exchange Online licence, or use a shared mailbox as the organizer."), \
                "unknown"
        if error.code == "ErrorInvalidUser" and organizer.address and organizer.found_by == "alias":
            return failed(ORGANIZER, f"{organizer.describe()} Graph's calendar endpoints do not accept the alias "
                          f"{given}.", f"Set the organizer to the primary address {organizer.address}."), "unknown"
        return failed(ORGANIZER, str(error), "Check the organizer address and the app's calendar permission (Entra "
                      "Calendars.ReadWrite or its Exchange RBAC for Applications equivalent)."), "unknown"
    return passed(ORGANIZER, f"{organizer.describe()} It has a mailbox the app can use; the sync addresses it as "
                  f"{given}."), "answers"


async def check_calendar_write(client: Any, organizer: str, now: datetime | None = None) -> tuple[Check, bool]:
    """Create and delete a probe event without attendees: proves write access and sends nobody anything.

    Returns the check and whether Exchange refused the write.
    """
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
                      "through Exchange RBAC for Applications) for the organizer's mailbox."), \
            isinstance(error, GraphError) and is_refusal(error)
    event_id = getattr(created, "id", None)
    if not event_id:
        return failed(CALENDAR_WRITE, "Graph accepted the test event but returned no id.",
                      "Try again; if it persists, check the service health of Exchange Online."), False
    try:
        await graph(events.by_event_id(event_id).delete(), "delete the test event")
    except (GraphError, SignInFailed) as error:
        return failed(CALENDAR_WRITE, f"The test event was created but could not be deleted: {error}",
                      f"Delete the event '{PROBE_SUBJECT}' from the organizer's calendar and check "
                      "Calendars.ReadWrite."), False
    return passed(CALENDAR_WRITE, "A test event without attendees was created in the organizer's calendar and "
                  "deleted again; nobody received anything."), False


def busy(name: str, found: Organizer | None = None) -> Check:
    """A probe of the organizer's mailbox left out because a run holds the mailbox."""
    return warned(name, f"{found.describe()} {BUSY}" if found else BUSY, BUSY_FIX)


async def _candidates(client: Any, organizer_names: tuple[str, ...], probe: str | None) -> list[str]:
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
        mail = (getattr(user, "mail", None) or "").lower()
        upn = (getattr(user, "user_principal_name", None) or "").lower()
        address = mail or upn
        if address and not {mail, upn} & set(organizer_names):
            found.append(address)
    return found


def _unrestricted(address: str, organizer_calendar: CalendarAccess, grants: Grants) -> Check:
    fix = unrestricted_fix(grants.calendar_role, grants.client_id)
    if organizer_calendar == "refused":
        return warned(MAILBOX_SCOPE, f"The app can read the calendar of {address} but not the organizer's: its "
                      "Exchange scope includes other mailboxes and leaves out the organizer.", fix)
    return warned(MAILBOX_SCOPE, f"Scoping detected: {LABELS['none']}. The app can read the calendar of {address}: "
                  "it reaches every mailbox in the tenant, not just the organizer's.", fix)


def _restricted(address: str, scoping: Scoping, organizer_calendar: CalendarAccess, why: str) -> Check:
    if organizer_calendar == "refused":
        return warned(MAILBOX_SCOPE, f"The app cannot read the calendar of {address}, but it cannot open the "
                      "organizer's either, so its scope is not confirmed.",
                      "Fix the organizer-mailbox check first, then validate again.")
    organizer = {
        "answers": "The organizer's calendar answers",
        "busy": "The organizer's mailbox was not probed (a sync run is sending from it)",
    }.get(organizer_calendar, "The organizer's calendar could not be checked (see the organizer-mailbox check)")
    note = f" {scoping_note(scoping)}" if organizer_calendar == "answers" else ""
    return passed(MAILBOX_SCOPE, f"Scoping detected: {LABELS[scoping]}. The app cannot read the calendar of "
                  f"{address}{why}: it is limited to the mailboxes in its Exchange scope. {organizer}.{note}")


async def check_mailbox_scope(
    client: Any, organizer_names: tuple[str, ...], probe: str | None, *,
    organizer_calendar: CalendarAccess, grants: Grants,
) -> Check:
    """The app should reach the organizer's mailbox only: reading another calendar must be refused."""
    if probe and probe.lower() in organizer_names:
        return warned(MAILBOX_SCOPE, "The mailbox named to test the app's scope is the organizer itself.",
                      "Name a mailbox the app should NOT reach (probeMailbox).")
    for address in await _candidates(client, organizer_names, probe):
        try:
            await graph(client.users.by_user_id(address).calendar.get(), f"open the calendar of {address}")
        except SignInFailed as error:
            return failed(MAILBOX_SCOPE, str(error), "Fix the sign-in first.")
        except GraphError as error:
            scoping = refusal_scoping(error, calendar_role=grants.calendar_role)
            if scoping is not None:
                return _restricted(address, scoping, organizer_calendar, quoted(error))
            if error.status in (403, 404):
                continue  # no mailbox, no such user: try another
            return warned(MAILBOX_SCOPE, f"Could not check with {address}: {error}",
                          "Validate again later, or name another mailbox to test (probeMailbox).")
        return _unrestricted(address, organizer_calendar, grants)
    if probe:
        return warned(MAILBOX_SCOPE, f"{probe} has no mailbox Graph can use, so the app's scope could not be tested.",
                      "Name another user's mailbox to test (probeMailbox).")
    return warned(MAILBOX_SCOPE, "No other mailbox was found to test whether the app is limited to the organizer's.",
                  "Name a mailbox the app should NOT reach (probeMailbox, or learncal validate --probe-mailbox).")

"""Checks of the sign-in: does the tenant exist and accept the app's credential, and with which permissions."""

from __future__ import annotations

from typing import Any

from shared.calendar.errors import sign_in_failed
from shared.validate.model import PERMISSIONS, SIGN_IN, CalendarAccess, Check, failed, passed, warned
from shared.validate.tokens import claims_of

REQUIRED_ROLES = ("User.Read.All", "Calendars.ReadWrite")
UNKNOWN_AUTHORITY = "Unable to get authority configuration"
GRANT_FIX = (
    "In the app registration, under API permissions, add the Microsoft Graph APPLICATION permissions "
    "User.Read.All and Calendars.ReadWrite (not Delegated), then select 'Grant admin consent'."
)
RBAC_FIX = (
    "Assign the app 'Application Calendars.ReadWrite' for the organizer's mailbox with Exchange RBAC for "
    "Applications (New-ManagementRoleAssignment -App {app} -Role 'Application Calendars.ReadWrite' "
    "-CustomResourceScope <scope>; docs/setup.md, step 6.2)."
)


def check_sign_in(credential: Any, scope: str, authority: str) -> tuple[Check, str | None]:
    """Ask for a Graph token; the check, and the token when one was issued."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
    from azure.identity import CredentialUnavailableError

    try:
        token = credential.get_token(scope)
    except CredentialUnavailableError:
        return failed(
            SIGN_IN, "The managed identity that signs in for the app (federated mode) is not available here.",
            "Run in the function app with its user-assigned identity and set LEARNCAL_MANAGED_IDENTITY_CLIENT_ID, "
            "or use authMode secret where no managed identity exists.",
        ), None
    except ClientAuthenticationError as error:
        problem, _, advice = str(sign_in_failed(_with_code(error))).partition(": ")
        return failed(SIGN_IN, problem + ".", advice), None
    except ServiceRequestError:
        return failed(
            SIGN_IN, f"The sign-in authority {authority} could not be reached.",
            "Check LEARNCAL_AUTHORITY_URL, the network path, and the CA bundle (SSL_CERT_FILE).",
        ), None
    return passed(SIGN_IN, "The tenant exists and Microsoft Entra issued a token to the app."), str(token.token)


def _with_code(error: BaseException) -> BaseException:
    """MSAL reports an unknown tenant as a failed authority lookup, without Entra's code; add it back."""
    text = str(error)
    if "AADSTS" not in text and UNKNOWN_AUTHORITY in text:
        return RuntimeError("AADSTS90002: " + text)
    return error


def roles_of(token: str) -> frozenset[str]:
    """The application permissions (app roles) the token carries."""
    return frozenset(str(r) for r in claims_of(token).get("roles") or [])


def has_calendar_role(token: str) -> bool:
    """A tenant-wide Entra grant of Calendars.ReadWrite (absent under Exchange RBAC for Applications)."""
    return "Calendars.ReadWrite" in roles_of(token)


def check_permissions(
    token: str, organizer_calendar: CalendarAccess = "unknown", client_id: str | None = None
) -> Check:
    """Application permissions arrive in `roles`; delegated ones in `scp`, which an unattended service cannot use.

    Calendars.ReadWrite may rightly be missing: Exchange RBAC for Applications grants it per
    mailbox, outside the token. Then what the organizer's calendar answered decides.
    """
    claims = claims_of(token)
    roles = roles_of(token)
    scopes = str(claims.get("scp") or "").split()
    if not roles:
        if scopes:
            return failed(
                PERMISSIONS,
                "The token carries only delegated permissions (" + ", ".join(scopes) + "); an unattended service "
                "needs application permissions.", GRANT_FIX,
            )
        return failed(PERMISSIONS, "The token carries no application permissions.", GRANT_FIX)
    if "User.Read.All" not in roles:
        return failed(
            PERMISSIONS, "The app lacks the application permission User.Read.All (needed to find the organizer).",
            GRANT_FIX,
        )
    if "Calendars.ReadWrite" in roles:
        return passed(PERMISSIONS, "The app has the application permissions " + ", ".join(REQUIRED_ROLES) + ".")
    if organizer_calendar == "answers":
        return passed(
            PERMISSIONS,
            "The app has User.Read.All; the token carries no Calendars.ReadWrite, and that is right here: Exchange "
            "RBAC for Applications grants calendar access per mailbox, and the organizer's calendar answers the app.",
        )
    if organizer_calendar == "refused":
        return failed(
            PERMISSIONS,
            "The token carries no Calendars.ReadWrite and the organizer's calendar refuses the app (opening or "
            "writing it): neither Entra nor Exchange RBAC for Applications grants it write access there.",
            RBAC_FIX.format(app=client_id or "<client ID>") + " Or, without RBAC for Applications, "
            + GRANT_FIX[0].lower() + GRANT_FIX[1:],
        )
    return warned(
        PERMISSIONS,
        "The token does not carry Calendars.ReadWrite. That is right only when Exchange RBAC for Applications "
        "grants 'Application Calendars.ReadWrite' for the organizer's mailbox (it grants per mailbox, outside the "
        "token); the organizer's calendar could not be asked here.",
        "If you do not use RBAC for Applications, " + GRANT_FIX[0].lower() + GRANT_FIX[1:],
    )

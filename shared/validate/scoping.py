"""How the app is limited to the organizer's mailbox, told from what the mailboxes answer.

Exchange Online limits an app's mailbox access in one of two ways
(https://learn.microsoft.com/exchange/permissions-exo/application-rbac):
- RBAC for Applications: Exchange grants "Application Calendars.ReadWrite" per mailbox (a
  management scope), so the token carries no Calendars.ReadWrite role at all and only the
  mailboxes answer the question. Microsoft recommends it.
- an application access policy (legacy,
  https://learn.microsoft.com/exchange/permissions-exo/application-access-policies): the Entra
  grant stays tenant-wide and Exchange refuses mailboxes outside the policy's group with
  403 ErrorAccessDenied "Access to OData is disabled." — tenants now add
  ": [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.".
Exchange grants and Entra grants add up: with a tenant-wide Calendars.ReadWrite in Entra, an
RBAC scope restricts nothing, which is why a refusal next to that role means a policy.
"""

from __future__ import annotations

from typing import Literal

from shared.errors import GraphError
from shared.validate.graphcall import said

Scoping = Literal["rbacForApplications", "applicationAccessPolicy", "none"]

LABELS: dict[Scoping, str] = {
    "rbacForApplications": "RBAC for Applications",
    "applicationAccessPolicy": "application access policy",
    "none": "not restricted (the app can reach every mailbox)",
}

# Both wordings of an application access policy's refusal start with this.
POLICY_REFUSAL = "Access to OData is disabled"
# What Graph answers for a mailbox the app holds no calendar grant for (no Entra role, no RBAC
# for Applications assignment covering it): Exchange's generic access-denied text.
NO_GRANT_REFUSAL = "Access is denied. Check credentials and try again."

CLIENT_ID = "<client ID>"


def is_refusal(error: GraphError) -> bool:
    """Exchange refused the app this mailbox (as opposed to: no such user, no mailbox, network)."""
    return error.status == 403 and error.code == "ErrorAccessDenied"


def refusal_scoping(error: GraphError, *, calendar_role: bool) -> Scoping | None:
    """Which restriction a refusal comes from; None when the error is not a refusal."""
    if not is_refusal(error):
        return None
    if POLICY_REFUSAL.lower() in said(error).lower():
        return "applicationAccessPolicy"
    # With the tenant-wide role only a policy can refuse; without it, only the lack of an RBAC grant.
    return "applicationAccessPolicy" if calendar_role else "rbacForApplications"


def quoted(error: GraphError) -> str:
    """Graph's words, for the detail line ('' when Graph said nothing)."""
    text = said(error)
    return f' (Graph: "{text}")' if text else ""


def out_of_scope_fix(scoping: Scoping, organizer: str, client_id: str | None, address: str | None = None) -> str:
    """The plain fix for an organizer the app's restriction leaves out."""
    app = client_id or CLIENT_ID
    if scoping == "applicationAccessPolicy":
        return (
            f"Add {organizer} to the mail-enabled security group of the app's application access policy "
            f"(Add-DistributionGroupMember), then check with Test-ApplicationAccessPolicy -Identity {organizer} "
            f"-AppId {app}. Changes can take an hour or more to apply."
        )
    return (
        f"Give the app 'Application Calendars.ReadWrite' for {organizer} with Exchange RBAC for Applications: a "
        f"management scope that includes it (New-ManagementScope or Set-ManagementScope -RecipientRestrictionFilter "
        f"\"PrimarySmtpAddress -eq '{address or organizer}'\") and New-ManagementRoleAssignment -App {app} -Role "
        f"'Application Calendars.ReadWrite' -CustomResourceScope <scope>; check with "
        f"Test-ServicePrincipalAuthorization -Identity {app} -Resource {organizer}. Changes take 30 minutes to "
        "2 hours to apply."
    )


def unrestricted_fix(calendar_role: bool, client_id: str | None) -> str:
    """How to limit an app that reaches every mailbox."""
    app = client_id or CLIENT_ID
    limit = (
        f"Limit the app to the organizer's mailbox with Exchange RBAC for Applications: New-ManagementScope "
        f"-RecipientRestrictionFilter for the organizer, then New-ManagementRoleAssignment -App {app} -Role "
        "'Application Calendars.ReadWrite' -CustomResourceScope <scope>"
    )
    if calendar_role:
        return (limit + ", and remove the tenant-wide Calendars.ReadWrite grant in Entra (Exchange and Entra "
                f"grants add up). Check with Test-ServicePrincipalAuthorization -Identity {app}.")
    return (limit + f". The app's role assignment has no scope limited to the organizer now; check with "
            f"Test-ServicePrincipalAuthorization -Identity {app}.")


def scoping_note(scoping: Scoping) -> str:
    """What the detected restriction means, for a passing scope check."""
    if scoping == "rbacForApplications":
        return ("Exchange grants the app the organizer's mailbox through RBAC for Applications; the token carries "
                "no tenant-wide Calendars.ReadWrite.")
    return ("An application access policy limits the app. Microsoft has replaced these with RBAC for Applications; "
            "move to it when convenient (docs/setup.md, step 6.2).")

"""How Exchange limits an app to some mailboxes: application access policies and RBAC for Applications.

Sources: learn.microsoft.com/graph/auth-limit-mailbox-access (application access policies; the
refusal tenants send today names "[RAOP]") and learn.microsoft.com/exchange/permissions-exo/
application-rbac (RBAC for Applications: the permission is an Exchange role assignment scoped to
mailboxes, independent of Entra grants, so the token carries no Calendars role). That page
gives no wording for an out-of-scope mailbox; the sandbox answers Exchange's generic
"Access is denied. Check credentials and try again." (ErrorAccessDenied).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest_sandbox import Harness, claims_of

SCOPED_APP = "5c0bed00-1111-2222-3333-444444444444"
OTHER = "other.organizer@contoso.example"
RAOP = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."


def meeting() -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    return {"subject": "Scoped", "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"}}


def scoped_token(sandbox: Harness, **settings: Any) -> str:
    sandbox.admin.put_user(OTHER)
    app = sandbox.admin.put_app(SCOPED_APP, mailboxScope=[sandbox.organizer], **settings)
    return sandbox.token(sandbox.credential_for(app["clientId"], app["secrets"][0]))


def calendar(sandbox: Harness, token: str, user: str) -> tuple[int, dict[str, Any]]:
    response = sandbox.raw("GET", f"/v1.0/users/{user}/calendar", token=token)
    return response.status_code, response.json()


def test_application_access_policy_refuses_other_mailboxes_with_the_raop_wording(sandbox: Harness) -> None:
    """auth-limit-mailbox-access: the token carries Calendars.ReadWrite; Exchange refuses other mailboxes."""
    token = scoped_token(sandbox, exchangeScoping="applicationAccessPolicy")

    inside, _ = calendar(sandbox, token, sandbox.organizer)
    status, body = calendar(sandbox, token, OTHER)

    assert "Calendars.ReadWrite" in claims_of(token)["roles"]
    assert inside == 200
    assert (status, body["error"]["code"], body["error"]["message"]) == (403, "ErrorAccessDenied", RAOP)


def test_mailbox_scope_without_scoping_reads_as_an_application_access_policy(sandbox: Harness) -> None:
    token = scoped_token(sandbox)

    apps = {a["clientId"]: a for a in sandbox.admin.request("GET", "/apps")[1]["value"]}
    assert apps[SCOPED_APP]["exchangeScoping"] == "applicationAccessPolicy"
    assert calendar(sandbox, token, OTHER)[1]["error"]["message"] == RAOP


def test_rbac_for_applications_token_has_no_calendar_role_and_exchange_decides_per_mailbox(
        sandbox: Harness) -> None:
    """application-rbac: in-scope mailboxes work (read and write) with a token carrying no Calendars role."""
    token = scoped_token(sandbox, exchangeScoping="rbacForApplications")

    status, body = calendar(sandbox, token, sandbox.organizer)
    created = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=token, json=meeting())
    refused, refusal = calendar(sandbox, token, OTHER)

    assert not any(r.startswith("Calendars.") for r in claims_of(token).get("roles", []))
    assert (status, body["canEdit"]) == (200, True)
    assert created.status_code == 201
    assert (refused, refusal["error"]["code"]) == (403, "ErrorAccessDenied")
    assert refusal["error"]["message"] == "Access is denied. Check credentials and try again."
    assert "RAOP" not in refusal["error"]["message"]


def test_rbac_for_applications_with_read_only_assignment_cannot_write(sandbox: Harness) -> None:
    token = scoped_token(sandbox, exchangeScoping="rbacForApplications", roles=["Calendars.Read", "User.Read.All"])

    created = sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=token, json=meeting())

    assert calendar(sandbox, token, sandbox.organizer)[0] == 200
    assert created.status_code == 403 and created.json()["error"]["code"] == "ErrorAccessDenied"


def test_unknown_scoping_is_refused_naming_the_choices(sandbox: Harness) -> None:
    status, body = sandbox.admin.request("PUT", f"/apps/{SCOPED_APP}", {"exchangeScoping": "rbac"})

    assert status == 400 and "rbacForApplications" in body["error"]

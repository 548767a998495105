"""Users whose sign-in name (UPN) differs from their primary SMTP address, aliases and shared mailboxes.

Sources: learn.microsoft.com/graph/api/user-get (`/users/{id | userPrincipalName}`),
learn.microsoft.com/graph/api/user-list and learn.microsoft.com/graph/api/resources/user
(`$filter` on `mail` and `proxyAddresses/any(...)`), learn.microsoft.com/graph/api/user-list-events
(Outlook resources also accept the user's SMTP address).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from conftest_sandbox import Harness

ADDRESS = "training@contoso.example"
UPN = "svc-training@contoso.onmicrosoft.example"
ALIAS = "learning@contoso.example"
ATTENDEE = "kim@learners.example"


def shared_mailbox(sandbox: Harness) -> dict[str, Any]:
    return sandbox.admin.put_user(ADDRESS, userPrincipalName=UPN, proxyAddresses=[f"smtp:{ALIAS}"],
                                  mailboxType="shared", displayName="Training Team")


def invitation() -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    return {"subject": "Resolution", "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": ATTENDEE}}]}


def test_admin_user_carries_upn_proxy_addresses_and_mailbox_type(sandbox: Harness) -> None:
    user = shared_mailbox(sandbox)

    assert (user["address"], user["userPrincipalName"], user["mailboxType"]) == (ADDRESS, UPN, "shared")
    assert user["proxyAddresses"] == [f"SMTP:{ADDRESS}", f"smtp:{ALIAS}"]


def test_bad_admin_user_settings_name_the_field(sandbox: Harness) -> None:
    status, body = sandbox.admin.request("PUT", f"/users/{ADDRESS}", {"proxyAddresses": [ALIAS]})
    assert status == 400 and "proxyAddresses" in body["error"]
    status, body = sandbox.admin.request("PUT", f"/users/{ADDRESS}", {"mailboxKind": "shared"})
    assert status == 400 and "mailboxKind" in body["error"] and "mailboxType" in body["error"]


def test_users_resource_resolves_object_id_or_upn_but_not_the_smtp_address(sandbox: Harness) -> None:
    """user-get: `/users/{id | userPrincipalName}`; an SMTP address that is not the UPN is not found."""
    user = shared_mailbox(sandbox)
    token = sandbox.token()

    by_upn = sandbox.raw("GET", f"/v1.0/users/{UPN}", token=token)
    by_id = sandbox.raw("GET", f"/v1.0/users/{user['id']}", token=token)
    by_address = sandbox.raw("GET", f"/v1.0/users/{ADDRESS}", token=token)

    assert by_upn.status_code == 200
    assert (by_upn.json()["userPrincipalName"], by_upn.json()["mail"]) == (UPN, ADDRESS)
    assert by_id.status_code == 200 and by_id.json()["id"] == user["id"]
    assert by_address.status_code == 404
    assert by_address.json()["error"]["code"] == "Request_ResourceNotFound"


def test_calendar_endpoints_take_upn_address_or_id_and_reach_one_mailbox(sandbox: Harness) -> None:
    """user-list-events: Outlook resources accept the SMTP address too; aliases are refused (strict)."""
    user = shared_mailbox(sandbox)
    token = sandbox.token()

    created = [sandbox.raw("POST", f"/v1.0/users/{key}/events", token=token, json=invitation())
               for key in (ADDRESS, UPN, user["id"])]
    batched = sandbox.raw("POST", "/v1.0/$batch", token=token, json={"requests": [
        {"id": "1", "method": "GET", "url": f"/users/{ADDRESS}/calendar"}]})
    by_alias = sandbox.raw("GET", f"/v1.0/users/{ALIAS}/events", token=token)

    assert [r.status_code for r in created] == [201, 201, 201]
    assert {r.json()["organizer"]["emailAddress"]["address"] for r in created} == {ADDRESS}
    assert len(sandbox.admin.calendar(ADDRESS)) == 3
    assert sandbox.admin.calendar(UPN) == []
    assert batched.json()["responses"][0]["status"] == 200
    assert by_alias.status_code == 404 and by_alias.json()["error"]["code"] == "ErrorInvalidUser"


def test_user_list_filters_by_mail_and_by_proxy_address(sandbox: Harness) -> None:
    """user-list with `$filter=mail eq '…'` and `$filter=proxyAddresses/any(p:p eq 'smtp:…')`."""
    user = shared_mailbox(sandbox)
    token = sandbox.token()

    def ids(query: str) -> list[str]:
        response = sandbox.raw("GET", f"/v1.0/users?$filter={quote(query)}", token=token)
        assert response.status_code == 200, response.text
        return [u["id"] for u in response.json()["value"]]

    assert ids(f"mail eq '{ADDRESS.upper()}'") == [user["id"]]
    assert ids(f"proxyAddresses/any(p:p eq 'smtp:{ALIAS}')") == [user["id"]]
    assert ids(f"proxyAddresses/any(x:x eq 'SMTP:{ADDRESS}')") == [user["id"]]
    assert ids(f"userPrincipalName eq '{UPN}'") == [user["id"]]
    assert ids("mail eq 'nobody@contoso.example'") == []
    refused = sandbox.raw("GET", f"/v1.0/users?$filter={quote('city eq 1')}", token=token)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_selected_user_properties_include_proxy_addresses_and_account_state(sandbox: Harness) -> None:
    """resources/user: proxyAddresses and accountEnabled come back only when selected."""
    shared_mailbox(sandbox)

    response = sandbox.raw("GET", f"/v1.0/users/{UPN}?$select=proxyAddresses,accountEnabled,mail",
                           token=sandbox.token())

    assert response.json()["proxyAddresses"] == [f"SMTP:{ADDRESS}", f"smtp:{ALIAS}"]
    assert (response.json()["accountEnabled"], response.json()["mail"]) == (False, ADDRESS)

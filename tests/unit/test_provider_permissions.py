"""The permission check reads the token's claims: application permissions in `roles`, not `scp`."""

from __future__ import annotations

import base64
import json
from typing import Any

from shared.validate.signin import check_permissions
from shared.validate.tokens import claims_of


def token(**claims: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return part({"alg": "RS256", "typ": "JWT"}) + "." + part(claims) + ".signature"


def test_claims_are_read_without_verifying_and_garbage_gives_none() -> None:
    assert claims_of(token(roles=["User.Read.All"], idtyp="app"))["idtyp"] == "app"
    assert claims_of("not-a-jwt") == {}
    assert claims_of("a.%%%.c") == {}


def test_application_permissions_pass() -> None:
    assert check_permissions(token(roles=["Calendars.ReadWrite", "User.Read.All"])).status == "pass"


def test_delegated_permissions_fail_with_the_fix() -> None:
    check = check_permissions(token(scp="Calendars.ReadWrite User.Read"))

    assert check.status == "fail"
    assert "delegated" in check.detail
    assert check.fix and "APPLICATION" in check.fix


def test_missing_permissions() -> None:
    assert check_permissions(token()).status == "fail"
    assert check_permissions(token(roles=["Calendars.ReadWrite"])).status == "fail"
    assert check_permissions(token(roles=["User.Read.All"])).status == "warn"


def test_without_calendars_readwrite_the_organizers_calendar_decides() -> None:
    rbac = token(roles=["User.Read.All"])  # Exchange RBAC for Applications: no calendar role in the token

    answers = check_permissions(rbac, "answers")
    refused = check_permissions(rbac, "refused")
    busy = check_permissions(rbac, "busy")

    assert answers.status == "pass"
    assert "RBAC for Applications grants calendar access per mailbox" in answers.detail
    assert refused.status == "fail"
    assert refused.fix and "Application Calendars.ReadWrite" in refused.fix
    assert busy.status == "warn"


def test_with_calendars_readwrite_the_calendars_answer_does_not_matter_here() -> None:
    full = token(roles=["User.Read.All", "Calendars.ReadWrite"])

    assert {check_permissions(full, access).status for access in ("answers", "refused", "unknown")} == {"pass"}

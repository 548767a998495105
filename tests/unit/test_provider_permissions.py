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

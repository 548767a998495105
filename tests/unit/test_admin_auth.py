"""App Service Authentication: who the caller is, and the LearningCalendar.Admin role."""

from __future__ import annotations

import base64
import json
from typing import Any

import azure.functions as func
import pytest

from shared.admin.auth import ADMIN_ROLE, authorize, principal_of
from shared.admin.problem import Problem


def req(headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest("GET", "http://localhost/api/provider", body=b"", headers=headers or {})


def encoded(data: Any, *, padding: bool = True) -> str:
    text = base64.b64encode(json.dumps(data).encode()).decode()
    return text if padding else text.rstrip("=")


PRINCIPAL = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
             "claims": [{"typ": "name", "val": "Ines Admin"}, {"typ": "roles", "val": ADMIN_ROLE},
                        {"typ": "roles", "val": "Other"}]}


def test_the_principal_header_is_read_with_or_without_padding() -> None:
    for padding in (True, False):
        found = principal_of(req({"X-MS-CLIENT-PRINCIPAL": encoded(PRINCIPAL, padding=padding),
                                  "X-MS-CLIENT-PRINCIPAL-ID": "abc"}))
        assert found is not None
        assert (found.id, found.name, found.roles) == ("abc", "Ines Admin", frozenset({ADMIN_ROLE, "Other"}))


def test_a_custom_role_claim_type_is_honoured() -> None:
    data = dict(PRINCIPAL, role_typ="http://schemas.example/role",
                claims=[{"typ": "http://schemas.example/role", "val": ADMIN_ROLE}])
    found = principal_of(req({"X-MS-CLIENT-PRINCIPAL": encoded(data)}))
    assert found is not None and ADMIN_ROLE in found.roles


@pytest.mark.parametrize("header", ["", "%%%", encoded([1, 2]), encoded({"claims": "nope"})[:-4] + "!!!!"])
def test_unreadable_headers_are_no_principal(header: str) -> None:
    assert principal_of(req({"X-MS-CLIENT-PRINCIPAL": header} if header else {})) is None


def test_without_app_service_authentication_the_function_key_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    assert authorize(req()) is None
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "false")
    assert authorize(req()) is None


def test_with_it_401_without_a_caller_403_without_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")

    with pytest.raises(Problem) as unauthenticated:
        authorize(req())
    without_role = dict(PRINCIPAL, claims=[{"typ": "name", "val": "Bo"}, {"typ": "roles", "val": "Reader"}])
    with pytest.raises(Problem) as forbidden:
        authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(without_role)}))
    allowed = authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(PRINCIPAL)}))

    assert unauthenticated.value.status == 401
    assert "WWW-Authenticate" in unauthenticated.value.headers
    assert forbidden.value.status == 403
    assert allowed is not None and allowed.name == "Ines Admin"

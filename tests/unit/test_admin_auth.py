"""App Service Authentication: who the caller is, the app roles, fail-closed authorization and the CSRF header."""

from __future__ import annotations

import base64
import json
from typing import Any

import azure.functions as func
import pytest

from shared.admin.auth import ADMIN_ROLE, READER_ROLE, authorize, check_csrf, principal_of
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


@pytest.fixture(autouse=True)
def no_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEBSITE_AUTH_ENABLED", "LEARNCAL_LOCAL_SIGN_IN", "WEBSITE_SITE_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("env", [{}, {"WEBSITE_AUTH_ENABLED": "false"},
                                 {"LEARNCAL_LOCAL_SIGN_IN": "true", "WEBSITE_SITE_NAME": "learncal-func"}])
def test_without_a_trusted_sign_in_even_an_admin_principal_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(Problem) as refused:
        authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(PRINCIPAL)}))

    assert refused.value.status == 401
    assert "App Service Authentication" in refused.value.detail and "learncal serve" in refused.value.detail


@pytest.mark.parametrize("env", [{"WEBSITE_AUTH_ENABLED": "True"}, {"LEARNCAL_LOCAL_SIGN_IN": "true"}])
def test_with_it_401_without_a_caller_403_without_the_role(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(Problem) as unauthenticated:
        authorize(req())
    without_role = dict(PRINCIPAL, claims=[{"typ": "name", "val": "Bo"}, {"typ": "roles", "val": "Other"}])
    with pytest.raises(Problem) as forbidden:
        authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(without_role)}))
    allowed = authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(PRINCIPAL)}))

    assert unauthenticated.value.status == 401
    assert "WWW-Authenticate" in unauthenticated.value.headers
    assert forbidden.value.status == 403
    assert "Bo" in forbidden.value.detail and "Users and groups" in forbidden.value.detail
    assert allowed.name == "Ines Admin"


def test_the_reader_reads_and_the_admin_does_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "true")
    reader = req({"X-MS-CLIENT-PRINCIPAL": encoded(dict(PRINCIPAL, claims=[{"typ": "roles", "val": READER_ROLE}]))})
    admin = req({"X-MS-CLIENT-PRINCIPAL": encoded(PRINCIPAL)})

    assert READER_ROLE in authorize(reader, READER_ROLE).roles
    assert ADMIN_ROLE in authorize(admin, READER_ROLE).roles
    with pytest.raises(Problem) as refused:
        authorize(reader, ADMIN_ROLE)
    assert refused.value.status == 403 and ADMIN_ROLE in refused.value.detail


def test_an_application_signed_in_with_client_credentials_is_named_by_its_app_id(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # an app-only token has no name claim; its roles claim carries the app role granted to the client
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "true")
    app_only = {"auth_typ": "aad", "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                "claims": [{"typ": "appid", "val": "11111111-2222-3333-4444-555555555555"},
                           {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": ADMIN_ROLE}]}

    found = authorize(req({"X-MS-CLIENT-PRINCIPAL": encoded(app_only)}))

    assert found.actor == "application 11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(("method", "headers", "allowed"), [
    ("GET", {}, True),
    ("POST", {}, False),
    ("PUT", {"X-Learncal-Request": "yes"}, False),
    ("DELETE", {"X-Learncal-Request": "1"}, True),
    ("POST", {"Authorization": "Bearer abc"}, True),
    ("POST", {"Authorization": "Basic abc"}, False),
])
def test_writes_need_the_custom_header_unless_a_bearer_token_is_sent(
    method: str, headers: dict[str, str], allowed: bool
) -> None:
    request = func.HttpRequest(method, "http://localhost/api/sync", body=b"", headers=headers)
    if allowed:
        check_csrf(request)
        return
    with pytest.raises(Problem) as refused:
        check_csrf(request)
    assert refused.value.status == 403 and "X-Learncal-Request: 1" in refused.value.detail

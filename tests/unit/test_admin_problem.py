"""Errors become RFC 9457 problem documents; unexpected ones say only their kind."""

from __future__ import annotations

import base64
import json
import logging

import azure.functions as func
import pytest

from shared.admin.http import dispatch, json_body, problem_for, query_value
from shared.admin.problem import PROBLEM_JSON, Problem
from shared.errors import ConfigurationError, RunInProgress, SignInFailed, UnknownOffering
from shared.provider.errors import InvalidInput, OrganizerChangeUnconfirmed, SecretNotStorable
from shared.secrets import SecretUnavailable

ADMIN = base64.b64encode(json.dumps({"claims": [{"typ": "roles", "val": "LearningCalendar.Admin"}]}).encode()).decode()


@pytest.fixture(autouse=True)
def signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)
    monkeypatch.setenv("LEARNCAL_LOCAL_SIGN_IN", "true")


def req(method: str = "GET", body: bytes = b"", url: str = "http://localhost/api/runs") -> func.HttpRequest:
    """A request from a signed-in administrator (the local sign-in's header), as the console sends it."""
    return func.HttpRequest(method, url, body=body, headers={"X-MS-CLIENT-PRINCIPAL": ADMIN, "X-Learncal-Request": "1"})


@pytest.mark.parametrize(("error", "status", "kind"), [
    (InvalidInput([{"field": "tenantId", "message": "must be a GUID"}]), 422, "validation"),
    (SecretNotStorable("no vault"), 422, "validation"),
    (OrganizerChangeUnconfirmed("consequence"), 409, "organizer-change-unconfirmed"),
    (UnknownOffering("no such offering"), 404, "unknown-offering"),
    (RunInProgress("busy"), 409, "run-in-progress"),
    (SecretUnavailable("vault said no.", "Grant it."), 502, "key-vault"),
    (SignInFailed("refused"), 502, "microsoft-365"),
    (ConfigurationError("Missing LEARNCAL_TENANT_ID"), 500, "configuration"),
])
def test_product_errors_map_to_problems(error: Exception, status: int, kind: str) -> None:
    problem = problem_for(error)

    assert (problem.status, problem.kind) == (status, kind)
    assert problem.to_json()["type"] == "urn:learncal:problem:" + kind


def test_an_unexpected_error_is_logged_and_described_only_by_kind(caplog: pytest.LogCaptureFixture) -> None:
    def boom(request: func.HttpRequest, principal: object) -> func.HttpResponse:
        raise RuntimeError("internal detail with s3cr3t")

    with caplog.at_level(logging.ERROR):
        response = dispatch(req(), {"GET": boom})

    body = json.loads(response.get_body())
    assert response.status_code == 500
    assert response.mimetype == PROBLEM_JSON
    assert body["detail"] == "The request failed unexpectedly (RuntimeError). See the logs."
    assert body["instance"] == "/api/runs"
    assert "s3cr3t" not in response.get_body().decode()


def test_a_method_that_is_not_served_is_405_with_allow() -> None:
    response = dispatch(req("DELETE"), {"GET": lambda r, p: func.HttpResponse("ok")})

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_bodies_and_queries() -> None:
    assert json_body(req(body=b"  "), required=False) is None
    assert json_body(req(body=b'{"a": 1}'), required=True) == {"a": 1}
    with pytest.raises(Problem) as malformed:
        json_body(req(body=b"\xff{"), required=True)
    assert malformed.value.status == 400
    with pytest.raises(Problem) as missing:
        json_body(req(), required=True)
    assert missing.value.errors == [{"field": "(body)", "message": "is required: send a JSON object"}]
    assert query_value(req(url="http://localhost/api/runs?limit=5"), "limit") == "5"
    assert query_value(req(), "limit") is None

"""Errors as RFC 9457 problem documents (`application/problem+json`).

One shape for every refusal lets a script tell what went wrong from `type` and `status`, and
a person from `title` and `detail`; validation refusals add `errors: [{field, message}]`.
Details are written by the product, never copied from the request, so nothing the caller
sent (such as a secret) is echoed back.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:learncal:problem:"

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid input",
    500: "Internal error",
    502: "A service the product depends on refused the request",
}


class Problem(Exception):
    """Raise anywhere in a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions or {}  # RFC 9457 extension members (e.g. a refused feed's preview)

    def to_json(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        for key, value in self.extensions.items():
            body.setdefault(key, value)
        return body

    def response(self, instance: str | None = None) -> func.HttpResponse:
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **self.headers}
        return func.HttpResponse(
            json.dumps(self.to_json(instance), ensure_ascii=False), status_code=self.status,
            headers=headers, mimetype=PROBLEM_JSON, charset="utf-8",
        )


def invalid(errors: list[dict[str, str]], detail: str | None = None) -> Problem:
    return Problem(422, "validation", detail or "Some fields are not valid; see errors.", errors=errors)

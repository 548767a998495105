"""The OpenAPI document: 3.1, loadable by a real OpenAPI tool, every route and schema in place."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

import function_app
from shared.admin.openapi import document

ADMIN_FUNCTIONS = ("provider", "provider_validate", "offering_reconcile", "sync_now", "runs", "run", "queue", "feed",
                   "feeds", "openapi", "audit_trail", "offerings", "offering", "jobs", "job", "allowance", "me",
                   "templates", "template", "template_preview", "rollout", "responses", "response_counts")


def refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value))
    return set()


def test_the_document_is_openapi_3_1_and_loads() -> None:
    doc = document()
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(doc)))

    assert doc["openapi"] == "3.1.0"
    assert len(list(schema.get_all_operations())) == 28


def test_every_reference_resolves_and_every_operation_is_named() -> None:
    doc = document()
    names = {"#/components/schemas/" + name for name in doc["components"]["schemas"]}
    assert refs(doc) <= names
    operations = [op for path in doc["paths"].values() for op in path.values()]
    assert len({op["operationId"] for op in operations}) == len(operations)
    assert all("401" in op["responses"] and "403" in op["responses"] for op in operations)


def test_the_paths_are_the_routes_the_functions_declare() -> None:
    routes = {"/" + str(getattr(function_app, name).build().get_trigger().route) for name in ADMIN_FUNCTIONS}
    # a concrete path the templates/{role}/{language} route serves (role "phrases"), documented on its own
    served_by_templates = {"/templates/phrases/{language}"}

    assert "/templates/{role}/{language}" in routes
    assert routes | served_by_templates == set(document()["paths"])


def test_the_secret_is_write_only_in_the_schema() -> None:
    secret = document()["components"]["schemas"]["ProviderInput"]["properties"]["clientSecret"]
    assert secret["anyOf"][0]["writeOnly"] is True

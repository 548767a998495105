"""The provider input model: strict shapes, every refusal naming its field, no value ever echoed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.provider.errors import InvalidInput
from shared.provider.model import SECRET_MASK, ProviderInput, SyncInput, ValidateInput, field_path, parse

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b5a1c3e-2d4f-4e6a-8b9c-0d1e2f3a4b5c"


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"status": "active", "tenantId": TENANT, "clientId": CLIENT,
                            "organizer": "learning.coordinator@contoso.example"}
    data.update(changes)
    return data


def errors(model: Any, data: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as raised:
        parse(model, data)
    return {e["field"]: e["message"] for e in raised.value.errors}


def test_a_complete_body_is_normalised() -> None:
    data = parse(ProviderInput, body(tenantId=TENANT.upper(), organizer=" Learning.Coordinator@Contoso.Example ",
                                     recipientAllowlist=["@Contoso.Example", "Ada@Contoso.Example"]))

    assert data.tenant_id == TENANT
    assert data.organizer == "learning.coordinator@contoso.example"
    assert data.recipient_allowlist == ["@contoso.example", "ada@contoso.example"]
    assert (data.auth_mode, data.confirm_organizer_change, data.new_secret()) == ("secret", False, None)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"tenantId": "contoso.onmicrosoft.com"}, "tenantId", "GUID"),
    ({"clientId": "0b5a1c3e2d4f4e6a8b9c0d1e2f3a4b5c"}, "clientId", "GUID"),
    ({"organizer": "coordinator"}, "organizer", "email"),
    ({"status": "enabled"}, "status", "'active' or 'inactive'"),
    ({"authMode": "certificate"}, "authMode", "'secret' or 'federated'"),
    ({"recipientAllowlist": ["@nodot", "ok@contoso.example"]}, "recipientAllowlist[0]", "@domain"),
    ({"recipientAllowlist": "ada@contoso.example"}, "recipientAllowlist", "list"),
    ({"confirmOrganizerChange": "true"}, "confirmOrganizerChange", "boolean"),
    ({"clientSecret": ""}, "clientSecret", "at least 1"),
    ({"extra": 1}, "extra", "not a known field"),
])
def test_each_refusal_names_its_field(change: dict[str, Any], field: str, words: str) -> None:
    found = errors(ProviderInput, body(**change))

    assert list(found) == [field]
    assert words in found[field]


def test_missing_fields_and_a_non_object_body_are_named() -> None:
    found = errors(ProviderInput, {})
    assert found.pop("organizers").startswith("is required: a list of one or more organizer mailboxes")
    assert found == {name: "is required" for name in ("status", "tenantId", "clientId")}
    assert errors(ProviderInput, ["not", "an", "object"]) == {"(body)": "must be a JSON object"}
    assert errors(SyncInput, {"dryRun": 1}) == {"dryRun": "Input should be a valid boolean"}


@given(st.text(min_size=1, max_size=80))
def test_no_error_repeats_what_was_sent(value: str) -> None:
    for field in ("tenantId", "clientId", "organizer", "status", "clientSecret", "authMode"):
        try:
            parse(ProviderInput, body(**{field: value + "\x00!"}))
        except InvalidInput as error:
            assert value + "\x00!" not in str(error)
            assert all(value + "\x00!" not in e["message"] for e in error.errors)


def test_the_secret_is_write_only_and_the_mask_means_unchanged() -> None:
    data = parse(ProviderInput, body(clientSecret="Abc1Q~s3cr3t"))
    assert data.new_secret() == "Abc1Q~s3cr3t"
    assert "Abc1Q~s3cr3t" not in repr(data)
    assert parse(ProviderInput, body(clientSecret=SECRET_MASK)).new_secret() is None


def test_a_validate_proposal_is_all_optional() -> None:
    assert parse(ValidateInput, {}).tenant_id is None
    assert list(errors(ValidateInput, {"probeMailbox": "x"})) == ["probeMailbox"]


def test_field_paths_read_like_the_json() -> None:
    assert field_path(("recipientAllowlist", 2)) == "recipientAllowlist[2]"
    assert field_path(()) == "(body)"

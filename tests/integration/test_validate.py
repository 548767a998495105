"""Validate, check by check, against the sandbox tenant with the real SDK clients over HTTPS.

Every check has a case where it passes and one where it does not; the scene is set the way
an administrator would set it (the app's roles, its Exchange scope, a user without a
mailbox, the vault's access), through the sandbox's admin endpoints.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import conftest_admin
import pytest
from click.testing import CliRunner
from conftest_admin import (
    OTHER_USER,
    VAULT_READER,
    World,
    payload,
    request,
)

from shared.cli import cli
from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.store.mapping import TableMappingStore

ALL = ("configuration", "sign-in", "application-permissions", "organizer-mailbox", "calendar-write",
       "mailbox-scope", "key-vault", "organizer-history")

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


def validate(world: World, body: dict[str, Any] | None = None, **settings: Any) -> dict[str, dict[str, Any]]:
    response = world.call("provider_validate", request("POST", "provider/validate", body),
                          world.services(**settings) if settings else None)
    assert response.status_code == 200, response.get_body()
    checks = payload(response)["checks"]
    assert [c["name"] for c in checks] == list(ALL)
    for check in checks:
        assert set(check) == {"name", "status", "detail", "fix"}
        assert check["status"] in ("pass", "warn", "fail")
        assert (check["fix"] is None) == (check["status"] == "pass")
    return {c["name"]: c for c in checks}


def scoped(world: World, **changes: Any) -> None:
    """Change what the tenant granted the product's app."""
    world.sandbox.put_app(world.info["clientId"], **changes)


def test_a_well_configured_tenant_passes_every_check_but_warns_about_an_unrestricted_app(world: World) -> None:
    checks = validate(world, {"probeMailbox": OTHER_USER})

    assert {n: c["status"] for n, c in checks.items()} == {n: "pass" for n in ALL} | {"mailbox-scope": "warn"}
    assert "RBAC for Applications" in checks["mailbox-scope"]["fix"]
    assert OTHER_USER in checks["mailbox-scope"]["detail"]


def test_the_probe_event_has_no_attendees_and_is_gone_afterwards(world: World) -> None:
    validate(world)

    organizer = world.info["organizer"]
    assert world.sandbox.calendar(organizer) == []
    assert all(world.sandbox.messages(m["address"]) == [] for m in world.sandbox.mailboxes())


def test_configuration_fails_when_the_organizer_is_missing(world: World) -> None:
    checks = validate(world, organizer=None)

    assert checks["configuration"]["status"] == "fail"
    assert "organizer" in checks["configuration"]["detail"]
    assert checks["sign-in"]["detail"].startswith("Not checked")


@pytest.mark.parametrize(("proposal", "code"), [
    ({"clientSecret": "not-the-secret"}, "AADSTS7000215"),
    ({"tenantId": str(uuid.uuid4())}, "AADSTS90002"),
    ({"clientId": str(uuid.uuid4())}, "AADSTS700016"),
])
def test_sign_in_fails_with_the_entra_code_and_a_plain_fix(world: World, proposal: dict[str, str], code: str) -> None:
    checks = validate(world, proposal)

    assert checks["sign-in"]["status"] == "fail"
    assert code in checks["sign-in"]["detail"]
    assert checks["sign-in"]["fix"]
    assert checks["organizer-mailbox"]["detail"] == "Not checked: sign-in failed."
    assert "not-the-secret" not in json.dumps(checks)


def test_delegated_permissions_fail_the_permission_check(world: World) -> None:
    scoped(world, delegatedOnly=True)

    check = validate(world)["application-permissions"]

    assert check["status"] == "fail"
    assert "delegated" in check["detail"]
    assert "APPLICATION permissions" in check["fix"]


def test_missing_user_read_all_fails_and_missing_calendars_readwrite_warns(world: World) -> None:
    scoped(world, roles=["Calendars.ReadWrite"])
    assert validate(world)["application-permissions"]["status"] == "fail"

    scoped(world, roles=["User.Read.All"])
    check = validate(world)["application-permissions"]
    assert check["status"] == "warn"
    assert "RBAC for Applications" in check["detail"]


def test_an_organizer_who_is_not_in_the_tenant_fails(world: World) -> None:
    checks = validate(world, {"organizer": "nobody@contoso.example"})

    assert checks["organizer-mailbox"]["status"] == "fail"
    assert "no user nobody@contoso.example" in checks["organizer-mailbox"]["detail"]
    assert checks["calendar-write"]["status"] == "warn"  # not checked


def test_an_organizer_without_a_mailbox_fails(world: World) -> None:
    world.sandbox.put_user("no.mailbox@contoso.example", hasMailbox=False)

    check = validate(world, {"organizer": "no.mailbox@contoso.example"})["organizer-mailbox"]

    assert check["status"] == "fail"
    assert "no Exchange Online mailbox" in check["detail"]
    assert "shared mailbox" in check["fix"]


def test_an_organizer_outside_the_apps_exchange_scope_fails(world: World) -> None:
    scoped(world, mailboxScope=[OTHER_USER])

    check = validate(world)["organizer-mailbox"]

    assert check["status"] == "fail"
    assert "Exchange scope" in check["detail"]


def test_calendar_write_fails_with_read_only_calendar_access(world: World) -> None:
    scoped(world, roles=["User.Read.All", "Calendars.Read"])

    checks = validate(world)

    assert checks["organizer-mailbox"]["status"] == "pass"
    assert checks["calendar-write"]["status"] == "fail"
    assert "cannot create events" in checks["calendar-write"]["detail"]


def test_an_app_limited_to_the_organizer_passes_the_scope_check(world: World) -> None:
    scoped(world, mailboxScope=[world.info["organizer"]])

    check = validate(world, {"probeMailbox": OTHER_USER})["mailbox-scope"]

    assert check["status"] == "pass"
    assert f"cannot read the calendar of {OTHER_USER}" in check["detail"]


def test_the_scope_check_warns_when_there_is_no_other_mailbox_to_test(world: World) -> None:
    world.sandbox.put_user("no.mailbox@contoso.example", hasMailbox=False)

    check = validate(world, {"probeMailbox": "no.mailbox@contoso.example"})["mailbox-scope"]

    assert check["status"] == "warn"
    assert "probeMailbox" in check["fix"]


def test_key_vault_fails_when_the_secret_is_not_there(world: World) -> None:
    checks = validate(world, client_secret_name="no-such-secret")

    assert checks["key-vault"]["status"] == "fail"
    assert "has no secret 'no-such-secret'" in checks["key-vault"]["detail"]
    assert checks["sign-in"]["status"] == "fail"


def test_key_vault_fails_when_the_identity_may_not_read_it(world: World) -> None:
    world.sandbox.put_app(VAULT_READER, vaultAccess=False)

    check = validate(world)["key-vault"]

    assert check["status"] == "fail"
    assert "Key Vault Secrets User" in check["fix"]


def test_a_secret_from_the_environment_is_only_a_warning(world: World) -> None:
    checks = validate(world, key_vault_url=None, client_secret=world.secret)

    assert checks["key-vault"]["status"] == "warn"
    assert checks["sign-in"]["status"] == "pass"


def test_invitations_from_another_organizer_are_a_warning(world: World) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(world.tables).put(SentRecord(
        key=InvitationKey("OFF-1", "ACT-1", OTHER_USER), organizer="old.coordinator@contoso.example",
        role="learner", state="live", key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1),
    ))

    check = validate(world)["organizer-history"]

    assert check["status"] == "warn"
    assert "old.coordinator@contoso.example" in check["detail"]
    assert "strand" in check["detail"]


def test_the_cli_prints_the_checks_as_json_and_exits_1_on_a_failure(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = world.info
    env = {
        "LEARNCAL_TENANT_ID": info["tenantId"], "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZER": info["organizer"], "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
        "LEARNCAL_GRAPH_URL": info["graphUrl"], "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "AzureWebJobsStorage": world.settings.storage_connection,
        "LEARNCAL_TABLE_PREFIX": "V" + uuid.uuid4().hex[:10],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    passing = CliRunner().invoke(cli, ["validate", "--json", "--probe-mailbox", OTHER_USER])
    monkeypatch.setenv("LEARNCAL_ORGANIZER", "nobody@contoso.example")
    failing = CliRunner().invoke(cli, ["validate", "--json"])

    assert passing.exit_code == 0, passing.output
    report = json.loads(passing.stdout)
    assert set(report) == {"checks"}
    assert [c["status"] for c in report["checks"]].count("fail") == 0
    assert failing.exit_code == 1
    assert any(c["status"] == "fail" for c in json.loads(failing.stdout)["checks"])
    assert world.secret not in passing.output + failing.output


def test_the_organizer_itself_is_no_probe_for_the_scope(world: World) -> None:
    check = validate(world, {"probeMailbox": world.info["organizer"]})["mailbox-scope"]

    assert check["status"] == "warn"
    assert "organizer itself" in check["detail"]


def test_the_scope_check_finds_a_mailbox_to_probe_by_itself(world: World) -> None:
    world.sandbox.put_user(OTHER_USER, hasMailbox=True)
    scoped(world, mailboxScope=[world.info["organizer"]])

    check = validate(world)["mailbox-scope"]  # no probeMailbox: the tenant's users are listed

    assert check["status"] == "pass"
    assert f"cannot read the calendar of {OTHER_USER}" in check["detail"]


def test_the_configuration_check_names_the_allowlists_in_force_and_where_each_came_from(world: World) -> None:
    from shared.provider.store import ProviderConfig, ProviderStore

    ProviderStore(world.tables).save(ProviderConfig(
        status="active", tenant_id=world.info["tenantId"], client_id=world.info["clientId"],
        organizer=world.info["organizer"], recipient_allowlist=(OTHER_USER,)))

    detail = validate(world, recipient_allowlist=("@contoso.example",))["configuration"]["detail"]

    assert f"only {OTHER_USER} invited" in detail
    assert "LEARNCAL_RECIPIENT_ALLOWLIST (@contoso.example)" in detail and f"the stored list ({OTHER_USER})" in detail

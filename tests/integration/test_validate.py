"""Validate, check by check, against the sandbox tenant with the real SDK clients over HTTPS.

Every check has a case where it passes and one where it does not; the scene is set the way
an administrator would set it (the app's roles, its Exchange scope, a user without a
mailbox, the vault's access), through the sandbox's admin endpoints.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import conftest_admin
import pytest
from azure.core.exceptions import ResourceNotFoundError
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
from shared.errors import RunInProgress
from shared.planning.sent import SentRecord
from shared.store.lease import LeaseStore
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
        assert set(check) - {"mailbox"} == {"name", "status", "detail", "fix"}
        if "mailbox" in check:  # the checks made once per organizer-pool mailbox say which
            assert check["name"] in ("organizer-mailbox", "calendar-write")
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
    checks = validate(world, organizer=None, organizers=())

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


def test_missing_user_read_all_fails_and_so_does_no_calendar_grant_anywhere(world: World) -> None:
    scoped(world, roles=["Calendars.ReadWrite"])
    assert validate(world)["application-permissions"]["status"] == "fail"

    scoped(world, roles=["User.Read.All"])  # no Entra calendar role, and no Exchange grant either
    checks = validate(world)
    assert checks["application-permissions"]["status"] == "fail"
    assert "refuses the app" in checks["application-permissions"]["detail"]
    assert "Application Calendars.ReadWrite" in checks["application-permissions"]["fix"]
    assert checks["organizer-mailbox"]["status"] == "fail"


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


# -- the organizer's names: a shared mailbox's sign-in name often differs from its address ----------------

DESK = "learning.desk@contoso.example"
DESK_UPN = "lc-desk-7f3a@contoso.onmicrosoft.example"
DESK_ALIAS = "training@contoso.example"


def desk(world: World) -> None:
    world.sandbox.put_user(DESK, displayName="Learning Desk", userPrincipalName=DESK_UPN,
                           proxyAddresses=[f"smtp:{DESK_ALIAS}"], mailboxType="shared")


def test_an_organizer_given_by_its_address_is_found_although_its_sign_in_name_differs(world: World) -> None:
    desk(world)

    checks = validate(world, {"organizer": DESK, "probeMailbox": OTHER_USER})

    assert checks["organizer-mailbox"]["status"] == "pass", checks["organizer-mailbox"]
    assert f"Organizer found: UPN {DESK_UPN}, address {DESK}" in checks["organizer-mailbox"]["detail"]
    assert checks["calendar-write"]["status"] == "pass"
    assert world.sandbox.calendar(DESK) == []  # the probe event is gone again


def test_an_organizer_given_by_its_sign_in_name_passes_and_names_its_address(world: World) -> None:
    desk(world)

    check = validate(world, {"organizer": DESK_UPN})["organizer-mailbox"]

    assert check["status"] == "pass"
    assert f"address {DESK}" in check["detail"]


def test_an_organizer_given_by_an_alias_is_found_and_the_calendar_is_asked_under_that_alias(world: World) -> None:
    desk(world)

    checks = validate(world, {"organizer": DESK_ALIAS})
    check = checks["organizer-mailbox"]

    # The directory finds the alias; Graph's calendar endpoints take the primary address (the sandbox
    # does not take aliases there), and the sync addresses the calendar by the configured name.
    assert f"Organizer found: UPN {DESK_UPN}, address {DESK}" in check["detail"]
    assert f"{DESK_ALIAS} is one of its aliases" in check["detail"]
    assert check["status"] == "fail"
    assert check["fix"] == f"Set the organizer to the primary address {DESK}."


def test_someone_elses_address_is_not_taken_for_the_organizer(world: World) -> None:
    desk(world)

    check = validate(world, {"organizer": "learning.des@contoso.example"})["organizer-mailbox"]

    assert check["status"] == "fail"
    assert "no user learning.des@contoso.example" in check["detail"]


# -- one sender per mailbox: Validate stays out of a mailbox a run is sending from -------------------------

def test_while_a_run_holds_the_organizer_mailbox_validate_does_not_probe_it(world: World) -> None:
    organizer = world.info["organizer"]
    run = LeaseStore(world.tables).acquire(organizer, seconds=300)  # a sync run in another process
    world.sandbox.reset_stats()

    checks = validate(world, {"probeMailbox": OTHER_USER})

    for name in ("organizer-mailbox", "calendar-write"):
        assert checks[name]["status"] == "warn"
        assert "A sync run is sending from this mailbox; checked later." in checks[name]["detail"]
    assert world.sandbox.stats()["writes"] == 0  # no probe event was created beside the run
    assert checks["mailbox-scope"]["status"] == "warn"  # another mailbox is still asked: unrestricted
    assert checks["application-permissions"]["status"] == "pass"
    LeaseStore(world.tables).release(run)
    assert validate(world)["calendar-write"]["status"] == "pass"


def test_no_run_can_start_while_validate_probes_the_organizer_mailbox(world: World) -> None:
    organizer = world.info["organizer"]
    # the organizer's calendar answers slowly, so Validate is caught in the middle of its probes
    world.sandbox.configure(faults=[{"method": "GET", "path": f"/users/{organizer}/calendar", "status": None,
                                     "latency": 1.5}])
    leases = world.tables["leases"]
    results: list[dict[str, dict[str, Any]]] = []
    validating = threading.Thread(target=lambda: results.append(validate(world)))
    validating.start()

    held = False
    while validating.is_alive() and not held:  # the lease row shows a holder once Validate has the mailbox
        with contextlib.suppress(ResourceNotFoundError):
            held = bool(leases.get_entity("lease", organizer)["Holder"])
        time.sleep(0.02)
    with pytest.raises(RunInProgress):
        LeaseStore(world.tables).acquire(organizer, seconds=60)  # a sync run starting now
    validating.join()

    assert held
    assert results[0]["calendar-write"]["status"] == "pass"
    assert LeaseStore(world.tables).acquire(organizer, seconds=60).holder  # and once Validate is done, it can


def test_a_run_holding_the_mailbox_under_its_sign_in_name_keeps_validate_out_too(world: World) -> None:
    desk(world)
    LeaseStore(world.tables).acquire(DESK_UPN, seconds=300)

    check = validate(world, {"organizer": DESK})["organizer-mailbox"]

    assert check["status"] == "warn"
    assert "checked later" in check["detail"]


def test_validate_gives_the_mailbox_back_when_done(world: World) -> None:
    organizer = world.info["organizer"]

    assert validate(world)["calendar-write"]["status"] == "pass"

    lease = LeaseStore(world.tables).acquire(organizer, seconds=60)  # a run can start at once
    assert lease.holder


# -- the app's mailbox restriction: RBAC for Applications, an application access policy, or none ----------

def test_rbac_for_applications_passes_for_an_organizer_whose_sign_in_name_differs(world: World) -> None:
    desk(world)
    scoped(world, exchangeScoping="rbacForApplications", mailboxScope=[DESK])  # the token has no Calendars role

    checks = validate(world, {"organizer": DESK, "probeMailbox": OTHER_USER})

    assert {n: c["status"] for n, c in checks.items()} == {n: "pass" for n in ALL}, checks
    assert "RBAC for Applications grants calendar access per mailbox" in checks["application-permissions"]["detail"]
    assert f"Organizer found: UPN {DESK_UPN}, address {DESK}" in checks["organizer-mailbox"]["detail"]
    assert checks["mailbox-scope"]["detail"].startswith("Scoping detected: RBAC for Applications.")
    assert f"cannot read the calendar of {OTHER_USER}" in checks["mailbox-scope"]["detail"]


def test_rbac_for_applications_with_an_organizer_given_by_alias(world: World) -> None:
    desk(world)
    scoped(world, exchangeScoping="rbacForApplications", mailboxScope=[DESK])

    checks = validate(world, {"organizer": DESK_ALIAS, "probeMailbox": OTHER_USER})

    assert f"Organizer found: UPN {DESK_UPN}, address {DESK}" in checks["organizer-mailbox"]["detail"]
    assert checks["organizer-mailbox"]["fix"] == f"Set the organizer to the primary address {DESK}."
    assert checks["mailbox-scope"]["detail"].startswith("Scoping detected: RBAC for Applications.")
    assert OTHER_USER in checks["mailbox-scope"]["detail"]  # the organizer's other names are never the probe


@pytest.mark.parametrize(("scoping", "label", "command"), [
    ("rbacForApplications", "RBAC for Applications",
     "Test-ServicePrincipalAuthorization -Identity {app} -Resource {organizer}"),
    ("applicationAccessPolicy", "application access policy",
     "Test-ApplicationAccessPolicy -Identity {organizer} -AppId {app}"),
])
def test_an_organizer_outside_the_scope_fails_with_the_fix_for_that_scoping(
    world: World, scoping: str, label: str, command: str
) -> None:
    organizer, app = world.info["organizer"], world.info["clientId"]
    scoped(world, exchangeScoping=scoping, mailboxScope=[OTHER_USER])

    checks = validate(world)
    check = checks["organizer-mailbox"]

    assert check["status"] == "fail"
    assert f"{organizer} is outside the app's Exchange scope ({label})" in check["detail"]
    assert command.format(app=app, organizer=organizer) in check["fix"]
    assert checks["calendar-write"]["detail"].startswith("Not checked")
    # without the Entra role, nothing grants the organizer's calendar: the permission check fails too
    assert checks["application-permissions"]["status"] == ("fail" if scoping == "rbacForApplications" else "pass")


def test_an_application_access_policy_is_detected_by_todays_wording(world: World) -> None:
    scoped(world, exchangeScoping="applicationAccessPolicy", mailboxScope=[world.info["organizer"]])

    check = validate(world, {"probeMailbox": OTHER_USER})["mailbox-scope"]

    assert check["status"] == "pass"
    assert check["detail"].startswith("Scoping detected: application access policy.")
    assert "[RAOP]" in check["detail"]
    assert "RBAC for Applications" in check["detail"]  # Microsoft's advice to move


@pytest.mark.parametrize(("scoping", "grant_advice"), [("none", True), ("rbacForApplications", False)])
def test_an_unrestricted_app_is_a_warning_with_the_fix(world: World, scoping: str, grant_advice: bool) -> None:
    scoped(world, exchangeScoping=scoping, mailboxScope=None)  # an RBAC assignment without a scope reaches all

    checks = validate(world, {"probeMailbox": OTHER_USER})
    check = checks["mailbox-scope"]

    assert check["status"] == "warn"
    assert check["detail"].startswith("Scoping detected: not restricted (the app can reach every mailbox).")
    assert "-CustomResourceScope" in check["fix"]
    assert ("remove the tenant-wide Calendars.ReadWrite grant" in check["fix"]) is grant_advice
    assert checks["organizer-mailbox"]["status"] == "pass"


def test_the_configuration_check_names_the_allowlists_in_force_and_where_each_came_from(world: World) -> None:
    from shared.provider.store import ProviderConfig, ProviderStore

    ProviderStore(world.tables).save(ProviderConfig(
        status="active", tenant_id=world.info["tenantId"], client_id=world.info["clientId"],
        organizer=world.info["organizer"], recipient_allowlist=(OTHER_USER,)))

    detail = validate(world, recipient_allowlist=("@contoso.example",))["configuration"]["detail"]

    assert f"only {OTHER_USER} invited" in detail
    assert "LEARNCAL_RECIPIENT_ALLOWLIST (@contoso.example)" in detail and f"the stored list ({OTHER_USER})" in detail


def test_a_queue_setting_naming_another_queue_than_the_installations_fails_with_the_value_to_set(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEARNCAL_RUNS_QUEUE", "learncal-runs")  # the default prefix's queue, not this installation's
    response = world.call("provider_validate", request("POST", "provider/validate", {}))

    checks = {c["name"]: c for c in payload(response)["checks"]}
    assert checks["queues"]["status"] == "fail"
    wanted = f"{world.tables.prefix.lower()}-runs"
    detail = checks["queues"]["detail"]
    assert f"Set LEARNCAL_RUNS_QUEUE={wanted}" in detail and "run_worker" in detail
    assert "azd provision" in checks["queues"]["fix"]

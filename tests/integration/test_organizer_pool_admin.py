"""The organizer pool through the admin API and Validate, against the sandbox tenant and Azurite.

Each pool mailbox is a sandbox user created as an administrator would (`PUT /_sandbox/users`),
and the app's Exchange scope is set through the sandbox's app endpoint.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import conftest_admin
import pytest
from click.testing import CliRunner
from conftest_admin import OTHER_USER, World, payload, provider_body, request

from shared.cli import cli
from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.provider.store import ProviderStore
from shared.store.mapping import TableMappingStore

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

DESK_TWO = "learning.desk2@contoso.example"
DESK_THREE = "learning.desk3@contoso.example"
MISSING = "nobody.here@contoso.example"


def pool(world: World) -> list[str]:
    return [world.info["organizer"], DESK_TWO, DESK_THREE]


def add_desks(world: World) -> None:
    world.sandbox.put_user(DESK_TWO, displayName="Learning Desk 2", hasMailbox=True)
    world.sandbox.put_user(DESK_THREE, displayName="Learning Desk 3", hasMailbox=True, mailboxType="shared")


def put_provider(world: World, body: dict[str, Any]) -> Any:
    return world.call("provider", request("PUT", "provider", body))


def errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.get_body()
    return {e["field"]: e["message"] for e in payload(response)["errors"]}


def per_mailbox(checks: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    return {c["mailbox"]: c for c in checks if c["name"] == name}


# -- provider configuration ------------------------------------------------------------------------

def test_a_pool_is_saved_lower_cased_and_read_back_with_its_first_mailbox_as_organizer(world: World) -> None:
    add_desks(world)
    body = provider_body(world, organizers=[m.upper() for m in pool(world)] + [DESK_TWO])
    del body["organizer"]

    saved = put_provider(world, body)

    assert saved.status_code == 200, saved.get_body()
    shown = payload(world.call("provider", request("GET", "provider")))
    assert shown["organizers"] == pool(world)  # lower-cased, the repeated mailbox once
    assert shown["organizer"] == world.info["organizer"]
    stored = ProviderStore(world.tables).load()
    assert stored is not None and stored.organizers == tuple(pool(world))


def test_a_single_organizer_is_still_accepted_as_a_pool_of_one(world: World) -> None:
    saved = put_provider(world, provider_body(world))

    assert saved.status_code == 200
    assert payload(saved)["organizers"] == [world.info["organizer"]]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"organizers": ["ok@contoso.example", "not an address"]}, "organizers[1]", "email"),
    ({"organizers": []}, "organizers", "at least 1"),
    ({"organizers": ["a@contoso.example"], "organizer": "b@contoso.example"}, "organizer", "must be one of organizers"),
    ({"organizer": None}, "organizers", "is required"),
])
def test_a_bad_pool_names_the_field_and_the_fix(world: World, changes: dict[str, Any], field: str,
                                                words: str) -> None:
    body = provider_body(world)
    body.pop("organizer")
    body.update(changes)

    found = errors(put_provider(world, body))

    assert field in found, found
    assert words in found[field]
    assert ProviderStore(world.tables).load() is None


def test_removing_a_mailbox_with_open_invitations_from_the_pool_needs_confirmation(world: World) -> None:
    add_desks(world)
    assert put_provider(world, provider_body(world, organizers=pool(world))).status_code == 200
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(world.tables).put(SentRecord(
        key=InvitationKey("OFF-1", "ACT-1", OTHER_USER), organizer=DESK_THREE, role="learner", state="live",
        key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1),
    ))
    smaller = provider_body(world, organizers=pool(world)[:2])

    refused = world.call("provider", request("PUT", "provider", smaller))

    assert refused.status_code == 409
    detail = payload(refused)["detail"]
    assert DESK_THREE in detail and "confirmOrganizerChange" in detail
    assert "pinned anew" in detail
    accepted = put_provider(world, dict(smaller, confirmOrganizerChange=True))
    assert accepted.status_code == 200
    assert payload(accepted)["organizers"] == pool(world)[:2]
    # adding a mailbox strands nothing: no confirmation
    assert put_provider(world, provider_body(world, organizers=pool(world))).status_code == 200


# -- Validate ----------------------------------------------------------------------------------------

def validate(world: World, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = world.call("provider_validate", request("POST", "provider/validate", body))
    assert response.status_code == 200, response.get_body()
    return list(payload(response)["checks"])


def test_validate_checks_every_pool_mailbox_and_names_the_one_missing(world: World) -> None:
    add_desks(world)

    checks = validate(world, {"organizers": [*pool(world), MISSING], "probeMailbox": OTHER_USER})

    mailboxes = per_mailbox(checks, "organizer-mailbox")
    assert list(mailboxes) == [*pool(world), MISSING]
    assert {m: c["status"] for m, c in mailboxes.items()} == {**{m: "pass" for m in pool(world)}, MISSING: "fail"}
    assert f"no user {MISSING}" in mailboxes[MISSING]["detail"]
    assert "create the mailbox" in mailboxes[MISSING]["fix"]
    writes = per_mailbox(checks, "calendar-write")
    assert {m: c["status"] for m, c in writes.items()} == {**{m: "pass" for m in pool(world)}, MISSING: "warn"}
    assert "organizer pool" in next(c for c in checks if c["name"] == "configuration")["detail"]


def test_a_pool_mailbox_without_a_mailbox_fails_with_its_fix(world: World) -> None:
    add_desks(world)
    world.sandbox.put_user(DESK_THREE, hasMailbox=False)

    mailboxes = per_mailbox(validate(world, {"organizers": pool(world)}), "organizer-mailbox")

    assert mailboxes[DESK_THREE]["status"] == "fail"
    assert "no Exchange Online mailbox" in mailboxes[DESK_THREE]["detail"]
    assert "shared mailbox" in mailboxes[DESK_THREE]["fix"]
    assert mailboxes[DESK_TWO]["status"] == "pass"


@pytest.mark.parametrize(("scoping", "label", "check"), [
    ("rbacForApplications", "RBAC for Applications",
     "Test-ServicePrincipalAuthorization -Identity {app} -Resource {mb}"),
    ("applicationAccessPolicy", "application access policy",
     "Test-ApplicationAccessPolicy -Identity {mb} -AppId {app}"),
])
def test_a_scope_covering_the_whole_pool_passes_and_one_left_out_fails_with_the_scope_fix(
    world: World, scoping: str, label: str, check: str,
) -> None:
    add_desks(world)
    world.sandbox.put_user(OTHER_USER, hasMailbox=True)
    # one management scope (RBAC for Applications) or one policy group over the whole pool
    world.sandbox.put_app(world.info["clientId"], mailboxScope=pool(world), exchangeScoping=scoping)

    covered = validate(world, {"organizers": pool(world), "probeMailbox": OTHER_USER})

    assert {c["status"] for c in covered if c["name"] in ("organizer-mailbox", "calendar-write")} == {"pass"}, covered
    scope = next(c for c in covered if c["name"] == "mailbox-scope")
    assert scope["status"] == "pass" and label in scope["detail"]

    world.sandbox.put_app(world.info["clientId"], mailboxScope=pool(world)[:2])
    partly = per_mailbox(validate(world, {"organizers": pool(world), "probeMailbox": OTHER_USER}),
                         "organizer-mailbox")
    assert partly[DESK_THREE]["status"] == "fail"
    assert "outside the app's Exchange scope" in partly[DESK_THREE]["detail"]
    assert check.format(app=world.info["clientId"], mb=DESK_THREE) in partly[DESK_THREE]["fix"]
    assert partly[DESK_TWO]["status"] == "pass"


def test_the_cli_names_the_mailbox_that_failed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    add_desks(world)
    info = world.info
    env = {
        "LEARNCAL_TENANT_ID": info["tenantId"], "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZERS": f"{info['organizer']},{MISSING},{DESK_TWO}",
        "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"], "LEARNCAL_GRAPH_URL": info["graphUrl"],
        "LEARNCAL_AUTHORITY_URL": info["authorityUrl"], "AzureWebJobsStorage": world.settings.storage_connection,
        "LEARNCAL_TABLE_PREFIX": "V" + uuid.uuid4().hex[:10],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEARNCAL_ORGANIZER", raising=False)

    result = CliRunner().invoke(cli, ["validate", "--json", "--probe-mailbox", OTHER_USER])

    assert result.exit_code == 1, result.output
    failed = [c for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"]
    assert [(c["name"], c.get("mailbox")) for c in failed] == [("organizer-mailbox", MISSING)]

    monkeypatch.setenv("LEARNCAL_ORGANIZERS", f"{info['organizer']},{DESK_TWO}")
    monkeypatch.setenv("LEARNCAL_ORGANIZER", DESK_THREE)  # left out of the pool: ignored, and said so
    both = CliRunner().invoke(cli, ["validate", "--json", "--probe-mailbox", OTHER_USER])
    configuration = next(c for c in json.loads(both.stdout)["checks"] if c["name"] == "configuration")
    assert configuration["status"] == "warn"
    assert f"LEARNCAL_ORGANIZER ({DESK_THREE}) is ignored" in configuration["detail"]
    assert configuration["fix"] == "Remove LEARNCAL_ORGANIZER, or add its mailbox to LEARNCAL_ORGANIZERS."
    assert both.exit_code == 0, both.output  # a warning, not a failure: the pool is complete


def test_the_cli_saves_a_pool_and_names_a_bad_entry(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    add_desks(world)
    conftest_admin.cli_environment(world, monkeypatch)

    saved = CliRunner().invoke(cli, ["provider", "set", "--organizers", ",".join(pool(world))])
    refused = CliRunner().invoke(cli, ["provider", "set", "--organizers", f"{DESK_TWO},desk three"])

    assert saved.exit_code == 0, saved.output
    assert json.loads(saved.stdout)["organizers"] == pool(world)
    assert refused.exit_code == 1
    assert "organizers[1]" in refused.stderr and "email" in refused.stderr
    shown = json.loads(CliRunner().invoke(cli, ["provider", "show"]).stdout)
    assert shown["organizers"] == pool(world)  # the refused change left the saved pool as it was


def test_open_invitations_of_pool_mailboxes_are_no_warning_but_of_one_that_left_are(world: World) -> None:
    add_desks(world)
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(world.tables).put(SentRecord(
        key=InvitationKey("OFF-1", "ACT-1", OTHER_USER), organizer=DESK_TWO, role="learner", state="live",
        key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1),
    ))

    def history(organizers: list[str]) -> dict[str, Any]:
        return next(c for c in validate(world, {"organizers": organizers}) if c["name"] == "organizer-history")

    assert history(pool(world))["status"] == "pass"
    left = history([world.info["organizer"], DESK_THREE])
    assert left["status"] == "warn" and DESK_TWO in left["detail"] and "outside the organizer pool" in left["detail"]

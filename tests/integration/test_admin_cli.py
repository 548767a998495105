"""`learncal provider show|set` and `learncal validate`: the admin API's operations on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import conftest_admin
import pytest
from click.testing import CliRunner, Result
from conftest_admin import OTHER_USER, World

from shared.cli import cli
from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.provider.store import ProviderStore
from shared.settings import Settings
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.tables import Tables, table_service

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


@pytest.fixture
def environment(world: World, monkeypatch: pytest.MonkeyPatch) -> Tables:
    """The settings as app settings (the CLI reads the environment); tables of their own."""
    prefix = conftest_admin.cli_environment(world, monkeypatch)
    return Tables(table_service(Settings.from_env()), prefix=prefix)


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_show_prints_the_configuration_with_the_secret_masked(world: World, environment: Tables) -> None:
    result = run("provider", "show")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["source"], shown["clientSecret"]) == ("environment", "********")
    assert world.secret not in result.output


def test_set_changes_the_given_values_and_reads_the_secret_from_stdin(world: World, environment: Tables) -> None:
    new_secret = world.sandbox.add_client_secret(world.info["clientId"])

    result = run("provider", "set", "--status", "inactive", "--allowlist", "@contoso.example",
                 "--client-secret-stdin", stdin=new_secret + "\n")

    assert result.exit_code == 0, result.output
    saved = json.loads(result.stdout)
    assert (saved["status"], saved["recipientAllowlist"], saved["organizer"]) == (
        "inactive", ["@contoso.example"], world.info["organizer"])
    assert "will no longer be updated" in result.stderr
    assert new_secret not in result.output
    stored = ProviderStore(environment).load()
    assert stored is not None and stored.status == "inactive"


def test_set_refuses_bad_values_and_an_unconfirmed_organizer_change_in_one_line(
    world: World, environment: Tables
) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(environment).put(SentRecord(
        key=InvitationKey("OFF-1", "ACT-1", OTHER_USER), organizer=world.info["organizer"], role="learner",
        state="live", key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1),
    ))

    bad = run("provider", "set", "--tenant-id", "contoso")
    unconfirmed = run("provider", "set", "--organizer", "new.coordinator@contoso.example")
    confirmed = run("provider", "set", "--organizer", "new.coordinator@contoso.example", "--confirm-organizer-change")

    assert bad.exit_code == 1 and bad.stderr.startswith("Error: tenantId: must be a GUID")
    assert unconfirmed.exit_code == 1
    assert len(unconfirmed.stderr.strip().splitlines()) == 1
    assert "--confirm-organizer-change" in unconfirmed.stderr
    assert confirmed.exit_code == 0, confirmed.output


def test_validate_prints_one_line_per_check_with_its_fix(world: World, environment: Tables) -> None:
    result = run("validate", "--probe-mailbox", OTHER_USER)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PASS  configuration:")
    assert any(line.startswith("WARN  mailbox-scope:") for line in lines)
    assert any(line.strip().startswith("fix: Limit the app") for line in lines)


def test_set_keeps_the_stored_allowlist_unless_told_and_confirms_its_removal(
    world: World, environment: Tables, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEARNCAL_RECIPIENT_ALLOWLIST", "@contoso.example")
    assert run("provider", "set", "--allowlist", OTHER_USER).exit_code == 0

    other_change = run("provider", "set", "--status", "inactive")
    unconfirmed = run("provider", "set", "--allowlist", "")
    shown = json.loads(run("provider", "show").stdout)
    removed = run("provider", "set", "--allowlist", "", "--confirm-allowlist-removal")

    assert json.loads(other_change.stdout)["recipientAllowlist"] == [OTHER_USER]
    assert unconfirmed.exit_code == 1 and len(unconfirmed.stderr.strip().splitlines()) == 1
    assert "--confirm-allowlist-removal" in unconfirmed.stderr
    assert shown["allowlistsInForce"] == [
        {"source": "environment", "setting": "LEARNCAL_RECIPIENT_ALLOWLIST", "entries": ["@contoso.example"]},
        {"source": "stored", "entries": [OTHER_USER]}]
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["effectiveAllowlist"] == ["@contoso.example"]
    stored = ProviderStore(environment).load()
    assert stored is not None and stored.recipient_allowlist == ()


def test_changes_on_the_command_line_are_audited_with_the_actor_and_never_the_secret(
    world: World, environment: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNCAL_ACTOR", "ops.admin@contoso.example")
    new_secret = world.sandbox.add_client_secret(world.info["clientId"])
    assert run("provider", "set", "--status", "inactive", "--client-secret-stdin",
               stdin=new_secret + "\n").exit_code == 0

    listed = run("audit", "--json")
    table = run("audit")

    assert listed.exit_code == 0, listed.output
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["action"], e["actor"]) for e in entries] == [("secret.set", "ops.admin@contoso.example"),
                                                            ("provider.save", "ops.admin@contoso.example")]
    assert entries[1]["changes"]["changed"]["status"] == {"from": "active", "to": "inactive"}
    assert entries[0]["changes"]["secret"] == "set"
    assert new_secret not in listed.output and new_secret not in table.output
    assert "ops.admin@contoso.example  provider.save  provider" in table.stdout
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert run("audit", "--json", "--since", tomorrow).stdout == ""
    refused = run("audit", "--since", "last week")
    assert refused.exit_code == 2 and "--since" in refused.output


def test_without_learncal_actor_the_cli_names_the_os_user_at_this_host(
    world: World, environment: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass
    import socket

    monkeypatch.delenv("LEARNCAL_ACTOR", raising=False)
    OfferingStore(environment).save(OfferingState("OFF-3", "Three"))

    assert run("reconcile", "OFF-3").exit_code == 0
    (entry,) = [json.loads(line) for line in run("audit", "--json").stdout.splitlines()]

    assert (entry["action"], entry["target"]) == ("offering.reconcile", "OFF-3")
    assert entry["actor"] == f"{getpass.getuser()}@{socket.gethostname()}"


def test_set_saves_the_default_language_and_refuses_a_tag_cldr_does_not_know(
    world: World, environment: Tables
) -> None:
    saved = run("provider", "set", "--default-language", "FR-ch")
    refused = run("provider", "set", "--default-language", "zz-qq-1")

    assert saved.exit_code == 0, saved.output
    assert json.loads(saved.stdout)["defaultLanguage"] == "fr-CH"
    assert refused.exit_code == 1 and refused.stderr.startswith("Error: defaultLanguage:")
    stored = ProviderStore(environment).load()
    assert stored is not None and stored.default_language == "fr-CH"

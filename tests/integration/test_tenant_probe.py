"""`learncal tenant-probe` against the sandbox, in each setting of the switches it measures.

The sandbox stands in for a test tenant: each switch is set through /_sandbox/config (or the
app's Exchange scope through /_sandbox/apps), the probe runs through the real msgraph-sdk
client, and its observations must name the setting in force. Expected values come from the
setting chosen here, never from the probe's own code. Every test also checks that no probe
meeting is left and that nobody but the named test attendee received anything.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest_sandbox import Harness

from shared.cli import cli
from shared.local.azurite import RunningAzurite
from shared.local.demo import sandbox_environment
from shared.probe import ProbeTarget, TenantProfile, run_probe
from shared.settings import Settings

ATTENDEE = "probe.attendee@contoso.example"
# Latency on every events read keeps the two batches in flight together, as a real mailbox's
# round trips do; without it the sandbox answers each batch before the next one arrives.
SLOW_READS = {"method": "GET", "path": "/users/*/events", "status": None, "latency": 0.15}


@pytest.fixture
def tenant(sandbox: Harness, azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The sandbox with the test attendee as a tenant user; realism reset afterwards as well.

    The environment is an installation's (tables of its own in Azurite), as `learncal sync` sees it.
    """
    env = {**sandbox_environment(sandbox.info, azurite.connection_string),
           "LEARNCAL_TABLE_PREFIX": "P" + uuid.uuid4().hex[:10]}
    for name, value in env.items():  # the product's clients read the CA from SSL_CERT_FILE / REQUESTS_CA_BUNDLE
        monkeypatch.setenv(name, value)
    sandbox.admin.put_user(ATTENDEE, displayName="Probe Attendee")
    yield sandbox
    sandbox.admin.reset()


def probe(sandbox: Harness) -> TenantProfile:
    return run_probe(Settings.from_env(), ProbeTarget.parse(sandbox.organizer, ATTENDEE))


def results(profile: TenantProfile) -> dict[str, str]:
    return {name: observation.result for name, observation in profile.observations.items()}


def assert_nothing_left(sandbox: Harness) -> None:
    """No probe meeting in either calendar; nobody but the attendee was sent anything."""
    leftovers = [m for m in sandbox.admin.calendar(sandbox.organizer) if "tenant probe" in m["subject"]]
    assert leftovers == []
    assert sandbox.admin.calendar(ATTENDEE) == []
    for mailbox in sandbox.admin.mailboxes():
        if mailbox["address"].lower() not in (ATTENDEE, sandbox.organizer.lower()):
            assert sandbox.admin.messages(mailbox["address"]) == [], mailbox["address"]
    senders = {m["from"].lower() for m in sandbox.admin.messages(ATTENDEE)}
    assert senders <= {sandbox.organizer.lower()}


def test_refuses_without_both_names_and_sends_nothing(tenant: Harness) -> None:
    tenant.admin.reset_stats()
    runner = CliRunner()
    for args in (["--mailbox", tenant.organizer], ["--attendee", ATTENDEE], []):
        outcome = runner.invoke(cli, ["tenant-probe", *args])
        assert outcome.exit_code == 1
        assert "tenant-probe needs" in outcome.output
        missing = [o for o in ("--mailbox", "--attendee") if o not in args]
        assert all(option in outcome.output.split(":")[1] for option in missing)
    same = runner.invoke(cli, ["tenant-probe", "--mailbox", ATTENDEE, "--attendee", ATTENDEE.upper()])
    assert same.exit_code == 1 and "--attendee must differ from --mailbox" in same.output
    assert tenant.admin.stats()["requests"] == 0
    assert tenant.admin.stats()["tokensIssued"] == 0


def test_the_saved_allow_list_applies_as_for_the_sync(tenant: Harness) -> None:
    """The saved provider configuration wins over the environment, for the probe as for `learncal sync`."""
    runner = CliRunner()
    saved = runner.invoke(cli, ["provider", "set", "--allowlist", "@fabrikam.example"])
    assert saved.exit_code == 0, saved.output
    tenant.admin.reset_stats()
    refused = runner.invoke(cli, ["tenant-probe", "--mailbox", tenant.organizer, "--attendee", ATTENDEE])
    assert refused.exit_code == 1
    assert f"--attendee {ATTENDEE} is not on the recipient allow-list in force" in refused.output
    assert tenant.admin.stats()["requests"] == 0 and tenant.admin.messages(ATTENDEE) == []


def test_default_sandbox_reads_as_the_worst_case(tenant: Harness) -> None:
    tenant.admin.configure(faults=[SLOW_READS])
    profile = probe(tenant)
    assert results(profile) == {
        "outOfScope": "not restricted",
        "encodedBatchQueryOptions": "ignored",
        "extendedPropertyFilterCase": "insensitive",
        "repeatCancel": "accepted",
        "transactionIdAfterCancel": "returnsCancelled",
        "subjectOverLimit": "refuse",
        "batchConcurrency": "throttled",
    }
    concurrency = profile.observations["batchConcurrency"].details
    assert concurrency["throttled"] > 0
    assert concurrency["codes"] == ["ApplicationThrottled"]
    assert concurrency["withRetryAfter"] == concurrency["throttled"]
    assert profile.realism == {
        "batchExecution": "concurrent", "encodedBatchQueryOptions": "ignored",
        "extendedPropertyFilterCase": "insensitive", "repeatCancel": "accepted",
        "transactionIdAfterCancel": "returnsCancelled", "subjectOverLimit": "refuse",
    }
    assert profile.clean
    assert_nothing_left(tenant)
    kinds = [m["type"] for m in tenant.admin.messages(ATTENDEE)]
    assert kinds[0] == "meetingRequest" and kinds.count("meetingCancellation") == 2  # the repeat was accepted


@pytest.mark.parametrize(("config", "name", "expected"), [
    ({"batchExecution": "sequential"}, "batchConcurrency", "notThrottled"),
    ({"encodedBatchQueryOptions": "decoded"}, "encodedBatchQueryOptions", "decoded"),
    ({"extendedPropertyFilterCase": "sensitive"}, "extendedPropertyFilterCase", "sensitive"),
    ({"repeatCancel": "notFound"}, "repeatCancel", "notFound"),
    ({"repeatCancel": "badRequest"}, "repeatCancel", "badRequest"),
    ({"transactionIdAfterCancel": "createsNew"}, "transactionIdAfterCancel", "createsNew"),
    ({"subjectOverLimit": "truncate"}, "subjectOverLimit", "truncate"),
])
def test_each_switch_is_measured(tenant: Harness, config: dict[str, Any], name: str, expected: str) -> None:
    tenant.admin.configure(**config, faults=[SLOW_READS] if name == "batchConcurrency" else [])
    profile = probe(tenant)
    assert profile.observations[name].result == expected
    key, value = next(iter(config.items()))
    assert profile.realism[key] == value
    assert profile.clean
    assert_nothing_left(tenant)


def test_a_truncated_subject_reports_the_length_kept(tenant: Harness) -> None:
    tenant.admin.configure(subjectOverLimit="truncate", subjectMaxLength=120)
    profile = probe(tenant)
    assert profile.observations["subjectOverLimit"].details["storedLength"] == 120
    assert profile.realism["subjectMaxLength"] == 120
    assert_nothing_left(tenant)


@pytest.mark.parametrize(("scoping", "wording"), [
    ("applicationAccessPolicy",
     "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."),
    ("rbacForApplications", "Access is denied. Check credentials and try again."),
])
def test_out_of_scope_wording_is_recorded(tenant: Harness, scoping: str, wording: str) -> None:
    tenant.admin.put_app(tenant.info["clientId"], exchangeScoping=scoping, mailboxScope=[tenant.organizer])
    observation = probe(tenant).observations["outOfScope"]
    assert observation.result == "refused"
    assert observation.details == {"status": 403, "code": "ErrorAccessDenied", "message": wording}
    assert wording in observation.summary
    assert_nothing_left(tenant)


def test_profile_round_trips_through_learncal_sandbox(tenant: Harness, tmp_path: Path) -> None:
    from shared.local.sandbox_process import sandbox_process
    from shared.sandbox.client import SandboxClient

    tenant.admin.configure(encodedBatchQueryOptions="decoded", repeatCancel="notFound",
                           transactionIdAfterCancel="createsNew", subjectOverLimit="truncate")
    runner = CliRunner()
    path = tmp_path / "tenant.json"
    outcome = runner.invoke(cli, ["tenant-probe", "--mailbox", tenant.organizer, "--attendee", ATTENDEE,
                                  "--profile-out", str(path), "--json"])
    assert outcome.exit_code == 0, outcome.output
    printed = json.loads(outcome.stdout.strip().splitlines()[-1])
    stored = json.loads(path.read_text())
    assert printed == stored
    assert stored["kind"] == "learncal-tenant-profile" and stored["version"] == 1
    assert stored["mailbox"] == tenant.organizer and stored["attendee"] == ATTENDEE
    assert stored["tenantId"] == tenant.info["tenantId"]
    assert stored["realism"]["repeatCancel"] == "notFound"
    assert stored["realism"]["subjectMaxLength"] == 255
    with sandbox_process(tmp_path / "rehearsal", profile=path) as info:
        config = SandboxClient(info).request("GET", "/config")[1]
    assert {key: config[key] for key in stored["realism"]} == stored["realism"]


def test_the_table_names_each_measurement_and_how_to_rehearse(tenant: Harness, tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    outcome = CliRunner().invoke(cli, ["tenant-probe", "--mailbox", tenant.organizer, "--attendee", ATTENDEE,
                                       "--profile-out", str(path)], env={"COLUMNS": "200"})
    assert outcome.exit_code == 0, outcome.output
    for row in ("Mailbox outside the app's scope", "%24filter inside a batch", "Tag filter, other case",
                "Second cancel of a meeting", "transactionId repeated after cancel", "300-character subject",
                "Two batches at once"):
        assert row in outcome.output, row
    assert "repeatCancel=accepted" in outcome.output  # the sandbox setting each answer implies
    assert "none left behind" in outcome.output
    assert f"learncal sandbox --profile {path}" in outcome.output.replace("\n", "")
    assert json.loads(path.read_text())["kind"] == "learncal-tenant-profile"
    assert_nothing_left(tenant)


def test_a_failing_step_is_inconclusive_and_its_meeting_still_removed(tenant: Harness) -> None:
    tenant.admin.configure(faults=[{"method": "POST", "path": "/users/*/events/*/cancel", "status": 503,
                                    "code": "ServiceUnavailable", "message": "Try again later."}])
    profile = probe(tenant)
    assert profile.observations["repeatCancel"].result == "inconclusive"
    assert profile.observations["transactionIdAfterCancel"].result == "inconclusive"
    assert profile.observations["repeatCancel"].details["first"]["status"] == 503
    assert "repeatCancel" not in profile.realism and "transactionIdAfterCancel" not in profile.realism
    assert profile.observations["subjectOverLimit"].result == "refuse"  # the later steps still ran
    assert profile.clean
    assert_nothing_left(tenant)


def test_an_interrupted_probe_still_removes_what_it_created(tenant: Harness,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.probe import measure

    async def broken(*_: Any) -> None:
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(measure, "batch_concurrency", broken)
    with pytest.raises(RuntimeError, match="the connection dropped"):
        probe(tenant)
    assert [m for m in tenant.admin.messages(ATTENDEE) if m["type"] == "meetingRequest"]  # it had got that far
    assert_nothing_left(tenant)


def test_events_it_could_not_remove_are_named_and_fail_the_command(tenant: Harness) -> None:
    tenant.admin.configure(faults=[{"method": "DELETE", "path": "/users/*/events/*", "status": 503,
                                    "code": "ServiceUnavailable", "message": "Try again later."}])
    outcome = CliRunner().invoke(cli, ["tenant-probe", "--mailbox", tenant.organizer, "--attendee", ATTENDEE],
                                 env={"COLUMNS": "200"})
    assert outcome.exit_code == 1
    live = [m["id"] for m in tenant.admin.calendar(tenant.organizer) if "tenant probe" in m["subject"]]
    assert len(live) == 2  # the two tagged events (the meeting was cancelled, the long subject refused)
    assert "Clean-up left 2 probe events" in outcome.output
    assert all(event_id in outcome.output.replace("\n", "") for event_id in live)


def test_unreachable_storage_is_named_before_anything_is_sent(tenant: Harness, azurite: RunningAzurite) -> None:
    closed = azurite.connection_string.replace(f"127.0.0.1:{azurite.port}/", "127.0.0.1:9/")
    assert closed != azurite.connection_string
    tenant.admin.reset_stats()
    outcome = CliRunner().invoke(cli, ["tenant-probe", "--mailbox", tenant.organizer, "--attendee", ATTENDEE],
                                 env={"AzureWebJobsStorage": closed})
    assert outcome.exit_code == 1
    assert "Azure Table Storage could not be reached at http://127.0.0.1:9/" in outcome.output
    assert "AzureWebJobsStorage" in outcome.output
    assert tenant.admin.stats()["requests"] == 0


def test_a_mailbox_the_app_cannot_use_stops_the_probe_before_any_write(tenant: Harness) -> None:
    from shared.errors import LearncalError

    tenant.admin.reset_stats()
    with pytest.raises(LearncalError) as raised:
        run_probe(Settings.from_env(), ProbeTarget.parse("nobody@contoso.example", ATTENDEE))
    assert "The test mailbox nobody@contoso.example cannot be used" in str(raised.value)
    assert "does not exist" in str(raised.value)
    assert tenant.admin.stats()["writes"] == 0 and tenant.admin.messages(ATTENDEE) == []

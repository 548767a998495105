"""The timer emits exactly the log records the alert rules in infra/modules/alerts.bicep select.

Azure Monitor cannot run here, so the rules' KQL is read from the Bicep (pycep) and reduced to
what selects records: the name a record's message starts with, the names it must not contain,
and the fields the query extracts. The timer then runs for real (the Functions entry point,
the sandbox, Azurite), and each rule's selection over the captured log lines is compared with
what the scenario should alert on.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import conftest_admin
import pytest
from azure.functions.timer import TimerRequest
from conftest_admin import World

import function_app
from shared.bootstrap import ScheduledRunFailed
from shared.identity import vault_credential
from shared.secrets import KeyVaultSecret, forget_cached_secrets
from shared.settings import Settings
from tests.support.feeds import base_feed, enrollment, offering, write

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

ALERTS = Path(__file__).resolve().parents[2] / "infra" / "modules" / "alerts.bicep"


@dataclass(frozen=True)
class Rule:
    key: str
    prefixes: tuple[str, ...]  # `message startswith "..."` in the first where clause
    excluded: tuple[str, ...]  # `message !has "..."`
    fields: tuple[str, ...]  # extract(@"\bNAME=(\S+)", ...)
    above: tuple[tuple[str, int], ...]  # `| where ALIAS > N` over an extracted field
    query: str

    def selects(self, message: str) -> bool:
        if not message.startswith(self.prefixes) or any(x in message for x in self.excluded):
            return False
        return all(int(field(message, key) or 0) > limit for key, limit in self.above)


def alert_rules() -> dict[str, Rule]:
    from pycep import BicepParser

    parsed = BicepParser().parse(file_path=ALERTS)
    rules: dict[str, Rule] = {}
    for rule in parsed["variables"]["rules"]["value"]:
        query = str(rule["query"]).replace("\\\\", "\\")
        first_where = query.split("|")[1]
        aliases = dict(re.findall(r'(\w+) = (?:toint\()?extract\(@"\\b(\w+)=', query))
        above = tuple((aliases[alias], int(n)) for alias, n in re.findall(r"\| where (\w+) > (\d+)", query)
                      if alias in aliases)
        rules[rule["key"]] = Rule(
            key=rule["key"],
            prefixes=tuple(re.findall(r'message startswith "([^"]+)"', first_where)),
            excluded=tuple(re.findall(r'message !has "([^"]+)"', first_where)),
            fields=tuple(re.findall(r'extract\(@"\\b(\w+)=\(\\S\+\)"', query)),
            above=above,
            query=query,
        )
    return rules


RULES = alert_rules()


def field(message: str, name: str) -> str | None:
    """What the queries' extract(@"\\bNAME=(\\S+)", 1, message) reads."""
    match = re.search(rf"\b{name}=(\S+)", message)
    return match.group(1) if match else None


def selected(rule: Rule, messages: list[str]) -> list[str]:
    chosen = [m for m in messages if rule.selects(m)]
    for message in chosen:  # every field the query reads is there
        assert all(field(message, name) for name in rule.fields), (rule.key, message)
    return chosen


def no_success_fires(rule: Rule, messages: list[str]) -> bool:
    """The no-success rule's summarize: an earlier applied run, and no healthy run since (over the whole capture)."""
    runs = [m for m in messages if rule.selects(m)]
    ever_applied = any(field(m, "applied") == "true" for m in runs)
    healthy = any(m.startswith("learncal.run.completed ") or (m.startswith("learncal.run.skipped ")
                                                               and field(m, "reason") == "inactive") for m in runs)
    return ever_applied and not healthy


@pytest.fixture
def timer(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          caplog: pytest.LogCaptureFixture) -> Iterator[Timer]:
    info = world.info
    for name, value in {
        "LEARNCAL_TENANT_ID": info["tenantId"], "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZER": info["organizer"], "LEARNCAL_GRAPH_URL": info["graphUrl"],
        "LEARNCAL_AUTHORITY_URL": info["authorityUrl"], "LEARNCAL_CLIENT_SECRET": world.secret,
        "LEARNCAL_SEND_PER_MINUTE": "6000",
        "AzureWebJobsStorage": world.settings.storage_connection, "LEARNCAL_TABLE_PREFIX": "A" + uuid.uuid4().hex[:10],
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("LEARNCAL_FEED", "LEARNCAL_KEY_VAULT_URL", "LEARNCAL_ALLOW_MASS_CANCEL"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.INFO, logger="learncal")
    yield Timer(tmp_path, monkeypatch, caplog)


class Timer:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        self._tmp = tmp_path
        self._env = monkeypatch
        self._caplog = caplog
        self._feeds = 0

    def feed(self, feed: dict[str, Any] | str) -> None:
        self._feeds += 1
        path = self._tmp / f"feed-{self._feeds}.json"
        if isinstance(feed, str):
            path.write_text(feed)
        else:
            write(feed, path)
        self._env.setenv("LEARNCAL_FEED", str(path))

    def run(self) -> tuple[list[str], BaseException | None]:
        """One scheduled invocation; the learncal.* records it logged and the exception the host would see."""
        self._caplog.clear()
        error: BaseException | None = None
        try:
            function_app.hourly_sync.build().get_user_function()(TimerRequest())
        except Exception as raised:  # the host marks the invocation failed
            error = raised
        records = [r.getMessage() for r in self._caplog.records if r.getMessage().startswith("learncal.")]
        return records, error


def names(messages: list[str]) -> list[str]:
    return [m.split(" ", 1)[0] for m in messages]


def test_the_rules_select_the_records_the_product_defines() -> None:
    from shared import monitoring
    from shared.responses import hooks, webhook

    assert set(RULES) == {"run-failed", "feed-rejections", "run-errors", "no-success", "mass-cancellation",
                          "secret-expiring", "instructor-declined", "webhook-failed"}
    assert RULES["instructor-declined"].prefixes == (hooks.INSTRUCTOR_DECLINED + " ",)
    assert {"offering_id", "activity_id", "email"} <= set(RULES["instructor-declined"].fields)
    assert RULES["webhook-failed"].prefixes == (webhook.FAILED + " ",)
    assert RULES["run-failed"].prefixes == (monitoring.RUN_FAILED + " ",)
    assert RULES["run-failed"].excluded == (f"kind={monitoring.GUARD_KIND}",)
    assert RULES["feed-rejections"].prefixes == (monitoring.REJECTION_NEW + " ",)
    assert RULES["run-errors"].prefixes == (monitoring.RUN_PROBLEMS + " ",)
    assert RULES["mass-cancellation"].prefixes == (monitoring.GUARD_TRIPPED + " ",)
    assert RULES["secret-expiring"].prefixes == (monitoring.SECRET_EXPIRING + " ",)
    assert RULES["no-success"].prefixes == ("learncal.run.",)
    assert {"run_id", "kind"} <= set(RULES["run-failed"].fields)
    assert {"applied", "reason"} <= set(RULES["no-success"].fields)
    assert RULES["run-errors"].above == (("errors", 0),)
    # Sampling would drop some log lines, and an alert would miss its record: traces are never sampled.
    host = json.loads((ALERTS.parents[2] / "host.json").read_text())
    assert "Trace" in host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"].split(";")
    assert host["logging"]["logLevel"]["default"] in ("Information", "Debug", "Trace")


def test_a_fresh_deployment_waiting_for_its_feed_fails_its_runs_without_a_no_success_alert(timer: Timer) -> None:
    first, error = timer.run()

    assert isinstance(error, ScheduledRunFailed)
    (failed,) = selected(RULES["run-failed"], first)
    assert field(failed, "kind") == "ConfigurationError" and field(failed, "applied") == "false"
    assert field(failed, "run_id") in str(error)
    assert not no_success_fires(RULES["no-success"], first)
    for key in ("feed-rejections", "run-errors", "mass-cancellation", "secret-expiring"):
        assert selected(RULES[key], first) == [], key


def test_rejections_alert_once_and_failures_after_an_applied_feed_alert_both_rules(timer: Timer) -> None:
    feed = base_feed()
    enrollment(feed, "OFF-1001", "bo.learner@contoso.example")["learnerEmail"] = "bo.learner@@contoso"
    timer.feed(feed)

    first, first_error = timer.run()
    second, second_error = timer.run()
    timer.feed("{ not json")
    third, third_error = timer.run()

    assert first_error is None and second_error is None
    assert names(first)[0] == "learncal.run.completed"
    (new,) = selected(RULES["feed-rejections"], first)
    assert field(new, "fingerprint") and "enrollments" in new
    problems = [m for m in first if m.startswith("learncal.run.problems ")]
    assert len(problems) == 1 and field(problems[0], "rejected") == "1" and field(problems[0], "errors") == "0"
    assert selected(RULES["run-errors"], first) == []  # rejected, but nothing failed to apply
    assert selected(RULES["feed-rejections"], second) == []  # the same rejected item: no new alert
    assert selected(RULES["run-failed"], first + second) == []
    assert not no_success_fires(RULES["no-success"], first + second)

    assert isinstance(third_error, ScheduledRunFailed)
    (failed,) = selected(RULES["run-failed"], third)
    assert field(failed, "kind") == "FeedUnreadable" and field(failed, "applied") == "true"
    assert field(failed, "run_id") in str(third_error)
    assert no_success_fires(RULES["no-success"], third)  # a feed was applied before; no healthy run since


def test_the_mass_cancellation_guard_has_its_own_alert(timer: Timer, monkeypatch: pytest.MonkeyPatch) -> None:
    timer.feed(base_feed())
    _, error = timer.run()
    assert error is None
    cancelled = base_feed()
    for item in cancelled["offerings"]:
        offering(cancelled, item["id"])["status"] = "cancelled"
    timer.feed(cancelled)
    monkeypatch.setenv("LEARNCAL_MASS_CANCEL_MIN", "1")

    records, error = timer.run()

    assert isinstance(error, ScheduledRunFailed)
    (tripped,) = selected(RULES["mass-cancellation"], records)
    assert field(tripped, "run_id") in str(error)
    assert selected(RULES["run-failed"], records) == []  # one alert for one problem


def test_a_secret_expiring_within_30_days_is_logged_for_its_alert(
    world: World, timer: Timer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({"LEARNCAL_KEY_VAULT_URL": world.info["keyVaultUrl"],
                                  "LEARNCAL_CLIENT_SECRET_NAME": world.info["clientSecretName"],
                                  "LEARNCAL_AUTHORITY_URL": world.info["authorityUrl"]})
    vault = KeyVaultSecret(world.info["keyVaultUrl"], world.info["clientSecretName"], vault_credential(settings))
    monkeypatch.delenv("LEARNCAL_CLIENT_SECRET")
    monkeypatch.setenv("LEARNCAL_KEY_VAULT_URL", world.info["keyVaultUrl"])
    monkeypatch.setenv("LEARNCAL_CLIENT_SECRET_NAME", world.info["clientSecretName"])
    timer.feed(base_feed())

    vault.store(world.secret, expires_on=datetime.now(UTC) + timedelta(days=90))
    forget_cached_secrets()
    far, far_error = timer.run()
    vault.store(world.secret, expires_on=datetime.now(UTC) + timedelta(days=12, hours=1))
    near, near_error = timer.run()

    assert far_error is None and near_error is None
    assert selected(RULES["secret-expiring"], far) == []
    (expiring,) = selected(RULES["secret-expiring"], near)
    assert field(expiring, "days_left") == "12"
    assert world.secret not in json.dumps(far + near)


def test_validate_warns_about_a_secret_expiring_within_30_days(world: World) -> None:
    from shared.validate.vault import check_key_vault

    settings = world.settings
    vault = KeyVaultSecret.for_settings(settings)

    vault.store(world.secret, expires_on=datetime.now(UTC) + timedelta(days=60))
    later = check_key_vault(settings, KeyVaultSecret.for_settings)
    vault.store(world.secret, expires_on=datetime.now(UTC) + timedelta(days=5, hours=1))
    soon = check_key_vault(settings, KeyVaultSecret.for_settings)

    assert later.status == "pass"
    assert soon.status == "warn" and "expires in 5 days" in soon.detail
    assert soon.fix and "create-client-secret.sh" in soon.fix
    assert world.secret not in soon.detail + soon.fix


def test_a_run_that_cannot_reach_storage_fails_its_invocation_with_a_failed_run_record(
    timer: Timer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.errors import StorageUnreachable
    from shared.local.ports import free_port

    port = free_port()
    monkeypatch.setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
                       "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                       f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    timer.feed(base_feed())

    records, error = timer.run()

    assert isinstance(error, StorageUnreachable)
    (failed,) = selected(RULES["run-failed"], records)
    assert field(failed, "kind") == "StorageUnreachable" and f"127.0.0.1:{port}" in failed
    assert "AccountKey" not in failed


def test_an_inactive_provider_is_no_failure_and_no_missing_success(
    timer: Timer, monkeypatch: pytest.MonkeyPatch
) -> None:
    timer.feed(base_feed())
    _, error = timer.run()
    assert error is None
    monkeypatch.setenv("LEARNCAL_STATUS", "inactive")

    records, error = timer.run()

    assert error is None
    (skipped,) = [m for m in records if m.startswith("learncal.run.skipped ")]
    assert field(skipped, "reason") == "inactive" and field(skipped, "applied") == "true"
    assert selected(RULES["run-failed"], records) == []
    assert not no_success_fires(RULES["no-success"], records)

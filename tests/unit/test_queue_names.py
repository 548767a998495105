"""Queue names follow the table prefix; the triggers' settings must name the same queues; every trigger runs locally."""

from __future__ import annotations

import pytest

import function_app
from shared.errors import ConfigurationError
from shared.local.functions import CONSUMERS, local_functions
from shared.local.routes import queue_functions
from shared.queue.names import QUEUE_SETTINGS, problems, queue_name, resolve
from shared.settings import Settings


def test_the_default_prefix_gives_the_documented_names_and_another_prefix_queues_of_its_own() -> None:
    assert [queue_name("Learncal", q.base) for q in QUEUE_SETTINGS] == ["learncal-send", "learncal-runs",
                                                                         "learncal-jobs", "learncal-webhooks",
                                                                         "learncal-responses"]
    assert queue_name("Contoso2", "learncal-send") == "contoso2-send"
    longest = queue_name("A" * 40, "learncal-runs")
    assert len(longest + "-poison") <= 63 and longest == longest.lower()


def test_a_trigger_expression_resolves_from_the_app_setting_else_to_the_installations_own_queue() -> None:
    assert resolve("%LEARNCAL_SEND_QUEUE%", "Contoso2", {"LEARNCAL_SEND_QUEUE": "elsewhere"}) == "elsewhere"
    assert resolve("%LEARNCAL_RUNS_QUEUE%", "Contoso2", {}) == "contoso2-runs"
    assert resolve("plain-name", "Contoso2", {}) == "plain-name"
    with pytest.raises(ConfigurationError, match="LEARNCAL_ARCHIVE_QUEUE is not set"):
        resolve("%LEARNCAL_ARCHIVE_QUEUE%", "Contoso2", {})


def test_problems_name_the_setting_and_the_value_it_must_have() -> None:
    env = {"LEARNCAL_SEND_QUEUE": "learncal-send", "LEARNCAL_RUNS_QUEUE": "contoso2-runs",
           "LEARNCAL_WEBHOOKS_QUEUE": "contoso2-webhooks", "LEARNCAL_RESPONSES_QUEUE": "contoso2-responses"}

    found = problems("Contoso2", env, in_azure=True)

    assert len(found) == 2  # send names another queue, jobs is missing; the others are right
    assert "Set LEARNCAL_SEND_QUEUE=contoso2-send" in found[0] and "send_worker" in found[0]
    assert "LEARNCAL_JOBS_QUEUE is not set" in found[1] and "Set LEARNCAL_JOBS_QUEUE=contoso2-jobs" in found[1]
    assert problems("Contoso2", {}, in_azure=False) == []  # locally the host takes the installation's names
    assert problems("Learncal", {q.setting: q.base for q in QUEUE_SETTINGS}, in_azure=True) == []


def test_every_queue_trigger_of_the_function_app_has_one_local_consumer_on_its_queue() -> None:
    triggers = {f.function_name: f.queue_name for f in queue_functions(function_app.app)}
    assert {c.function for c in CONSUMERS} == set(triggers)

    settings = Settings(tenant_id=None, client_id=None, table_prefix="Contoso2")
    consumers = local_functions(settings)

    assert set(consumers) == {resolve(expression, "Contoso2", {}) for expression in triggers.values()}
    assert set(consumers) == {"contoso2-send", "contoso2-runs", "contoso2-jobs", "contoso2-webhooks",
                             "contoso2-responses"}

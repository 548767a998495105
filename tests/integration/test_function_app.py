"""The Azure Functions entry points, called directly (as the Functions host would call them)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import function_app
from shared import sandbox
from shared.local.azurite import RunningAzurite
from shared.local.demo import sandbox_environment
from shared.sandbox.client import SandboxClient
from tests.support.feeds import ADA, PAT, base_feed, write


def user_function(name: str) -> Any:
    """The decorated function as the host calls it (`build()` can be repeated; `get_functions()` cannot)."""
    return getattr(function_app, name).build().get_user_function()


@pytest.fixture(scope="module")
def running_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with sandbox.start(tmp_path_factory.mktemp("functions-sandbox")) as running:
        yield running.info


@pytest.fixture
def configured(
    running_sandbox: dict[str, Any], azurite: RunningAzurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxClient:
    inspector = SandboxClient(running_sandbox)
    inspector.reset()
    for name, value in sandbox_environment(running_sandbox, azurite.connection_string).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEARNCAL_TABLE_PREFIX", "F" + uuid.uuid4().hex[:10])
    monkeypatch.setenv("LEARNCAL_FEED", write(base_feed(), tmp_path / "feed.json"))
    return inspector


def test_the_timer_runs_the_same_sync_as_the_cli(
    configured: SandboxClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="learncal")
    user_function("hourly_sync")(TimerRequest(past_due=True))
    assert len(configured.calendar(ADA)) == 3 and len(configured.calendar(PAT)) == 1
    assert any("running late" in r.getMessage() for r in caplog.records)
    logged = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("sync run"))
    assert json.loads(logged.split(": ", 1)[1])["created"] == 10
    before = configured.stats()["requests"]
    user_function("hourly_sync")(TimerRequest())
    assert configured.stats()["requests"] == before  # the next hour, nothing changed: nothing sent


def test_health_reports_ok_when_configured_and_storage_reachable(configured: SandboxClient) -> None:
    response = user_function("health")(func.HttpRequest("GET", "/api/health", body=b""))
    body = json.loads(response.get_body())
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["checks"] == {"configuration": "ok", "queues": "ok", "storage": "ok"}


def test_health_says_only_the_status_and_logs_the_missing_settings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LEARNCAL_ORGANIZER", raising=False)
    monkeypatch.setenv("LEARNCAL_TENANT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;TableEndpoint=http://127.0.0.1:9/x;",
    )
    caplog.set_level("WARNING", logger="learncal")
    response = user_function("health")(func.HttpRequest("GET", "/api/health", body=b""))
    body = json.loads(response.get_body())
    assert response.status_code == 503
    assert body == {"status": "degraded", "checks": {"configuration": "failing", "queues": "ok", "storage": "failing"}}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "LEARNCAL_ORGANIZER" in logged  # the operator finds what is missing in the log
    assert "00000000-0000-0000-0000-000000000001" not in response.get_body().decode() + logged


def test_health_names_the_queue_setting_to_fix_when_a_trigger_would_listen_elsewhere(
    configured: SandboxClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A prefix of its own: the triggers must read the installation's queue names from the app settings."""
    prefix = os.environ["LEARNCAL_TABLE_PREFIX"]
    monkeypatch.setenv("LEARNCAL_SEND_QUEUE", "learncal-send")  # the default's name, not this installation's
    caplog.set_level("WARNING", logger="learncal")

    response = user_function("health")(func.HttpRequest("GET", "/api/health", body=b""))

    body = json.loads(response.get_body())
    assert response.status_code == 503 and body["checks"]["queues"] == "failing"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"Set LEARNCAL_SEND_QUEUE={prefix.lower()}-send" in logged and "send_worker" in logged
    monkeypatch.setenv("LEARNCAL_SEND_QUEUE", f"{prefix.lower()}-send")
    again = user_function("health")(func.HttpRequest("GET", "/api/health", body=b""))
    assert again.status_code == 200 and json.loads(again.get_body())["checks"]["queues"] == "ok"


def test_the_queue_triggers_read_their_queue_names_from_app_settings() -> None:
    """`%NAME%` binding expressions, which the Functions host resolves from the app settings."""
    from shared.local.routes import queue_functions

    names = {f.function_name: f.queue_name for f in queue_functions(function_app.app)}
    assert names == {"send_worker": "%LEARNCAL_SEND_QUEUE%", "run_worker": "%LEARNCAL_RUNS_QUEUE%",
                     "job_worker": "%LEARNCAL_JOBS_QUEUE%", "webhook_worker": "%LEARNCAL_WEBHOOKS_QUEUE%",
                     "responses_worker": "%LEARNCAL_RESPONSES_QUEUE%"}


def test_the_feed_trigger_is_an_event_grid_blob_trigger_on_the_feed_drop() -> None:
    trigger = function_app.feed_arrived.build().get_trigger()

    assert trigger.get_binding_name() == "blobTrigger"
    assert (trigger.path, trigger.connection) == ("feeds/{name}", "LEARNCAL_FEED_STORAGE")
    assert trigger.get_dict_repr()["source"] == "EventGrid"

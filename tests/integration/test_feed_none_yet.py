"""A fresh installation whose feed drop is still empty: warnings that say what to do, runs skipped quietly."""

from __future__ import annotations

import json
import logging
import uuid

import conftest_admin
import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobServiceClient
from conftest_admin import World, function, payload, request

from shared.local.demo import sandbox_environment
from shared.store.runs import RunStore
from tests.support.feeds import base_feed

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


@pytest.fixture
def empty_drop(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """The process environment of an installation whose LEARNCAL_FEED is an empty container of its own."""
    container = "feeds-" + uuid.uuid4().hex[:10]
    BlobServiceClient.from_connection_string(world.settings.storage_connection).create_container(container)
    for name, value in sandbox_environment(world.info, world.settings.storage_connection).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEARNCAL_TABLE_PREFIX", world.tables._prefix)
    monkeypatch.setenv("LEARNCAL_FEED", f"blob:{container}")
    return container


def test_health_stays_200_and_warns_no_feed_yet_with_the_command(world: World, empty_drop: str) -> None:
    response = function("health")(request("GET", "health"))

    assert response.status_code == 200
    report = json.loads(response.get_body())
    assert report["status"] == "ok" and report["checks"]["feed"] == "no feed yet"
    assert any("No feed yet" in w and "learncal feed push" in w for w in report["warnings"])

    BlobServiceClient.from_connection_string(world.settings.storage_connection).get_container_client(
        empty_drop).upload_blob("first.json", json.dumps(base_feed()).encode())
    report = json.loads(function("health")(request("GET", "health")).get_body())
    assert report["checks"]["feed"] == "ok" and "warnings" not in report


def test_validate_warns_no_feed_yet_and_passes_once_a_feed_landed(world: World, empty_drop: str) -> None:
    services = world.services(feed=f"blob:{empty_drop}")

    checks = {c["name"]: c for c in payload(world.call("provider_validate", request("POST", "provider/validate"),
                                                       services))["checks"]}
    assert checks["feed"]["status"] == "warn"
    assert "No feed yet" in checks["feed"]["detail"] and "learncal feed push" in checks["feed"]["fix"]

    BlobServiceClient.from_connection_string(world.settings.storage_connection).get_container_client(
        empty_drop).upload_blob("first.json", json.dumps(base_feed()).encode())
    checks = {c["name"]: c for c in payload(world.call("provider_validate", request("POST", "provider/validate"),
                                                       services))["checks"]}
    assert checks["feed"]["status"] == "pass" and "first.json" in checks["feed"]["detail"]


def test_the_timer_skips_quietly_while_the_drop_is_empty(
    world: World, empty_drop: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    function("hourly_sync")(TimerRequest())  # does not raise: the invocation is not marked failed

    [run] = RunStore(world.tables).recent(5)
    assert run["status"] == "skipped" and "No feed yet" in run["message"]
    lines = [r.getMessage() for r in caplog.records]
    assert not any(line.startswith("learncal.run.failed") for line in lines), lines
    assert any(line.startswith("learncal.run.skipped") and "reason=no-feed" in line for line in lines), lines
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("learncal")]
    assert world.sandbox.stats()["requests"] == 0  # nothing asked of Microsoft 365

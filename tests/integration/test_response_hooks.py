"""The response hooks over Azurite's queue and a real local receiver: signed posts, retries, poison,
never holding up the caller; and the declined-instructor alert record."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import conftest_admin
import pytest
from click.testing import CliRunner
from conftest_admin import World

from shared.cli import cli
from shared.errors import ConfigurationError
from shared.local.azurite import RunningAzurite
from shared.local.queue_host import QueueHost
from shared.queue.wakeup import POISON_SUFFIX, queue_name
from shared.responses.hooks import alert_declined_instructors, on_changes
from shared.responses.webhook import QUEUE, SECRET_NAME, deliver, payload, webhook_url
from shared.settings import Settings
from shared.store.responses import ResponseRecord
from shared.store.services import queue_client

SECRET = "whsec-" + uuid.uuid4().hex
NOW = datetime.now(UTC).replace(microsecond=0)


class Receiver:
    """An HTTP receiver on 127.0.0.1 answering the statuses it is given in turn (then 200)."""

    def __init__(self, statuses: list[int], delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.posts: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append({"headers": dict(self.headers), "body": body})
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver([500])
    yield made
    made.close()


def settings_for(azurite: RunningAzurite, url: str | None, **more: str) -> Settings:
    env = {"AzureWebJobsStorage": azurite.connection_string, "LEARNCAL_TABLE_PREFIX": "H" + uuid.uuid4().hex[:10],
           "LEARNCAL_RESPONSE_WEBHOOK_SECRET": SECRET, **more}
    if url:
        env["LEARNCAL_RESPONSE_WEBHOOK_URL"] = url
    return Settings.from_env(env)


def change(role: str = "learner", response: str = "declined", email: str = "ada@contoso.example") -> ResponseRecord:
    return ResponseRecord("OFF-7", "S-2", email, role, response, NOW - timedelta(minutes=3),
                          "learning@contoso.example", "evt-1", NOW)


def worker(settings: Settings, **options: Any) -> Callable[[Any], None]:
    """The webhook_worker function as the host calls it, with test-sized backoff."""
    def run(message: Any) -> None:
        deliver(settings, message.get_body().decode(), dequeue_count=message.dequeue_count, **options)
    return run


def expected_signature(timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_change_is_posted_signed_and_retried_until_the_receiver_accepts(
    azurite: RunningAzurite, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(azurite, receiver.url)
    on_changes(settings, [change()])
    name = queue_name(settings.table_prefix, QUEUE)
    host = QueueHost(settings, {name: worker(settings, wait_initial=0.05)})

    assert host.run_once(name) == 1

    assert len(receiver.posts) == 2  # 500, then accepted within the same invocation
    first, second = receiver.posts
    assert first["body"] == second["body"]
    assert first["headers"]["X-Learncal-Delivery"] == second["headers"]["X-Learncal-Delivery"]
    for post in receiver.posts:
        headers = post["headers"]
        assert abs(int(headers["X-Learncal-Timestamp"]) - time.time()) < 60
        assert headers["X-Learncal-Signature"] == expected_signature(headers["X-Learncal-Timestamp"], post["body"])
    sent = json.loads(second["body"])
    assert sent["type"] == "response.changed"
    assert sent["data"] == {"offeringId": "OFF-7", "activityId": "S-2", "email": "ada@contoso.example",
                            "role": "learner", "response": "declined",
                            "respondedAt": (NOW - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")}
    assert host.failures == 0 and host.poisoned == 0
    assert SECRET not in caplog.text


def test_the_hook_returns_at_once_while_the_receiver_hangs(azurite: RunningAzurite) -> None:
    hanging = Receiver([], delay=5.0)
    try:
        settings = settings_for(azurite, hanging.url)
        queue_client(settings, queue_name(settings.table_prefix, QUEUE))  # same client the hook builds

        started = time.monotonic()
        on_changes(settings, [change(), change(email="bo@contoso.example")])
        elapsed = time.monotonic() - started

        assert elapsed < 2.0
        assert hanging.posts == []  # nothing is posted by the caller itself
        waiting = queue_client(settings, queue_name(settings.table_prefix, QUEUE)).peek_messages(max_messages=10)
        assert sorted(json.loads(m.content)["data"]["email"] for m in waiting) == ["ada@contoso.example",
                                                                                   "bo@contoso.example"]
    finally:
        hanging.close()


def test_a_change_the_receiver_keeps_refusing_goes_to_the_poison_queue_with_a_record(
    azurite: RunningAzurite, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = Receiver([503] * 20)
    caplog.set_level(logging.WARNING, logger="learncal.monitoring")
    try:
        settings = settings_for(azurite, refusing.url)
        on_changes(settings, [change()])
        name = queue_name(settings.table_prefix, QUEUE)
        host = QueueHost(settings, {name: worker(settings, attempts=1)})
        for _ in range(5):
            host.run_once(name)

        assert len(refusing.posts) == 5 and host.poisoned == 1
        poison = queue_client(settings, name + POISON_SUFFIX).peek_messages()
        assert json.loads(poison[0].content)["data"]["activityId"] == "S-2"
        failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("learncal.webhook.failed")]
        assert len(failed) == 5
        assert "final=true" in failed[-1] and all("final=false" in text for text in failed[:-1])
        assert "HTTP 503" in failed[-1] and SECRET not in caplog.text

        for name, value in (("AzureWebJobsStorage", azurite.connection_string),
                            ("LEARNCAL_TABLE_PREFIX", settings.table_prefix),
                            ("LEARNCAL_RESPONSE_WEBHOOK_URL", refusing.url)):
            monkeypatch.setenv(name, value)
        shown = CliRunner().invoke(cli, ["responses"])
        assert shown.exit_code == 0, shown.output
        assert "1 response change(s) could not be posted" in shown.stderr
    finally:
        refusing.close()


def test_a_webhook_url_must_be_https_unless_it_is_this_machine(azurite: RunningAzurite,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    assert webhook_url(settings_for(azurite, "https://hooks.contoso.example/x")) == "https://hooks.contoso.example/x"
    assert webhook_url(settings_for(azurite, "http://[::1]:9/x")) == "http://[::1]:9/x"
    plain = settings_for(azurite, "http://hooks.contoso.example/x")
    with pytest.raises(ConfigurationError, match="LEARNCAL_RESPONSE_WEBHOOK_URL must be an https URL"):
        webhook_url(plain)

    caplog.set_level(logging.ERROR, logger="learncal.responses")
    on_changes(plain, [change()])  # refused, logged, never raised to the collector
    assert "learncal.webhook.unqueued" in caplog.text and "https" in caplog.text


def test_only_a_declining_instructor_raises_the_alert(azurite: RunningAzurite,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="learncal.monitoring")
    settings = settings_for(azurite, None)
    on_changes(settings, [change(role="learner", response="declined"),
                          change(role="instructor", response="accepted", email="ian@contoso.example"),
                          change(role="primaryInstructor", response="declined", email="pia@contoso.example"),
                          change(role="instructor", response="tentativelyAccepted", email="ivo@contoso.example")])

    alerts = [r for r in caplog.records if r.getMessage().startswith("learncal.response.instructor.declined")]
    assert len(alerts) == 1 and alerts[0].levelno == logging.WARNING
    assert "email=pia@contoso.example" in alerts[0].getMessage()
    assert "offering_id=OFF-7 activity_id=S-2" in alerts[0].getMessage()

    caplog.clear()
    quiet = settings_for(azurite, None, LEARNCAL_ALERT_DECLINED_INSTRUCTOR="false")
    on_changes(quiet, [change(role="instructor", response="declined")])
    assert not [r for r in caplog.records if "instructor.declined" in r.getMessage()]


def alert_query(key: str) -> str:
    """The KQL of one alert rule in infra/modules/alerts.bicep, unescaped."""
    from pycep import BicepParser

    parsed = BicepParser().parse(file_path=Path(__file__).resolve().parents[2] / "infra" / "modules" / "alerts.bicep")
    (rule,) = [r for r in parsed["variables"]["rules"]["value"] if r["key"] == key]
    return str(rule["query"]).replace("\\\\", "\\")


def test_the_alert_rules_select_the_declined_instructor_and_the_final_webhook_failure(
        azurite: RunningAzurite, caplog: pytest.LogCaptureFixture) -> None:
    declined = alert_query("instructor-declined")
    (prefix,) = re.findall(r'message startswith "([^"]+)"', declined)
    record = alert_declined_instructors([change(role="instructor", response="declined")])[0]
    assert record.startswith(prefix)
    for name, value in (("offering_id", "OFF-7"), ("activity_id", "S-2"), ("email", "ada@contoso.example")):
        assert f'extract(@"\\b{name}=(\\S+)"' in declined
        assert re.search(rf"\b{name}=(\S+)", record).group(1) == value  # type: ignore[union-attr]

    failed = alert_query("webhook-failed")
    assert 'message startswith "learncal.webhook.failed "' in failed and 'message has "final=true"' in failed


running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


def test_in_azure_the_signing_key_is_the_key_vault_secret(world: World, receiver: Receiver,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    vault_key = "vault-" + uuid.uuid4().hex
    world.sandbox.put_vault_secret(SECRET_NAME, vault_key)
    settings = dataclasses.replace(world.settings, response_webhook_url=receiver.url, response_webhook_secret=None)
    text = json.dumps(payload(change()))

    assert deliver(settings, text, wait_initial=0.05) is True

    post = receiver.posts[-1]
    timestamp = post["headers"]["X-Learncal-Timestamp"]
    assert post["headers"]["X-Learncal-Signature"] == "sha256=" + hmac.new(
        vault_key.encode(), f"{timestamp}.".encode() + post["body"], hashlib.sha256).hexdigest()
    assert vault_key not in caplog.text

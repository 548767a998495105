"""Fixtures for the admin API, Validate and secrets tests: the sandbox, Azurite tables, settings, direct calls.

Imported by the test_admin*, test_validate* and test_secrets* modules. One sandbox per test
module (reset before every test); tables come from tests/conftest.py with a fresh prefix
per test. Key Vault is read by a separate sandbox app ("vault reader"), as the function
app's managed identity would in Azure: the Graph app's own secret never unlocks the vault.
"""

from __future__ import annotations

import base64
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage as HostQueueMessage

import function_app
import shared.feed.examples as examples
from shared.admin.context import Services, using
from shared.local.azurite import RunningAzurite
from shared.queue.wakeup import SEND_QUEUE, queue_name
from shared.runs.requests import RUNS_QUEUE
from shared.sandbox import RunningSandbox, start
from shared.sandbox.client import SandboxClient
from shared.secrets import forget_cached_secrets
from shared.settings import Settings
from shared.store.services import queue_client
from shared.store.tables import Tables

VAULT_READER = "5b0f5c1e-0000-4000-8000-00000000c0de"
OTHER_USER = "ada.learner@contoso.example"
ADMIN_ROLE = "LearningCalendar.Admin"
# The bundled sample moved to the coming weeks (15 invitations, none ended), in a folder of its own.
SAMPLE_FEED = str(examples.write_upcoming(examples.SAMPLE, Path(tempfile.mkdtemp(prefix="learncal-sample-"))))


def function(name: str) -> Any:
    """The user function behind one of function_app's decorators (a FunctionBuilder, not a callable).

    `builder.build()` can be repeated, unlike `app.get_functions()`, which refuses a second call.
    """
    return getattr(function_app, name).build().get_user_function()


def principal(roles: list[str], name: str = "admin@contoso.example") -> dict[str, str]:
    """The headers App Service Authentication adds for a signed-in caller (the format of
    learn.microsoft.com/azure/app-service/configure-authentication-user-identities)."""
    body = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
            "claims": [{"typ": "name", "val": name}] + [{"typ": "roles", "val": r} for r in roles]}
    encoded = base64.b64encode(json.dumps(body).encode()).decode()
    return {"X-MS-CLIENT-PRINCIPAL": encoded, "X-MS-CLIENT-PRINCIPAL-ID": "00000000-0000-0000-0000-0000000000a1",
            "X-MS-CLIENT-PRINCIPAL-NAME": name}


ADMIN_HEADERS = {**principal([ADMIN_ROLE]), "X-Learncal-Request": "1"}


def request(method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
            route_params: dict[str, str] | None = None, raw: bytes | None = None) -> func.HttpRequest:
    """A request as the host passes it; without `headers`, from a signed-in administrator (as the console sends)."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return func.HttpRequest(method, "http://localhost:7071/api/" + path, body=data,
                            headers=dict(ADMIN_HEADERS) if headers is None else headers,
                            route_params=route_params or {})


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body() or b"null")


def provider_body(world: World, **changes: Any) -> dict[str, Any]:
    """A complete PUT /api/provider body for the sandbox tenant, with `changes` over it."""
    body = {"status": "active", "tenantId": world.info["tenantId"], "clientId": world.info["clientId"],
            "organizer": world.info["organizer"], "authMode": "secret", "recipientAllowlist": []}
    body.update(changes)
    return body


@dataclass
class World:
    """A sandbox tenant, fresh tables and the settings of an installation pointed at both."""

    running: RunningSandbox
    sandbox: SandboxClient
    tables: Tables
    settings: Settings
    vault_reader_secret: str

    @property
    def info(self) -> dict[str, Any]:
        return self.running.info

    @property
    def secret(self) -> str:
        return str(self.info["clientSecret"])

    def services(self, **changes: Any) -> Services:
        settings = replace(self.settings, **changes) if changes else self.settings
        return Services.build(settings, tables=self.tables)

    def call(self, name: str, req: func.HttpRequest, services: Services | None = None) -> func.HttpResponse:
        with using(services or self.services()):
            response: func.HttpResponse = function(name)(req)
        return response

    def run_queue(self) -> Any:
        return queue_client(self.settings, queue_name(self.tables, RUNS_QUEUE))

    def drain_runs(self, services: Services | None = None, *, limit: int = 10, send: bool = True) -> list[str]:
        """Deliver the visible messages of the run queue to `run_worker`, as the host's queue trigger does.

        Each message becomes an `azure.functions.QueueMessage` (decoded body, id, dequeue count)
        and is deleted once the function returns, as the host deletes a message whose function
        succeeded. A run plans and wakes the send workers; with `send`, the visible wake-ups on
        the send queue are then delivered as `send_worker` handles them, until none is left.
        Returns the run ids delivered.
        """
        services = services or self.services()
        delivered: list[str] = []
        queue = self.run_queue()
        for _round in range(limit):
            message = self._receive(queue)
            if message is None:
                break
            with using(services):
                function("run_worker")(message)
            queue.delete_message(message.id, message.pop_receipt)
            delivered.append(json.loads(message.get_body())["runId"])
            if send:
                self.drain_sends(services)
        return delivered

    def drain_sends(self, services: Services, *, limit: int = 50) -> int:
        """Deliver the visible wake-ups of the send queue as `send_worker` does (delayed ones stay)."""
        from shared.bootstrap import send_queued

        queue = queue_client(self.settings, queue_name(self.tables, SEND_QUEUE))
        delivered = 0
        for _round in range(limit):
            message = self._receive(queue)
            if message is None:
                break
            send_queued(message.get_body().decode(), dequeue_count=message.dequeue_count or 1,
                        settings=services.settings, tables=services.tables)
            queue.delete_message(message.id, message.pop_receipt)
            delivered += 1
        return delivered

    @staticmethod
    def _receive(queue: Any) -> HostQueueMessage | None:
        """One visible message, as the Python worker hands it to a queue-triggered function."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            messages = list(queue.receive_messages(messages_per_page=1, visibility_timeout=60, max_messages=1))
        except ResourceNotFoundError:
            return None
        if not messages:
            return None
        message = messages[0]
        return HostQueueMessage(
            id=message.id, body=str(message.content).encode(), dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on, insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on, pop_receipt=message.pop_receipt)

    def follow(self, run_id: str, services: Services | None = None) -> dict[str, Any]:
        response = self.call("run", request("GET", f"runs/{run_id}", route_params={"runId": run_id}), services)
        assert response.status_code == 200, response.get_body()
        return dict(json.loads(response.get_body()))

    def sync(self, body: dict[str, Any] | None = None, services: Services | None = None) -> dict[str, Any]:
        """POST /api/sync (202), deliver the run's message to the run worker, and read the run at its end."""
        services = services or self.services()
        response = self.call("sync_now", request("POST", "sync", {} if body is None else body), services)
        assert response.status_code == 202, response.get_body()
        ticket = json.loads(response.get_body())
        assert response.headers["Location"] == f"/api/runs/{ticket['runId']}"
        self.drain_runs(services)
        return self.follow(ticket["runId"], services)


@pytest.fixture(scope="module")
def running_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start(Path(tmp_path_factory.mktemp("sandbox"))) as running, pytest.MonkeyPatch.context() as env:
        env.setenv("SSL_CERT_FILE", running.info["caFile"])
        env.setenv("REQUESTS_CA_BUNDLE", running.info["caFile"])
        yield running


@pytest.fixture
def world(running_sandbox: RunningSandbox, tables: Tables, azurite: RunningAzurite,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    client = SandboxClient(running_sandbox.info)
    info = client.reset()
    reader = client.put_app(VAULT_READER, displayName="Function app identity", roles=[], vaultAccess=True)
    client.put_user(OTHER_USER, displayName="Ada Learner")
    reader_secret = str(reader["secrets"][0])
    for name, value in (("AZURE_TENANT_ID", info["tenantId"]), ("AZURE_CLIENT_ID", VAULT_READER),
                        ("AZURE_CLIENT_SECRET", reader_secret)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)
    monkeypatch.setenv("LEARNCAL_LOCAL_SIGN_IN", "true")  # what `learncal serve` sets: its sign-in stands in
    settings = Settings.from_env({
        "LEARNCAL_TENANT_ID": info["tenantId"],
        "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZER": info["organizer"],
        "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
        "LEARNCAL_CLIENT_SECRET_NAME": info["clientSecretName"],
        "LEARNCAL_GRAPH_URL": info["graphUrl"],
        "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "AzureWebJobsStorage": azurite.connection_string,
    })
    forget_cached_secrets()
    created = World(running_sandbox, client, tables, settings, reader_secret)
    clear_run_queue(created)
    yield created
    forget_cached_secrets()


def clear_run_queue(world: World) -> None:
    """A test starts with its run queue (named after its table prefix) in place and empty."""
    from azure.core.exceptions import ResourceExistsError

    queue = world.run_queue()
    try:
        queue.create_queue()
    except ResourceExistsError:
        queue.clear_messages()


@pytest.fixture
def secret_watch(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG, the identity and HTTP libraries' included, for "the secret never appears"."""
    caplog.set_level(logging.DEBUG)
    for name in ("azure", "azure.identity", "azure.core", "msal", "httpx", "httpcore", "urllib3", "learncal"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_secret_absent(secret: str, *texts: str | bytes, caplog: pytest.LogCaptureFixture | None = None) -> None:
    for text in texts:
        value = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        assert secret not in value
    if caplog is not None:
        for record in caplog.records:
            assert secret not in record.getMessage(), record.name
            if record.exc_text:
                assert secret not in record.exc_text


def cli_environment(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """The world's settings as app settings (the CLI reads the environment), with a table prefix of their own."""
    info = world.info
    prefix = "C" + uuid.uuid4().hex[:10]
    for name, value in {
        "LEARNCAL_TENANT_ID": info["tenantId"], "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZER": info["organizer"], "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
        "LEARNCAL_GRAPH_URL": info["graphUrl"], "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "AzureWebJobsStorage": world.settings.storage_connection, "LEARNCAL_TABLE_PREFIX": prefix,
    }.items():
        monkeypatch.setenv(name, value)
    return prefix

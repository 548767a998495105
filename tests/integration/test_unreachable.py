"""What a newcomer reads when a dependency is missing: `learncal` names the endpoint it tried and what to do.

Each dependency is made unreachable for real: a closed port on this machine, never a mock.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.local.ports import free_port
from tests.support.feeds import base_feed
from tests.support.world import World

ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on (just freed by the OS)."""
    yield free_port()


def storage_at(port: int) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("command", [("sync", "--quiet"), ("runs",), ("reconcile", "OFF-1")])
def test_storage_not_running_names_the_endpoint_and_how_to_start_azurite(
    world: World, closed_port: int, command: tuple[str, ...]
) -> None:
    feed = world.feed_file(base_feed())
    args = (*command, "--feed", feed) if command[0] == "sync" else command
    result = world.cli(*args, AzureWebJobsStorage=storage_at(closed_port))

    assert result.code == 1
    error = one_line_error(result.stderr)
    assert f"http://127.0.0.1:{closed_port}/devstoreaccount1" in error
    assert f"azurite-table --tableHost 127.0.0.1 --tablePort {closed_port}" in error
    assert "AzureWebJobsStorage" in error
    assert "Unexpected" not in result.stderr and ACCOUNT_KEY not in result.stderr + result.stdout


def test_a_key_vault_that_refuses_the_connection_is_named_with_the_setting(world: World, closed_port: int) -> None:
    vault = f"https://127.0.0.1:{closed_port}/"
    env = {k: v for k, v in world.env.items() if k != "LEARNCAL_CLIENT_SECRET"}
    world.env = env
    result = world.sync(base_feed(), LEARNCAL_KEY_VAULT_URL=vault)

    summary = result.summary
    assert result.code == 1 and summary["status"] == "failed"
    assert f"Key Vault https://127.0.0.1:{closed_port}" in summary["message"]
    assert "could not be reached" in summary["message"] and "LEARNCAL_KEY_VAULT_URL" in summary["message"]
    assert world.stats()["messagesSent"] == 0


def test_an_unreachable_sign_in_host_is_named_with_the_setting(world: World, closed_port: int) -> None:
    result = world.sync(base_feed(), LEARNCAL_AUTHORITY_URL=f"https://127.0.0.1:{closed_port}")

    summary = result.summary
    assert result.code == 1 and summary["status"] == "failed"
    assert f"could not reach https://127.0.0.1:{closed_port}" in summary["message"]
    assert "LEARNCAL_AUTHORITY_URL" in summary["message"]
    assert world.info["clientSecret"] not in result.stdout + result.stderr


def test_an_unreachable_graph_host_is_named_with_the_setting(world: World, closed_port: int) -> None:
    result = world.sync(base_feed(), LEARNCAL_GRAPH_URL=f"https://127.0.0.1:{closed_port}/v1.0")

    summary: dict[str, Any] = result.summary
    assert result.code == 1
    said = json.dumps(summary)
    assert f"https://127.0.0.1:{closed_port}" in said and "LEARNCAL_GRAPH_URL" in said, said
    assert world.stats()["messagesSent"] == 0


def test_an_unreachable_feed_url_is_named_without_its_signature(world: World, closed_port: int) -> None:
    result = world.cli("sync", "--json", "--quiet", "--feed",
                       f"https://127.0.0.1:{closed_port}/feed.json?sig=TOPSECRET")

    summary = result.summary
    assert result.code == 1 and summary["status"] == "failed"
    assert f"The feed URL cannot be reached: https://127.0.0.1:{closed_port}/feed.json?…" in summary["message"]
    assert "LEARNCAL_FEED" in summary["message"]
    assert "TOPSECRET" not in result.stdout + result.stderr


def test_the_admin_api_answers_503_naming_the_storage_endpoint(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.functions as func

    import function_app
    from shared.admin import context

    monkeypatch.setenv("AzureWebJobsStorage", storage_at(closed_port))
    monkeypatch.setenv("LEARNCAL_LOCAL_SIGN_IN", "true")  # a signed-in Reader (learncal serve's local sign-in)
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)
    monkeypatch.setattr(context, "_current", None)
    reader = base64.b64encode(json.dumps({"claims": [{"typ": "roles", "val": "LearningCalendar.Reader"}]}).encode())
    response = function_app.runs.build().get_user_function()(
        func.HttpRequest("GET", "http://localhost/api/runs", body=b"",
                         headers={"X-MS-CLIENT-PRINCIPAL": reader.decode()}))

    problem = json.loads(response.get_body())
    assert response.status_code == 503 and problem["type"].endswith("dependency-unreachable")
    assert f"http://127.0.0.1:{closed_port}/devstoreaccount1" in problem["detail"]
    assert "Azurite" in problem["detail"] and ACCOUNT_KEY not in response.get_body().decode()

"""Starting, restarting and stopping: the start line, persistence in the data directory, clean shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.identity import ClientSecretCredential
from conftest_sandbox import GRAPH_SCOPE, Harness, claims_of, meeting
from msgraph import GraphServiceClient

from shared.sandbox import start
from shared.sandbox.client import SandboxClient

ROOT = Path(__file__).resolve().parents[2]
ADA = "ada@learners.example"
START_LINE_KEYS = {"graphUrl", "authorityUrl", "keyVaultUrl", "caFile", "tenantId", "clientId", "clientSecret",
                   "organizer"}
STABLE = ("tenantId", "clientId", "clientSecret", "caFile", "organizer")


def test_state_identity_and_ca_survive_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with start(tmp_path) as first:
        info = first.info
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["caFile"])
        harness = Harness(first, SandboxClient(info), ClientSecretCredential(
            info["tenantId"], info["clientId"], info["clientSecret"], authority=info["authorityUrl"],
            disable_instance_discovery=True))

        async def create(graph: GraphServiceClient) -> str | None:
            event = await graph.users.by_user_id(info["organizer"]).events.post(meeting("Kept", [ADA], tag="keep"))
            return event.id if event else None

        event_id = harness.graph(create)
        ca_before = Path(info["caFile"]).read_bytes()

    with start(tmp_path) as second:
        again = second.info
        admin = SandboxClient(again)
        assert {k: again[k] for k in STABLE} == {k: info[k] for k in STABLE}
        assert Path(again["caFile"]).read_bytes() == ca_before
        [kept] = admin.calendar(info["organizer"])
        assert (kept["id"], kept["tag"]) == (event_id, "keep")
        assert [m["type"] for m in admin.messages(ADA)] == ["meetingRequest"]
        fresh = ClientSecretCredential(again["tenantId"], again["clientId"], again["clientSecret"],
                                       authority=again["authorityUrl"], disable_instance_discovery=True)
        assert claims_of(fresh.get_token(GRAPH_SCOPE).token)["tid"] == info["tenantId"]


def test_module_entry_point_prints_the_start_line_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    with start(tmp_path):
        pass  # make the CA and identity, as a first `learncal sandbox` would

    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "shared.sandbox", "--data", str(tmp_path), "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        elapsed = time.monotonic() - began
        info = json.loads(line)
        assert set(info) >= START_LINE_KEYS
        assert info["graphUrl"].startswith("https://127.0.0.1:") and info["graphUrl"].endswith("/v1.0")
        assert elapsed < 5.0, f"start line took {elapsed:.2f}s"
        assert SandboxClient(info).stats()["requests"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "GET /_sandbox/stats 200" in stderr
    assert info["clientSecret"] not in stderr

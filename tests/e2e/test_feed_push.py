"""`learncal feed push` and `learncal feed check blob:...` from a workstation, against Azurite and the sandbox."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from tests.support.csv_twins import csv_text
from tests.support.feeds import base_feed
from tests.support.world import World


def _drop(world: World) -> tuple[str, Any]:
    container = "feeds-" + uuid.uuid4().hex[:10]
    world.env["LEARNCAL_FEED"] = f"blob:{container}"
    client = BlobServiceClient.from_connection_string(world.env["AzureWebJobsStorage"]).get_container_client(container)
    client.create_container()  # as the deployment creates it
    return container, client


def test_push_dry_run_prints_the_preview_and_stores_nothing_then_push_stores_it(world: World, tmp_path: Path) -> None:
    container, client = _drop(world)
    feed = tmp_path / "export.json"
    feed.write_text(json.dumps(base_feed()), encoding="utf-8")

    dry = world.cli("feed", "push", str(feed), "--dry-run")

    assert dry.code == 0, dry.stderr
    assert "The next run would send 10 invitations, 0 updates and 0 cancellations" in dry.stdout
    assert "Dry run: nothing was stored." in dry.stdout
    assert list(client.list_blobs()) == []
    assert world.sandbox.calendar("ada.learner@contoso.example") == []

    pushed = world.cli("feed", "push", str(feed), "--json")

    assert pushed.code == 0, pushed.stderr
    result = json.loads(pushed.stdout)
    assert result["stored"] is True and result["container"] == container
    assert [b.name for b in client.list_blobs()] == [result["blob"]]
    assert result["blob"].endswith(f"-{result['sha256'][:8]}.json")

    history = [json.loads(line) for line in world.cli("feed", "history").stdout.splitlines()]
    assert [(h["name"], h["status"], h["sha256"]) for h in history] == [(result["blob"], "received", result["sha256"])]

    check = world.cli("feed", "check", f"blob:{container}")
    assert check.code == 0, check.stderr
    assert check.stdout.startswith("2 offerings, 3 activities accepted.")


def test_push_refuses_a_cut_csv_with_the_reason_and_stores_nothing(world: World, tmp_path: Path) -> None:
    _container, client = _drop(world)
    cut = tmp_path / "cut.csv"
    cut.write_text("\r\n".join(csv_text(base_feed()).split("\r\n")[:3]), encoding="utf-8")

    refused = world.cli("feed", "push", str(cut))

    assert refused.code == 1
    assert "Refused: The feed cannot be read" in refused.stdout and "trailer" in refused.stdout
    assert "--force" not in refused.stdout  # an unreadable feed is never stored, forced or not
    assert list(client.list_blobs()) == []


def test_a_refused_upload_says_which_role_to_give_and_never_shows_the_key(world: World, tmp_path: Path) -> None:
    _container, client = _drop(world)
    feed = tmp_path / "export.json"
    feed.write_text(json.dumps(base_feed()), encoding="utf-8")
    wrong_key = "d3Jvbmcta2V5LWZvci10aGUtZmVlZC1kcm9w" * 2
    storage = world.env["AzureWebJobsStorage"]
    fields = dict(part.split("=", 1) for part in storage.split(";") if part)
    fields["AccountKey"] = wrong_key  # the drop refuses this uploader (403), as Azure does without the role
    wrong = ";".join(f"{k}={v}" for k, v in fields.items())
    refused = world.cli("feed", "push", str(feed), LEARNCAL_FEED_STORAGE=wrong)

    assert refused.code == 1
    assert "refused the upload (403)" in refused.stderr
    assert "Storage Blob Data Contributor" in refused.stderr and "az role assignment create" in refused.stderr
    assert wrong_key not in refused.stdout + refused.stderr
    assert list(client.list_blobs()) == []

"""`learncal sandbox --profile FILE`: a tenant profile's realism is in force, as PATCH /_sandbox/config sets it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.local.sandbox_process import sandbox_process
from shared.sandbox import start
from shared.sandbox.client import SandboxClient
from shared.sandbox.profile import ProfileError

REPO = Path(__file__).resolve().parents[2]
MEASURED = {"batchExecution": "sequential", "concurrentRequestsPerMailbox": 2, "encodedBatchQueryOptions": "decoded",
            "repeatCancel": "notFound", "transactionIdAfterCancel": "createsNew", "subjectOverLimit": "truncate"}


def write_profile(path: Path, **changes: Any) -> Path:
    profile = {"kind": "learncal-tenant-profile", "version": 1, "measuredAt": "2026-01-01T00:00:00Z",
               "tenantId": "00000000-0000-0000-0000-000000000001", "mailbox": "probe@contoso.example",
               "attendee": "probe.attendee@contoso.example", "observations": {}, "realism": dict(MEASURED)}
    profile.update(changes)
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def test_learncal_sandbox_with_a_profile_has_its_realism_in_force(tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "tenant.json")

    with sandbox_process(tmp_path / "data", profile=profile) as info:
        client = SandboxClient(info)
        config = client.request("GET", "/config")[1]
        client.configure(repeatCancel="accepted", messagesPerMinute=7)
        client.reset()
        after_reset = client.request("GET", "/config")[1]

    assert {key: config[key] for key in MEASURED} == MEASURED
    assert config["extendedPropertyFilterCase"] == "insensitive"  # not in the profile: keeps its value
    assert {key: after_reset[key] for key in MEASURED} == MEASURED  # reset returns to the measured tenant
    assert after_reset["messagesPerMinute"] == 30


def test_start_applies_a_profile_over_the_kept_settings(tmp_path: Path) -> None:
    with start(tmp_path / "data") as running:
        SandboxClient(running.info).configure(messagesPerMinute=5)
    profile = write_profile(tmp_path / "tenant.json", realism={"repeatCancel": "badRequest"})

    with start(tmp_path / "data", profile=profile) as running:
        config = SandboxClient(running.info).request("GET", "/config")[1]

    assert (config["repeatCancel"], config["messagesPerMinute"]) == ("badRequest", 5)


@pytest.mark.parametrize(("changes", "named"), [
    ({"realism": {"repeatCancel": "twice"}}, ["'realism'", "repeatCancel"]),
    ({"realism": {"batchSize": 4}}, ["'realism'", "batchSize"]),
    ({"kind": "something-else"}, ["'kind'", "learncal-tenant-profile"]),
    ({"version": 2}, ["'version'"]),
])
def test_a_bad_profile_is_refused_naming_the_file_and_key(tmp_path: Path, changes: dict[str, Any],
                                                          named: list[str]) -> None:
    profile = write_profile(tmp_path / "bad.json", **changes)

    with pytest.raises(ProfileError) as raised:
        start(tmp_path / "data", profile=profile)

    for text in [str(profile), *named]:
        assert text in str(raised.value)


def test_the_command_exits_with_a_plain_error_for_a_bad_profile(tmp_path: Path) -> None:
    profile = tmp_path / "broken.json"
    profile.write_text("{not json", encoding="utf-8")

    result = subprocess.run([sys.executable, "-m", "shared.cli", "sandbox", "--data", str(tmp_path / "data"),
                             "--profile", str(profile)], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert str(profile) in result.stderr and "not JSON" in result.stderr
    assert result.stdout == ""

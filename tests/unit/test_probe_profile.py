"""The tenant profile's rules, without a tenant: which observations become sandbox settings,
and which names the probe refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import LearncalError
from shared.probe import ProbeTarget, TenantProfile, realism_from
from shared.probe.profile import Observation
from shared.settings import Settings


def test_conclusive_observations_become_settings_and_inconclusive_ones_leave_the_default() -> None:
    observations = {
        "batchConcurrency": {"result": "notThrottled"},
        "encodedBatchQueryOptions": {"result": "inconclusive"},
        "extendedPropertyFilterCase": {"result": "sensitive"},
        "repeatCancel": {"result": "badRequest"},
        "transactionIdAfterCancel": {"result": "inconclusive"},
        "subjectOverLimit": {"result": "truncate", "storedLength": 250},
        "outOfScope": {"result": "refused", "message": "Access to OData is disabled."},
    }
    assert realism_from(observations) == {
        "batchExecution": "sequential", "extendedPropertyFilterCase": "sensitive", "repeatCancel": "badRequest",
        "subjectOverLimit": "truncate", "subjectMaxLength": 250,
    }
    assert realism_from({"batchConcurrency": {"result": "throttled"}, "subjectOverLimit": {"result": "accepted"}}) \
        == {"batchExecution": "concurrent"}


def test_profile_json_has_the_agreed_shape(tmp_path: Path) -> None:
    profile = TenantProfile("2026-01-01T00:00:00Z", "tenant-1", "box@contoso.example", "person@contoso.example",
                            {"repeatCancel": Observation("notFound", "refused as gone", {"second": {"status": 404}})},
                            {"created": 1, "removed": 1, "leftBehind": []})
    path = tmp_path / "p" / "profile.json"
    profile.write(path)
    data = json.loads(path.read_text())
    assert set(data) == {"kind", "version", "measuredAt", "tenantId", "mailbox", "attendee", "observations", "realism"}
    assert (data["kind"], data["version"]) == ("learncal-tenant-profile", 1)
    assert data["observations"]["repeatCancel"] == {"result": "notFound", "summary": "refused as gone",
                                                    "second": {"status": 404}}
    assert data["realism"] == {"repeatCancel": "notFound"}
    assert profile.clean


@pytest.mark.parametrize(("mailbox", "attendee", "words"), [
    (None, "a@contoso.example", "needs --mailbox"),
    ("m@contoso.example", "  ", "needs --attendee"),
    (None, None, "needs --mailbox and --attendee"),
    ("not-an-address", "a@contoso.example", "--mailbox: 'not-an-address' is not an e-mail address"),
    ("m@contoso.example", "M@Contoso.example", "--attendee must differ"),
])
def test_probe_target_refuses_unclear_names(mailbox: str | None, attendee: str | None, words: str) -> None:
    with pytest.raises(LearncalError, match=words):
        ProbeTarget.parse(mailbox, attendee)


def test_probe_target_respects_the_allowlist() -> None:
    settings = Settings.from_env({"LEARNCAL_RECIPIENT_ALLOWLIST": "@test.contoso.example"})
    with pytest.raises(LearncalError, match="not on the recipient allow-list in force"):
        ProbeTarget.parse("m@contoso.example", "a@contoso.example").check_allowed(settings)
    target = ProbeTarget.parse(" M@Contoso.example ", "A@Test.Contoso.example")
    target.check_allowed(settings)
    assert (target.mailbox, target.attendee) == ("m@contoso.example", "a@test.contoso.example")

"""The audit store on Azurite: newest first, `since`, a limit, and never a secret whatever a caller passes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from shared.store.audit import AuditStore, audit
from shared.store.tables import Tables


def test_entries_come_back_newest_first_within_limit_and_since(tables: Tables) -> None:
    store = AuditStore(tables)
    now = datetime.now(UTC)
    for hours, target in ((5, "OFF-1"), (3, "OFF-2"), (1, "OFF-3")):
        store.record("ines@contoso.example", "offering.reconcile", target, {}, now=now - timedelta(hours=hours))

    assert [e["target"] for e in store.recent()] == ["OFF-3", "OFF-2", "OFF-1"]
    assert [e["target"] for e in store.recent(limit=2)] == ["OFF-3", "OFF-2"]
    assert [e["target"] for e in store.recent(since=now - timedelta(hours=4))] == ["OFF-3", "OFF-2"]
    exactly = store.recent(since=now - timedelta(hours=3))
    assert [e["target"] for e in exactly] == ["OFF-3", "OFF-2"]  # an entry at `since` is included


EXPIRES = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()  # a secret expiry a quarter ahead


def test_a_secret_passed_by_mistake_is_stored_only_as_set(tables: Tables) -> None:
    audit(tables, "ops", "feed.upload", "feeds/x.json",
          {"clientSecret": "S3cr3t!", "nested": {"password": "hunter2", "secretExpires": EXPIRES},
           "secret": "set", "rows": 12})

    (entry,) = AuditStore(tables).recent()

    assert entry["changes"] == {"clientSecret": "set", "nested": {"password": "set", "secretExpires": EXPIRES},
                                "secret": "set", "rows": 12}


def test_a_long_target_is_cut_to_fit_and_the_change_still_recorded(tables: Tables) -> None:
    audit(tables, "ops", "queue.clear", "x" * 2000, {"cleared": 3})

    (entry,) = AuditStore(tables).recent()
    assert entry["target"] == "x" * 512 and entry["changes"] == {"cleared": 3}


def test_an_entry_that_cannot_be_stored_is_logged_without_its_secret_and_without_failing(
    caplog: pytest.LogCaptureFixture
) -> None:
    from shared.settings import Settings
    from shared.store.tables import table_service

    unreachable = Settings.from_env({"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=x;"
                                     "AccountKey=eA==;TableEndpoint=http://127.0.0.1:9/x;"})
    caplog.set_level(logging.ERROR, logger="learncal.audit")

    audit(Tables(table_service(unreachable), prefix="Gone"), "ops", "queue.clear", "learncal-send",
          {"cleared": 3, "token": "abc123"})

    (record,) = [r for r in caplog.records if r.name == "learncal.audit"]
    assert "learncal.audit.unrecorded queue.clear by ops on learncal-send" in record.getMessage()
    assert '"cleared": 3' in record.getMessage() and "abc123" not in record.getMessage()

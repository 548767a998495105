"""Run records too large for one Table Storage entity still list, marked truncated (Azurite)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from click.testing import CliRunner

import function_app
from shared.admin.context import Services, using
from shared.cli import cli
from shared.domain import Rejection
from shared.local.azurite import RunningAzurite
from shared.settings import Settings
from shared.store.runs import RunStore
from shared.store.tables import Tables, table_service
from shared.sync.summary import RunSummary

# Table Storage: a string property holds at most 64 KiB (32,768 UTF-16 characters).
PROPERTY_LIMIT_CHARS = 32 * 1024


def huge_run(started: datetime, rejected: int = 3000) -> RunSummary:
    summary = RunSummary(run_id="big" + uuid.uuid4().hex[:6], started_at=started)
    summary.rejected = [Rejection(f"offerings[{i}].enrollments[0].learnerEmail", "is not an e-mail address: "
                                  + "x" * 40) for i in range(rejected)]
    summary.errors = [{"invitation": f"lcs1/OFF-{i}/ACT-1/a@b.example", "message": "Graph refused it."}
                      for i in range(400)]
    return summary.finish("completed", "many rejected")


@pytest.fixture
def environment(azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch) -> Tables:
    prefix = "R" + uuid.uuid4().hex[:10]
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LEARNCAL_TABLE_PREFIX", prefix)
    return Tables(table_service(Settings.from_env()), prefix=prefix)


def test_an_oversized_run_round_trips_marked_truncated_with_its_counts(environment: Tables) -> None:
    now = datetime.now(UTC)
    small = RunSummary(run_id="small1", started_at=now - timedelta(minutes=5)).finish("completed")
    big = huge_run(now)
    runs = RunStore(environment)
    runs.record(small.to_json())
    assert len(json.dumps(big.to_json())) > PROPERTY_LIMIT_CHARS  # would not fit in one property
    runs.record(big.to_json())

    listed = runs.recent(5)

    assert [r["runId"] for r in listed] == [big.run_id, "small1"]
    first = listed[0]
    assert first["truncated"] is True and first["status"] == "completed"
    assert (first["rejectedCount"], first["errorsCount"]) == (3000, 400)
    assert 0 < len(first["rejected"]) < 3000
    assert first["rejected"][0]["path"] == "offerings[0].enrollments[0].learnerEmail"
    assert "truncated" not in listed[1]
    row = next(iter(environment["runs"].query_entities("PartitionKey eq 'run'")))
    assert row["Truncated"] is True and len(row["Summary"]) < PROPERTY_LIMIT_CHARS


def test_a_record_that_cannot_be_read_back_still_lists_from_its_row(environment: Tables) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    inverted = f"{10**13 - int(started.timestamp() * 1000):013d}"
    environment["runs"].upsert_entity({"PartitionKey": "run", "RowKey": f"{inverted}-cut1", "Status": "completed",
                                       "Summary": '{"runId": "cut1", "rejected": [{"path": "offer'})

    (listed,) = RunStore(environment).recent(5)

    assert (listed["runId"], listed["status"], listed["truncated"]) == ("cut1", "completed", True)
    assert datetime.fromisoformat(listed["startedAt"]) == started


def test_learncal_runs_and_get_api_runs_show_the_truncated_run(
    environment: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = huge_run(datetime.now(UTC))
    RunStore(environment).record(big.to_json())
    monkeypatch.setenv("LEARNCAL_LOCAL_SIGN_IN", "true")  # a signed-in Reader (learncal serve's local sign-in)
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)
    reader = base64.b64encode(json.dumps({"claims": [{"typ": "roles", "val": "LearningCalendar.Reader"}]}).encode())

    result = CliRunner().invoke(cli, ["runs", "--limit", "3", "--json"])
    with using(Services.build(Settings.from_env(), tables=environment)):
        response = function_app.runs.build().get_user_function()(
            func.HttpRequest("GET", "http://localhost/api/runs", body=b"",
                             headers={"X-MS-CLIENT-PRINCIPAL": reader.decode()}))

    assert result.exit_code == 0, result.output
    (shown,) = json.loads(result.stdout)["value"]
    assert shown["runId"] == big.run_id and shown["truncated"] is True
    assert response.status_code == 200
    (listed,) = json.loads(response.get_body())["value"]
    assert listed["runId"] == big.run_id and listed["truncated"] is True and listed["rejectedCount"] == 3000

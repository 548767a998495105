"""GET /api/responses, GET /api/responses/counts and `learncal responses`: filters, paging, roles, JSON and CSV.

The answers are stored through the responses table on Azurite; the routes are called as the
Functions host calls them, with App Service Authentication's principal headers; the CLI runs
through click's runner with the settings as app settings.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import conftest_admin
import pytest
from click.testing import CliRunner, Result
from conftest_admin import World, payload, principal, request

from shared.cli import cli
from shared.settings import Settings
from shared.store.responses import ResponseRecord, ResponseStore
from shared.store.tables import Tables, table_service

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

READER = principal(["LearningCalendar.Reader"], "rea.der@contoso.example")
NOW = datetime.now(UTC).replace(microsecond=0)


def z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# (offering, session, person, role, answer, minutes ago answered (None: not yet), minutes ago recorded)
ANSWERS = [
    ("OFF-A", "S1", "ada@contoso.example", "learner", "accepted", 90, 90),
    ("OFF-A", "S1", "bo@contoso.example", "learner", "declined", 80, 80),
    ("OFF-A", "S1", "ian@contoso.example", "primaryInstructor", "declined", 70, 10),
    ("OFF-A", "S2", "ada@contoso.example", "learner", "tentativelyAccepted", 60, 60),
    ("OFF-A", "S2", "cy@contoso.example", "learner", "none", None, 50),
    ("OFF-B", "S1", "ada@contoso.example", "learner", "accepted", 5, 5),
]


def seed(tables: Tables) -> None:
    ResponseStore(tables).record(
        ResponseRecord(o, s, p, role, answer, None if at is None else NOW - timedelta(minutes=at),
                       "learning@contoso.example", f"evt-{o}-{s}-{p}", NOW - timedelta(minutes=rec))
        for o, s, p, role, answer, at, rec in ANSWERS)


def expected(**only: Any) -> list[dict[str, Any]]:
    """The items the service should answer, written from ANSWERS alone."""
    rows = []
    for o, s, p, role, answer, at, rec in ANSWERS:
        row = {"offeringId": o, "activityId": s, "email": p, "role": role, "response": answer,
               "respondedAt": None if at is None else z(NOW - timedelta(minutes=at))}
        recent = "recordedWithin" not in only or rec <= only["recordedWithin"]
        if recent and all(row[k] == v for k, v in only.items() if k != "recordedWithin"):
            rows.append(row)
    return rows


def key(row: dict[str, Any]) -> tuple[str, str, str]:
    return row["offeringId"], row["activityId"], row["email"]


def get(world: World, query: dict[str, str], headers: dict[str, str] | None = None, path: str = "responses",
        name: str = "responses") -> tuple[int, Any]:
    text = ("?" + urlencode(query)) if query else ""
    response = world.call(name, request("GET", path + text, headers=READER if headers is None else headers))
    return response.status_code, payload(response)


def test_a_reader_lists_every_answer_and_each_filter_narrows_it(world: World) -> None:
    seed(world.tables)

    status, body = get(world, {})
    assert status == 200 and body["next"] is None
    assert sorted(body["items"], key=key) == sorted(expected(), key=key)

    cases: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"offeringId": "OFF-A"}, {"offeringId": "OFF-A"}),
        ({"offeringId": "OFF-A", "activityId": "S1"}, {"offeringId": "OFF-A", "activityId": "S1"}),
        ({"activityId": "S1"}, {"activityId": "S1"}),
        ({"email": "ADA@contoso.example"}, {"email": "ada@contoso.example"}),
        ({"response": "declined"}, {"response": "declined"}),
        ({"response": "none"}, {"response": "none"}),
        ({"response": "tentative"}, {"response": "tentativelyAccepted"}),
        ({"changedSince": z(NOW - timedelta(minutes=20))}, {"recordedWithin": 20}),
    ]
    for query, only in cases:
        status, body = get(world, query)
        assert status == 200, body
        assert sorted(body["items"], key=key) == sorted(expected(**only), key=key), query


def test_pages_follow_the_next_token_to_the_end(world: World) -> None:
    seed(world.tables)
    seen: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": "2"}
    pages = 0
    while True:
        status, body = get(world, query)
        assert status == 200 and len(body["items"]) <= 2
        seen.extend(body["items"])
        pages += 1
        if body["next"] is None:
            break
        query = {"limit": "2", "after": body["next"]}
    assert pages == 3
    assert sorted(seen, key=key) == sorted(expected(), key=key)


def test_a_caller_without_the_reader_role_is_refused(world: World) -> None:
    seed(world.tables)
    assert get(world, {}, headers=principal(["Someone.Else"], "bo@contoso.example"))[0] == 403
    assert get(world, {}, headers={})[0] == 401
    assert get(world, {"offeringId": "OFF-A"}, headers=principal(["LearningCalendar.Admin"]))[0] == 200


@pytest.mark.parametrize(("query", "field"), [
    ({"offering": "OFF-A"}, "offering"),
    ({"response": "maybe"}, "response"),
    ({"changedSince": "yesterday"}, "changedSince"),
    ({"limit": "0"}, "limit"),
    ({"limit": "5000"}, "limit"),
    ({"email": "not-an-address"}, "email"),
    ({"after": "garbage!"}, "after"),
])
def test_a_filter_that_cannot_be_used_is_a_400_naming_it(world: World, query: dict[str, str], field: str) -> None:
    status, body = get(world, query)

    assert status == 400
    assert body["errors"][0]["field"] == field and field in body["detail"]


def test_counts_over_time_follow_the_answers_of_one_session(world: World) -> None:
    seed(world.tables)

    status, body = get(world, {"offeringId": "OFF-A", "activityId": "S1"}, path="responses/counts",
                       name="response_counts")

    assert status == 200
    assert [(p["at"], p["accepted"], p["declined"], p["none"]) for p in body["points"]] == [
        (z(NOW - timedelta(minutes=90)), 1, 0, 2), (z(NOW - timedelta(minutes=80)), 1, 1, 1),
        (z(NOW - timedelta(minutes=70)), 1, 2, 0)]
    assert get(world, {}, path="responses/counts", name="response_counts")[0] == 400


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def environment(world: World, monkeypatch: pytest.MonkeyPatch) -> Tables:
    prefix = conftest_admin.cli_environment(world, monkeypatch)
    tables = Tables(table_service(Settings.from_env()), prefix=prefix)
    seed(tables)
    return tables


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["responses", *args])


def test_the_cli_json_holds_every_page_as_the_api_answers_it(environment: Tables) -> None:
    result = run("--json")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["next"] is None and sorted(body["items"], key=key) == sorted(expected(), key=key)

    limited = json.loads(run("--json", "--limit", "4").stdout)
    assert len(limited["items"]) == 4 and limited["next"]

    declined = json.loads(run("--json", "--offering", "OFF-A", "--session", "S1", "--response", "declined").stdout)
    assert sorted(declined["items"], key=key) == sorted(
        expected(offeringId="OFF-A", activityId="S1", response="declined"), key=key)
    mine = json.loads(run("--json", "--person", "ada@contoso.example", "--since", z(NOW - timedelta(minutes=70)))
                      .stdout)
    assert sorted(mine["items"], key=key) == sorted(expected(email="ada@contoso.example", recordedWithin=70), key=key)
    assert len(mine["items"]) == 2


def test_the_cli_csv_has_the_documented_header_and_one_row_per_answer(environment: Tables) -> None:
    result = run("--csv", "--offering", "OFF-A")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "offeringId,activityId,email,role,response,respondedAt"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    want = [{k: "" if v is None else v for k, v in row.items()} for row in expected(offeringId="OFF-A")]
    assert sorted(rows, key=key) == sorted(want, key=key)


def test_the_cli_names_an_option_it_cannot_use(environment: Tables) -> None:
    result = run("--response", "maybe")

    assert result.exit_code == 2
    assert "--response" in result.output and "declined" in result.output
    both = run("--json", "--csv")
    assert both.exit_code == 2 and "--json" in both.output


def test_a_change_time_with_an_unencoded_plus_still_reads_as_its_offset(world: World) -> None:
    seed(world.tables)
    since = (NOW - timedelta(minutes=20)).isoformat()  # "...+00:00", its "+" sent as is: a space on arrival
    response = world.call("responses", request("GET", f"responses?changedSince={since}", headers=READER))

    assert response.status_code == 200, response.get_body()
    assert sorted(payload(response)["items"], key=key) == sorted(expected(recordedWithin=20), key=key)

"""The routes the console reads and acts through: audit trail, offerings, reconcile preview, jobs, allowance.

Called as the Functions host would call the decorated functions, over the sandbox tenant and
Azurite's tables and queues. Jobs are run by handing the queued message to `job_worker`, as
the queue trigger does.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import conftest_admin
import pytest
from conftest_admin import ADMIN_ROLE, World, payload, principal, provider_body, request

from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.store.allowance import AllowanceStore
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.services import queue_client
from tests.support.feeds import ADA, base_feed, offering, write

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

READER = {**principal(["LearningCalendar.Reader"], "rea.der@contoso.example")}
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted"'


def audit_entries(world: World, headers: dict[str, str] | None = None, query: str = "") -> list[dict[str, Any]]:
    response = world.call("audit_trail", request("GET", "audit" + query, headers=headers))
    assert response.status_code == 200, response.get_body()
    return list(payload(response)["value"])


# -- who is signed in -----------------------------------------------------------------------

def test_me_tells_the_console_who_is_signed_in_and_what_they_may_do(world: World) -> None:
    def me(headers: dict[str, str]) -> dict[str, Any]:
        response = world.call("me", request("GET", "me", headers=headers))
        assert response.status_code == 200, response.get_body()
        return dict(payload(response))

    assert me(principal([ADMIN_ROLE], "ines.admin@contoso.example")) == {
        "name": "ines.admin@contoso.example", "roles": [ADMIN_ROLE], "canRead": True, "canChange": True}
    assert me(READER) == {"name": "rea.der@contoso.example", "roles": ["LearningCalendar.Reader"],
                          "canRead": True, "canChange": False}
    assert me(principal(["Other.Role"], "bo@contoso.example")) == {
        "name": "bo@contoso.example", "roles": [], "canRead": False, "canChange": False}
    assert world.call("me", request("GET", "me", headers={})).status_code == 401


# -- audit trail ---------------------------------------------------------------------------

def test_a_provider_save_is_audited_with_what_changed_and_the_secret_only_as_set(world: World) -> None:
    new_secret = world.sandbox.add_client_secret(world.info["clientId"])
    body = provider_body(world, status="inactive", clientSecret=new_secret, recipientAllowlist=["@contoso.example"])

    saved = world.call("provider", request("PUT", "provider", body,
                                           headers={**principal([ADMIN_ROLE], "ines.admin@contoso.example"),
                                                    "X-Learncal-Request": "1"}))
    assert saved.status_code == 200, saved.get_body()
    response = world.call("audit_trail", request("GET", "audit", headers=READER))

    entries = payload(response)["value"]
    assert new_secret not in response.get_body().decode()
    assert [e["action"] for e in entries] == ["secret.set", "provider.save"]  # newest first
    secret, save = entries
    assert secret["actor"] == save["actor"] == "ines.admin@contoso.example"
    assert secret["changes"]["secret"] == "set" and "expires" in secret["changes"]
    assert save["changes"]["changed"]["status"] == {"from": "active", "to": "inactive"}
    assert save["changes"]["changed"]["recipientAllowlist"] == {"from": [], "to": ["@contoso.example"]}
    assert "tenantId" not in save["changes"]["changed"]  # unchanged fields are not listed
    assert datetime.fromisoformat(save["at"].replace("Z", "+00:00")) > datetime.now(UTC) - timedelta(minutes=5)


def test_reconcile_and_a_run_request_are_audited_and_since_filters(world: World, tmp_path: Path) -> None:
    OfferingStore(world.tables).save(OfferingState("OFF-7", "Seven"))
    world.call("offering_reconcile", request("POST", "offerings/OFF-7/reconcile", route_params={"offeringId": "OFF-7"}))
    services = world.services(feed=write(base_feed(), tmp_path / "feed.json"))
    world.call("sync_now", request("POST", "sync", {"dryRun": True}), services)  # a dry run changes nothing
    world.call("sync_now", request("POST", "sync", {}), services)

    entries = audit_entries(world)
    later = audit_entries(world, query="?since=" + (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
                          .replace("+00:00", "Z"))

    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("sync.request", "sync", "admin@contoso.example"),
        ("offering.reconcile", "OFF-7", "admin@contoso.example"),
    ]
    assert entries[1]["changes"]["reconcileRequestedAt"]
    assert later == []
    bad = world.call("audit_trail", request("GET", "audit?since=yesterday"))
    assert bad.status_code == 422 and payload(bad)["errors"][0]["field"] == "since"


def test_a_run_request_carrying_an_allowance_records_both(world: World, tmp_path: Path) -> None:
    services = world.services(feed=write(base_feed(), tmp_path / "feed.json"))
    world.call("sync_now", request("POST", "sync", {"allowMassCancel": 23}), services)
    world.call("sync_now", request("POST", "sync", {"allowMassCancel": True}), services)

    entries = [(e["action"], e["changes"].get("count")) for e in audit_entries(world)]

    assert entries == [("allowance.give", "as many as this run plans"), ("sync.request", None),
                       ("allowance.give", 23), ("sync.request", None)]


def test_the_audit_trail_needs_a_role(world: World) -> None:
    refused = world.call("audit_trail", request("GET", "audit", headers=principal(["Someone.Else"])))

    assert refused.status_code == 403


# -- offerings -------------------------------------------------------------------------------

def _mapping_row(world: World, offering_id: str, activity: str, email: str, role: str = "learner",
                 state: str = "live", event_id: str | None = None) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(world.tables).put(SentRecord(
        key=InvitationKey(offering_id, activity, email), organizer=world.info["organizer"], role=role, state=state,
        key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1), event_id=event_id))


def test_offerings_are_searched_and_paged_with_their_sessions_and_live_invitations(world: World) -> None:
    store = OfferingStore(world.tables)
    for n in range(30):
        store.save(OfferingState(f"OFF-{n:03d}", f"Course {n:03d}", live=n))
    store.save(OfferingState("OFF-X", "Safety " + MARKUP))
    _mapping_row(world, "OFF-X", "ACT-1", ADA)
    _mapping_row(world, "OFF-X", "ACT-1", "bo.learner@contoso.example", state="cancelled")
    _mapping_row(world, "OFF-X", "ACT-2", ADA)

    first = payload(world.call("offerings", request("GET", "offerings", headers=READER)))
    second = payload(world.call("offerings", request("GET", "offerings?page=2", headers=READER)))
    found = world.call("offerings", request("GET", "offerings?search=SAFETY", headers=READER))

    assert (first["total"], first["pages"], len(first["value"]), len(second["value"])) == (31, 2, 25, 6)
    assert [o["offeringId"] for o in first["value"]][:2] == ["OFF-000", "OFF-001"]  # by title
    only = payload(found)["value"]
    assert [o["offeringId"] for o in only] == ["OFF-X"]
    assert (only[0]["sessions"], only[0]["liveInvitations"]) == (2, 2)
    assert only[0]["lastChange"]
    # markup in a title comes back as the same string, in JSON, never as markup
    assert only[0]["title"] == "Safety " + MARKUP
    assert found.mimetype == "application/json" and found.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" in found.get_body()  # JSON data, served as application/json with nosniff
    assert world.call("offerings", request("GET", "offerings?page=0")).status_code == 422


def test_an_offering_shows_who_holds_which_meeting_read_only(world: World) -> None:
    OfferingStore(world.tables).save(OfferingState("OFF/9", MARKUP, live=2))
    long_id = "AAMkAGI2TG93AAA=" * 8
    _mapping_row(world, "OFF/9", "ACT-1", ADA, event_id=long_id)
    _mapping_row(world, "OFF/9", "ACT-1", "ines.instructor@contoso.example", role="instructor", event_id="short")
    rows_before = list(world.tables["invitations"].list_entities())

    response = world.call("offering", request("GET", "offerings/OFF%2F9", headers=READER,
                                              route_params={"offeringId": "OFF%2F9"}))

    body = payload(response)
    assert response.status_code == 200, body
    assert body["title"] == MARKUP
    (session,) = body["sessions"]
    assert session["activityId"] == "ACT-1"
    holders = {h["address"]: h for h in session["invitations"]}
    assert holders[ADA]["role"] == "learner" and holders[ADA]["state"] == "live"
    assert holders[ADA]["organizer"] == world.info["organizer"]
    assert holders[ADA]["eventId"] != long_id and long_id.startswith(holders[ADA]["eventId"].rstrip("…"))
    assert holders["ines.instructor@contoso.example"]["eventId"] == "short"
    assert len(list(world.tables["invitations"].list_entities())) == len(rows_before)
    missing = world.call("offering", request("GET", "offerings/NOPE", headers=READER,
                                             route_params={"offeringId": "NOPE"}))
    assert missing.status_code == 404


def test_a_reconcile_preview_lists_what_would_be_sent_and_marks_nothing(world: World, tmp_path: Path) -> None:
    feed = base_feed()
    path = write(feed, tmp_path / "feed.json")
    services = world.services(feed=path)
    assert world.sync({}, services)["sent"] > 0
    offering(feed, "OFF-1001")["description"] = "A new description " + MARKUP  # a change only a reconcile sends
    write(feed, tmp_path / "feed.json")
    sent_before = world.sandbox.stats()["requests"]

    response = world.call("offering_reconcile", request("POST", "offerings/OFF-1001/reconcile?preview=true",
                                                        route_params={"offeringId": "OFF-1001"}), services)

    body = payload(response)
    assert response.status_code == 200, body
    assert body["counts"]["update"] > 0 and body["counts"]["create"] == 0
    assert {s["offering"] for s in body["sends"]} == {"OFF-1001"}
    assert all(s["action"] == "update" and s["reason"] == "reconcile" and "body" in s["changed"]
               for s in body["sends"])
    state = OfferingStore(world.tables).get("OFF-1001")
    assert state is not None and state.reconcile_requested_at is None
    assert world.sandbox.stats()["requests"] == sent_before
    assert [e["action"] for e in audit_entries(world)] == ["sync.request"]


# -- jobs ------------------------------------------------------------------------------------

def _run_queued_job(world: World) -> None:
    """Take the one message on learncal-jobs and hand it to job_worker, as the queue trigger would."""
    queue = queue_client(world.settings, "learncal-jobs")
    (message,) = list(queue.receive_messages(max_messages=5))
    queue.delete_message(message)
    conftest_admin.function("job_worker")(func.QueueMessage(id=message.id, body=message.content.encode()))


@pytest.fixture
def empty_jobs_queue(world: World) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    with contextlib.suppress(ResourceNotFoundError):  # not created yet: nothing to clear
        queue_client(world.settings, "learncal-jobs").clear_messages()


def test_validate_runs_as_a_job_the_console_follows(world: World, empty_jobs_queue: None) -> None:
    started = world.call("jobs", request("POST", "jobs", {"kind": "validate"}))

    assert started.status_code == 202, started.get_body()
    job = payload(started)
    assert started.headers["Location"] == f"/api/jobs/{job['jobId']}"
    assert (job["state"], job["kind"], job["createdBy"]) == ("queued", "validate", "admin@contoso.example")
    waiting = world.call("job", request("GET", f"jobs/{job['jobId']}", route_params={"jobId": job["jobId"]}))
    assert payload(waiting)["state"] == "queued" and waiting.headers["Retry-After"]

    with conftest_admin.using(world.services()):
        _run_queued_job(world)

    done = payload(world.call("job", request("GET", f"jobs/{job['jobId']}", route_params={"jobId": job["jobId"]})))
    assert done["state"] == "completed" and done["endedAt"]
    checks = done["result"]["checks"]
    assert len(checks) == 8 and {c["status"] for c in checks} <= {"pass", "warn", "fail"}


def test_a_preview_job_answers_what_the_next_run_would_send(
    world: World, tmp_path: Path, empty_jobs_queue: None
) -> None:
    services = world.services(feed=write(base_feed(), tmp_path / "feed.json"))
    job = payload(world.call("jobs", request("POST", "jobs", {"kind": "preview"}), services))

    with conftest_admin.using(services):
        _run_queued_job(world)

    done = payload(world.call("job", request("GET", f"jobs/{job['jobId']}", route_params={"jobId": job["jobId"]})))
    assert done["state"] == "completed"
    assert done["result"]["dryRun"] is True and done["result"]["created"] == 10
    assert len(done["result"]["plan"]) == 10
    assert world.sandbox.calendar(ADA) == []  # a preview sends nothing


def test_a_job_that_fails_stores_its_failure_instead_of_retrying(world: World, empty_jobs_queue: None) -> None:
    job = payload(world.call("jobs", request("POST", "jobs", {"kind": "preview"})))  # no feed configured

    with conftest_admin.using(world.services(feed=None)):
        _run_queued_job(world)

    done = payload(world.call("job", request("GET", f"jobs/{job['jobId']}", route_params={"jobId": job["jobId"]})))
    assert done["state"] == "completed" and done["result"]["status"] == "failed"
    assert "LEARNCAL_FEED" in done["result"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "sync"}, "kind"), ({}, "kind"), ({"kind": "preview", "probeMailbox": ADA}, "probeMailbox"),
    ({"kind": "validate", "probeMailbox": "not an address"}, "probeMailbox"), ({"kind": "validate", "x": 1}, "x"),
])
def test_a_bad_job_request_names_the_field_and_queues_nothing(
    world: World, empty_jobs_queue: None, body: dict[str, Any], field: str
) -> None:
    response = world.call("jobs", request("POST", "jobs", body))

    assert response.status_code == 422 and field in {e["field"] for e in payload(response)["errors"]}
    assert list(queue_client(world.settings, "learncal-jobs").peek_messages()) == []


def test_jobs_older_than_a_week_are_removed_as_new_ones_start(world: World, empty_jobs_queue: None) -> None:
    world.tables["jobs"].create_entity({"PartitionKey": "job", "RowKey": "old1", "Kind": "validate",
                                        "State": "completed", "CreatedAt": datetime.now(UTC) - timedelta(days=8)})
    world.tables["jobs"].create_entity({"PartitionKey": "job", "RowKey": "recent1", "Kind": "validate",
                                        "State": "completed", "CreatedAt": datetime.now(UTC) - timedelta(days=6)})

    started = payload(world.call("jobs", request("POST", "jobs", {"kind": "validate"})))

    ids = {e["RowKey"] for e in world.tables["jobs"].list_entities()}
    assert ids == {"recent1", started["jobId"]}


def test_an_unknown_job_is_404(world: World) -> None:
    response = world.call("job", request("GET", "jobs/abc123", route_params={"jobId": "abc123"}))

    assert response.status_code == 404 and "POST /api/jobs" in payload(response)["detail"]


# -- allowance -------------------------------------------------------------------------------

def test_an_allowance_needs_confirmation_and_is_recorded_with_who_gave_it(world: World) -> None:
    unconfirmed = world.call("allowance", request("POST", "allowance", {"count": 23, "confirm": False}))
    zero = world.call("allowance", request("POST", "allowance", {"count": 0, "confirm": True}))
    assert unconfirmed.status_code == 422 and payload(unconfirmed)["errors"][0]["field"] == "confirm"
    assert zero.status_code == 422 and payload(zero)["errors"][0]["field"] == "count"
    assert AllowanceStore(world.tables).current() is None

    given = world.call("allowance", request("POST", "allowance", {"count": 23, "confirm": True}))

    assert given.status_code == 201, given.get_body()
    current = AllowanceStore(world.tables).current()
    assert current is not None and current.count == 23 and current.given_by.startswith("admin@contoso.example")
    (entry,) = audit_entries(world)
    assert (entry["action"], entry["actor"], entry["changes"]["count"]) == ("allowance.give",
                                                                            "admin@contoso.example", 23)
    assert json.loads(given.get_body())["expiresAt"] == entry["changes"]["expiresAt"]


def test_a_reader_cannot_give_an_allowance(world: World) -> None:
    response = world.call("allowance", request("POST", "allowance", {"count": 5, "confirm": True},
                                               headers={**READER, "X-Learncal-Request": "1"}))

    assert response.status_code == 403
    assert AllowanceStore(world.tables).current() is None

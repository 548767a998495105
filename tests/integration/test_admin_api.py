"""The admin HTTP API, calling the decorated functions directly with func.HttpRequest.

Each function: a success, bad input (the field named in the problem's errors), an
unauthenticated caller and a caller without the admin role (with App Service Authentication
on), and for the refusals, proof that nothing changed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import conftest_admin
import pytest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from conftest_admin import (
    ADMIN_ROLE,
    OTHER_USER,
    SAMPLE_FEED,
    VAULT_READER,
    World,
    payload,
    principal,
    provider_body,
    request,
)

from shared.admin.context import Services
from shared.domain import InvitationKey
from shared.planning.sent import SentRecord
from shared.provider.store import ProviderStore
from shared.store.allowance import AllowanceStore
from shared.store.mapping import TableMappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.runs import RunStore
from tests.support.feeds import base_feed, offering, write

PROBLEM = "application/problem+json"

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


def vault_value(world: World) -> str | None:
    """The secret as Key Vault holds it, read as the function app's identity would."""
    reader = ClientSecretCredential(world.info["tenantId"], VAULT_READER, world.vault_reader_secret,
                                    authority=world.info["authorityUrl"], disable_instance_discovery=True)
    vault = SecretClient(world.info["keyVaultUrl"], reader, connection_verify=world.info["caFile"])
    return vault.get_secret(world.info["clientSecretName"]).value


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == PROBLEM
    body = payload(response)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return dict(body)


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def open_invitation(world: World, organizer: str) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    TableMappingStore(world.tables).put(SentRecord(
        key=InvitationKey("OFF-1", "ACT-1", OTHER_USER), organizer=organizer, role="learner", state="live",
        key_fp="k", start_utc=later, end_utc=later + timedelta(hours=1),
    ))


# -- GET/PUT /api/provider -----------------------------------------------------------------

def test_reading_shows_the_environment_defaults_and_saves_nothing(world: World) -> None:
    response = world.call("provider", request("GET", "provider"))

    assert response.status_code == 200
    body = payload(response)
    assert body["source"] == "environment"
    assert (body["tenantId"], body["organizer"], body["status"]) == (
        world.info["tenantId"], world.info["organizer"], "active")
    assert body["clientSecret"] == "********"
    assert body["clientSecretSource"] == "keyVault"
    assert body["clientSecretUpdatedAt"]
    assert world.secret not in response.get_body().decode()
    assert ProviderStore(world.tables).load() is None


def test_saving_stores_the_configuration_and_puts_the_secret_in_key_vault_only(world: World) -> None:
    new_secret = world.sandbox.add_client_secret(world.info["clientId"])
    body = provider_body(world, recipientAllowlist=["@Contoso.example", "Ada.Learner@contoso.example"],
                         clientSecret=new_secret)

    response = world.call("provider", request("PUT", "provider", body))

    assert response.status_code == 200, response.get_body()
    saved = payload(response)
    assert saved["source"] == "stored"
    assert saved["recipientAllowlist"] == ["@contoso.example", "ada.learner@contoso.example"]
    assert saved["clientSecret"] == "********"
    assert any("Key Vault" in n for n in saved["notices"])
    assert new_secret not in response.get_body().decode()
    assert vault_value(world) == new_secret
    row = world.tables["provider"].get_entity("provider", "current")
    assert new_secret not in repr(dict(row))
    assert payload(world.call("provider", request("GET", "provider")))["source"] == "stored"


def test_sending_back_the_mask_keeps_the_stored_secret(world: World) -> None:
    response = world.call("provider", request("PUT", "provider", provider_body(world, clientSecret="********")))

    assert response.status_code == 200
    assert not any("Key Vault" in n for n in payload(response)["notices"])
    assert vault_value(world) == world.secret


@pytest.mark.parametrize(("change", "field"), [
    ({"tenantId": "not-a-guid"}, "tenantId"),
    ({"clientId": 42}, "clientId"),
    ({"organizer": "learning coordinator"}, "organizer"),
    ({"status": "paused"}, "status"),
    ({"authMode": "password"}, "authMode"),
    ({"recipientAllowlist": ["@contoso.example", "not an address"]}, "recipientAllowlist[1]"),
    ({"confirmOrganizerChange": "yes"}, "confirmOrganizerChange"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_input_names_the_field_and_saves_nothing(world: World, change: dict[str, Any], field: str) -> None:
    body = problem(world.call("provider", request("PUT", "provider", provider_body(world, **change))), 422)

    assert field in fields(body)
    assert ProviderStore(world.tables).load() is None


def test_a_missing_field_and_a_malformed_body_are_named(world: World) -> None:
    body = provider_body(world)
    del body["organizer"]
    assert fields(problem(world.call("provider", request("PUT", "provider", body)), 422)) == {"organizers"}
    assert fields(problem(world.call("provider", request("PUT", "provider", raw=b"{not json")), 400)) == {"(body)"}
    assert fields(problem(world.call("provider", request("PUT", "provider", [1, 2])), 422)) == {"(body)"}


def test_a_secret_without_a_key_vault_is_refused_and_never_echoed(world: World) -> None:
    response = world.call("provider", request("PUT", "provider", provider_body(world, clientSecret="S3cr3t-value")),
                          world.services(key_vault_url=None))

    body = problem(response, 422)
    assert fields(body) == {"clientSecret"}
    assert "LEARNCAL_KEY_VAULT_URL" in body["errors"][0]["message"]
    assert "S3cr3t-value" not in response.get_body().decode()
    assert ProviderStore(world.tables).load() is None


def test_a_new_organizer_with_open_invitations_needs_confirmation(world: World) -> None:
    open_invitation(world, world.info["organizer"])
    world.sandbox.put_user("new.coordinator@contoso.example")
    body = provider_body(world, organizer="new.coordinator@contoso.example")

    refused = problem(world.call("provider", request("PUT", "provider", body)), 409)

    assert fields(refused) == {"confirmOrganizerChange"}
    assert "keep going through the organizer that sent them" in refused["detail"]
    assert world.info["organizer"] in refused["detail"]
    assert "New invitations come from new.coordinator@contoso.example" in refused["detail"]
    assert ProviderStore(world.tables).load() is None

    accepted = world.call("provider", request("PUT", "provider", dict(body, confirmOrganizerChange=True)))
    assert accepted.status_code == 200
    assert any("must stay reachable" in n for n in payload(accepted)["notices"])
    stored = ProviderStore(world.tables).load()
    assert stored is not None and stored.organizer == "new.coordinator@contoso.example"


def test_a_new_organizer_without_open_invitations_needs_no_confirmation(world: World) -> None:
    open_invitation(world, "new.coordinator@contoso.example")  # only the new organizer's own invitations

    response = world.call("provider", request("PUT", "provider",
                                              provider_body(world, organizer="new.coordinator@contoso.example")))

    assert response.status_code == 200


def test_alerts_to_switch_off_follow_the_status_and_deactivation_explains_itself(world: World) -> None:
    codes = [a["code"] for a in payload(world.call("provider", request("GET", "provider")))["alertsToSwitchOff"]]
    assert codes == ["WLF-00002", "WLF-00008", "WLF-00009"]

    response = world.call("provider", request("PUT", "provider", provider_body(world, status="inactive")))

    saved = payload(response)
    assert saved["alertsToSwitchOff"] == []
    assert any("will no longer be updated" in n for n in saved["notices"])
    assert payload(world.call("provider", request("GET", "provider")))["alertsToSwitchOff"] == []


def test_with_app_service_authentication_the_admin_role_is_required(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")

    response = world.call("provider", request("PUT", "provider", provider_body(world),
                                              headers={**principal([ADMIN_ROLE], "ines.admin@contoso.example"),
                                                       "X-Learncal-Request": "1"}))

    assert response.status_code == 200
    assert payload(response)["updatedBy"] == "ines.admin@contoso.example"


# -- every route: unauthenticated and wrong role change nothing ------------------------------

ROUTES = [
    ("provider", "GET", "provider", None, None),
    ("provider", "PUT", "provider", "provider", None),
    ("provider_validate", "POST", "provider/validate", None, None),
    ("offering_reconcile", "POST", "offerings/OFF-1/reconcile", None, {"offeringId": "OFF-1"}),
    ("sync_now", "POST", "sync", {"dryRun": False}, None),
    ("runs", "GET", "runs", None, None),
    ("run", "GET", "runs/0123456789ab", None, {"runId": "0123456789ab"}),
    ("openapi", "GET", "openapi.json", None, None),
]
# LearningCalendar.Reader may call these
READ_ROUTES = {("runs", "GET"), ("run", "GET"), ("feeds", "GET"), ("openapi", "GET")}


def _route_request(world: World, method: str, path: str, body: Any, params: Any,
                   headers: dict[str, str]) -> Any:
    data = provider_body(world, status="inactive") if body == "provider" else body
    return request(method, path, data, headers=headers, route_params=params)


def _nothing_changed(world: World) -> None:
    assert ProviderStore(world.tables).load() is None
    state = OfferingStore(world.tables).get("OFF-1")
    assert state is not None and state.reconcile_requested_at is None
    assert RunStore(world.tables).recent() == []


@pytest.mark.parametrize(("name", "method", "path", "body", "params"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES])
@pytest.mark.parametrize("platform", ["app-service", "local"])
def test_an_unauthenticated_caller_gets_401_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, name: str, method: str, path: str, body: Any, params: Any,
    platform: str,
) -> None:
    if platform == "app-service":
        monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    OfferingStore(world.tables).save(OfferingState("OFF-1", "Offering one"))

    response = world.call(name, _route_request(world, method, path, body, params, {"X-Learncal-Request": "1"}))

    assert "Sign in" in problem(response, 401)["detail"]
    _nothing_changed(world)


ADMIN_ONLY = [r for r in ROUTES if (r[0], r[1]) not in READ_ROUTES]


@pytest.mark.parametrize(("name", "method", "path", "body", "params"), ADMIN_ONLY,
                         ids=[f"{r[1]} {r[2]}" for r in ADMIN_ONLY])
def test_a_caller_without_the_admin_role_gets_403_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, name: str, method: str, path: str, body: Any, params: Any
) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    OfferingStore(world.tables).save(OfferingState("OFF-1", "Offering one"))

    response = world.call(name, _route_request(world, method, path, body, params,
                                               {**principal(["LearningCalendar.Reader"]), "X-Learncal-Request": "1"}))

    assert ADMIN_ROLE in problem(response, 403)["detail"]
    _nothing_changed(world)


@pytest.mark.parametrize(("name", "method", "path", "body", "params"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES])
def test_without_any_sign_in_every_admin_route_is_refused_whatever_the_headers_claim(
    world: World, monkeypatch: pytest.MonkeyPatch, name: str, method: str, path: str, body: Any, params: Any
) -> None:
    monkeypatch.delenv("LEARNCAL_LOCAL_SIGN_IN")  # neither App Service Authentication nor `learncal serve`
    OfferingStore(world.tables).save(OfferingState("OFF-1", "Offering one"))

    response = world.call(name, _route_request(world, method, path, body, params,
                                               {**principal([ADMIN_ROLE]), "X-Learncal-Request": "1"}))

    assert "App Service Authentication" in problem(response, 401)["detail"]
    _nothing_changed(world)


def test_local_sign_in_is_ignored_on_an_app_service(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_SITE_NAME", "learncal-func-x")  # an App Service without its authentication on

    body = problem(world.call("provider", request("GET", "provider")), 401)

    assert "LEARNCAL_LOCAL_SIGN_IN is ignored" in body["detail"]


@pytest.mark.parametrize(("name", "path", "body", "params"), [
    ("provider", "provider", "provider", None),
    ("offering_reconcile", "offerings/OFF-1/reconcile", None, {"offeringId": "OFF-1"}),
    ("sync_now", "sync", {"dryRun": False}, None),
])
def test_a_browser_write_without_the_custom_header_is_refused_as_cross_site(
    world: World, name: str, path: str, body: Any, params: Any
) -> None:
    OfferingStore(world.tables).save(OfferingState("OFF-1", "Offering one"))
    method = "PUT" if name == "provider" else "POST"

    for header in ({}, {"X-Learncal-Request": "0"}, {"Authorization": "Basic eDp5"}):
        response = world.call(name, _route_request(world, method, path, body, params,
                                                   {**principal([ADMIN_ROLE]), **header}))
        assert "X-Learncal-Request: 1" in problem(response, 403)["detail"]
    _nothing_changed(world)


def test_a_bearer_caller_needs_no_custom_header_and_reads_need_none(world: World) -> None:
    OfferingStore(world.tables).save(OfferingState("OFF-1", "Offering one"))
    automation = {**principal([ADMIN_ROLE], "ops-automation"), "Authorization": "Bearer eyJ0eXAi.x.y"}

    marked = world.call("offering_reconcile", request("POST", "offerings/OFF-1/reconcile", headers=automation,
                                                      route_params={"offeringId": "OFF-1"}))
    read = world.call("runs", request("GET", "runs", headers=principal(["LearningCalendar.Reader"])))

    assert marked.status_code == 202 and read.status_code == 200


def test_a_save_without_the_allowlist_never_widens_the_environments(world: World, tmp_path: Path) -> None:
    services = world.services(recipient_allowlist=(OTHER_USER,), feed=write(base_feed(), tmp_path / "feed.json"))
    body = provider_body(world)
    del body["recipientAllowlist"]

    saved = payload(world.call("provider", request("PUT", "provider", body), services))
    summary = world.sync({}, services)

    assert saved["allowlistsInForce"] == [
        {"source": "environment", "setting": "LEARNCAL_RECIPIENT_ALLOWLIST", "entries": [OTHER_USER]}]
    assert saved["effectiveAllowlist"] == [OTHER_USER]
    assert summary["sent"] == 3 and summary["leftOut"] == 7  # only Ada's three meetings
    assert world.sandbox.messages(OTHER_USER) and not world.sandbox.messages("bo.learner@contoso.example")


def test_a_stored_allowlist_only_narrows_the_environments_and_its_removal_is_confirmed(world: World) -> None:
    services = world.services(recipient_allowlist=("@contoso.example",))
    put = lambda **changes: world.call("provider", request("PUT", "provider", provider_body(world, **changes)),  # noqa: E731
                                       services)
    narrowed = put(recipientAllowlist=[OTHER_USER, "eve@fabrikam.example"])
    assert narrowed.status_code == 200, narrowed.get_body()
    shown = payload(world.call("provider", request("GET", "provider"), services))
    assert [(x["source"], x["entries"]) for x in shown["allowlistsInForce"]] == [
        ("environment", ["@contoso.example"]), ("stored", [OTHER_USER, "eve@fabrikam.example"])]
    assert shown["effectiveAllowlist"] == [OTHER_USER]
    assert any("eve@fabrikam.example is outside LEARNCAL_RECIPIENT_ALLOWLIST" in n
               for n in payload(narrowed)["notices"])

    nobody = problem(put(recipientAllowlist=["@fabrikam.example"]), 422)
    assert fields(nobody) == {"recipientAllowlist"} and "admits nobody" in nobody["errors"][0]["message"]
    kept = dict(provider_body(world, status="inactive"))
    del kept["recipientAllowlist"]
    assert world.call("provider", request("PUT", "provider", kept), services).status_code == 200
    unconfirmed = problem(put(recipientAllowlist=None), 409)
    assert fields(unconfirmed) == {"confirmAllowlistRemoval"} and "--confirm-allowlist-removal" in unconfirmed["detail"]
    stored = ProviderStore(world.tables).load()
    assert stored is not None and stored.recipient_allowlist == (OTHER_USER, "eve@fabrikam.example")
    assert stored.status == "inactive"

    removed = put(recipientAllowlist=None, confirmAllowlistRemoval=True)
    assert removed.status_code == 200
    assert payload(removed)["effectiveAllowlist"] == ["@contoso.example"]  # the environment's still applies
    assert any("Removing the stored recipient allow-list" in n for n in payload(removed)["notices"])



def test_a_run_whose_allowlists_admit_nobody_stops_instead_of_inviting_everyone(world: World, tmp_path: Path) -> None:
    from shared.provider.store import ProviderConfig

    ProviderStore(world.tables).save(ProviderConfig(
        status="active", tenant_id=world.info["tenantId"], client_id=world.info["clientId"],
        organizer=world.info["organizer"], recipient_allowlist=("@fabrikam.example",)))
    services = world.services(recipient_allowlist=("@contoso.example",),
                              feed=write(base_feed(), tmp_path / "feed.json"))  # the environment changed later

    summary = world.sync({}, services)
    shown = payload(world.call("provider", request("GET", "provider"), services))

    assert summary["status"] == "failed" and "admit nobody" in summary["message"]
    assert summary["planned"] == 0 and world.sandbox.messages(OTHER_USER) == []
    assert "LEARNCAL_RECIPIENT_ALLOWLIST allows @contoso.example" in shown["allowlistProblem"]


# -- POST /api/provider/validate -----------------------------------------------------------

def test_validate_answers_the_checks_and_refuses_bad_input(world: World) -> None:
    response = world.call("provider_validate", request("POST", "provider/validate", {"probeMailbox": OTHER_USER}))
    assert response.status_code == 200
    assert len(payload(response)["checks"]) == 8

    bad = problem(world.call("provider_validate", request("POST", "provider/validate", {"tenantId": "x"})), 422)
    assert fields(bad) == {"tenantId"}


# -- POST /api/offerings/{offeringId}/reconcile --------------------------------------------

def test_reconcile_marks_a_known_offering(world: World) -> None:
    OfferingStore(world.tables).save(OfferingState("OFF/7", "Seven"))

    response = world.call("offering_reconcile", request("POST", "offerings/OFF%2F7/reconcile",
                                                        route_params={"offeringId": "OFF/7"}))

    assert response.status_code == 202
    assert payload(response)["offeringId"] == "OFF/7"
    state = OfferingStore(world.tables).get("OFF/7")
    assert state is not None and state.reconcile_requested_at is not None


def test_reconcile_of_an_unknown_offering_is_404_and_marks_nothing(world: World) -> None:
    body = problem(world.call("offering_reconcile", request("POST", "offerings/NOPE/reconcile",
                                                            route_params={"offeringId": "NOPE"})), 404)

    assert "NOPE" in body["detail"]
    assert OfferingStore(world.tables).all() == {}


def test_reconcile_with_a_blank_id_names_the_field(world: World) -> None:
    body = problem(world.call("offering_reconcile", request("POST", "offerings/%20/reconcile",
                                                            route_params={"offeringId": " "})), 422)

    assert fields(body) == {"offeringId"}



def test_a_reconcile_asked_for_during_a_run_survives_it_and_the_next_run_applies_it(
    world: World, tmp_path: Path,
) -> None:
    feed = base_feed()
    path = write(feed, tmp_path / "feed.json")
    assert world.sync({}, world.services(feed=path))["sent"] > 0
    offering(feed, "OFF-1001")["enrollments"].append({"learnerEmail": OTHER_USER.replace("ada", "eve"),
                                                      "status": "active"})
    write(feed, tmp_path / "feed.json")  # the offering changed, so the next run looks at it
    answers: list[int] = []

    def reconcile_while_running(message: str) -> None:
        if message.startswith("Planned") and not answers:  # the run has read the offering rows
            answers.append(world.call("offering_reconcile", request(
                "POST", "offerings/OFF-1001/reconcile", route_params={"offeringId": "OFF-1001"})).status_code)

    running = Services.build(replace(world.settings, feed=path), tables=world.tables, progress=reconcile_while_running)
    during = world.sync({}, running)

    assert answers == [202]
    assert (during["state"], during["sent"], during["reconciled"]) == ("completed", 2, [])
    state = OfferingStore(world.tables).get("OFF-1001")
    assert state is not None and state.reconcile_requested_at is not None  # still waiting for a run

    after = world.sync({}, world.services(feed=path))
    assert after["reconciled"] == ["OFF-1001"]
    state = OfferingStore(world.tables).get("OFF-1001")
    assert state is not None and state.reconcile_requested_at is None and state.settled


# -- POST /api/sync and GET /api/runs --------------------------------------------------------

def test_a_manual_run_is_accepted_at_once_and_followed_to_its_end(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED)

    response = world.call("sync_now", request("POST", "sync", {}), services)

    assert response.status_code == 202, response.get_body()
    ticket = payload(response)
    assert (ticket["status"], ticket["coalesced"]) == ("queued", False)
    assert response.headers["Location"] == f"/api/runs/{ticket['runId']}"
    assert world.sandbox.calendar(OTHER_USER) == []  # nothing is sent before the run worker performs it
    queued = world.follow(ticket["runId"], services)
    assert (queued["state"], queued["startedBy"], queued["via"]) == ("queued", "admin@contoso.example", "http")

    assert world.drain_runs(services) == [ticket["runId"]]

    run = world.follow(ticket["runId"], services)
    # the run planned and handed its 15 writes to the send workers, which sent them
    assert (run["state"], run["status"], run["planned"], run["sent"], run["left"]) == ("completed", "completed", 15,
                                                                                       15, 0)
    assert len(world.sandbox.calendar(OTHER_USER)) == 4
    listing = payload(world.call("runs", request("GET", "runs?limit=5"), services))
    assert [r["runId"] for r in listing["value"]] == [ticket["runId"]]
    assert listing["waiting"] is None
    [load] = listing["organizers"]
    assert (load["organizer"], load["queued"], load["sentLastDay"]) == (world.info["organizer"], 0, 15)
    assert (load["perMinute"], load["perDay"]) == (world.settings.send_per_minute, world.settings.send_per_day)
    assert (load["parked"], load["expectedEmptyAt"]) == (0, None)


def test_a_manual_run_that_rejects_items_logs_the_records_the_alerts_select(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feed = base_feed()
    offering(feed, "OFF-2002")["activities"][0]["timeZone"] = "Mars/Olympus_Mons"  # rejected: unknown time zone

    with caplog.at_level(logging.INFO):
        summary = world.sync({}, world.services(feed=write(feed, tmp_path / "feed.json")))

    assert summary["status"] == "completed" and summary["rejected"]
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("learncal.run.problems") and f"run_id={summary['runId']}" in m for m in lines), lines
    assert any(m.startswith("learncal.feed.rejection.new") for m in lines), lines


def test_a_dry_run_over_http_is_asynchronous_and_its_plan_is_read_from_the_run(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED)

    response = world.call("sync_now", request("POST", "sync", {"dryRun": True}), services)

    assert response.status_code == 202
    run_id = payload(response)["runId"]
    assert world.follow(run_id, services)["state"] == "queued"
    world.drain_runs(services)
    run = world.follow(run_id, services)
    assert (run["dryRun"], run["state"], run["created"], run["sent"]) == (True, "completed", 15, 0)
    assert len(run["plan"]) == 15
    assert {item["person"] for item in run["plan"]} >= {OTHER_USER}
    assert world.sandbox.calendar(OTHER_USER) == []  # sent nothing
    assert OfferingStore(world.tables).all() == {}  # and settled nothing


def test_runs_asked_for_while_a_run_is_planning_join_one_follow_up_that_starts_when_it_ends(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED)
    first = payload(world.call("sync_now", request("POST", "sync", {}), services))["runId"]
    seen: list[dict[str, Any]] = []

    def two_requests_while_planning(message: str) -> None:
        if message.startswith("Planned") and not seen:  # the first run holds the planner lease now
            for _ in range(2):
                seen.append(payload(world.call("sync_now", request("POST", "sync", {}), services)))

    running = Services.build(replace(world.settings, feed=SAMPLE_FEED), tables=world.tables,
                             progress=two_requests_while_planning)
    assert world.drain_runs(running, limit=1) == [first]

    follow_up = seen[0]["runId"]
    assert follow_up != first
    assert [(t["runId"], t["coalesced"], t["followUpOf"]) for t in seen] == \
        [(follow_up, False, first), (follow_up, True, first)]
    waiting = world.follow(follow_up, services)
    assert (waiting["state"], waiting["followUpOf"], waiting["requests"]) == ("queued", first, 2)
    assert world.follow(first, services)["state"] == "completed"

    # the ending run put the follow-up on the queue at once (its own message waits too); a request
    # made while the follow-up plans is a new follow-up of its own
    during: list[dict[str, Any]] = []

    def a_third_request_while_the_follow_up_plans(message: str) -> None:
        if message.startswith("Planned") and not during:
            during.append(payload(world.call("sync_now", request("POST", "sync", {}), services)))

    following = Services.build(replace(world.settings, feed=SAMPLE_FEED), tables=world.tables,
                               progress=a_third_request_while_the_follow_up_plans)
    assert world.drain_runs(following, limit=1) == [follow_up]
    after = world.follow(follow_up, services)
    assert (after["state"], after["planned"], after["unchanged"]) == ("completed", 0, 15)
    [third] = during
    assert (third["coalesced"], third["followUpOf"]) == (False, follow_up)
    assert third["runId"] not in (first, follow_up)

    delivered = world.drain_runs(services)
    assert third["runId"] in delivered
    assert world.follow(third["runId"], services)["state"] == "completed"  # nothing was dropped


def test_sync_and_runs_name_their_bad_input(world: World) -> None:
    assert fields(problem(world.call("sync_now", request("POST", "sync", {"dryRun": "yes"})), 422)) == {"dryRun"}
    assert fields(problem(world.call("sync_now", request("POST", "sync", {"feed": "/etc/passwd"})), 422)) == {"feed"}
    assert fields(problem(world.call("runs", request("GET", "runs?limit=0")), 422)) == {"limit"}
    assert payload(world.call("runs", request("GET", "runs")))["value"] == []



def test_an_allowance_given_over_http_is_recorded_with_who_gave_it_and_lasts_a_day(
    world: World, tmp_path: Path,
) -> None:
    extra = [f"learner{i:02d}@contoso.example" for i in range(8)]
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"].extend({"learnerEmail": e, "status": "active"} for e in extra)
    path = write(feed, tmp_path / "feed.json")
    services = world.services(feed=path)
    assert world.sync({}, services)["sent"] == 26
    offering(feed, "OFF-1001")["activities"] = []  # a wrong feed: 23 of 26 meetings would go
    write(feed, tmp_path / "feed.json")

    refused = world.sync({}, services)
    assert refused["status"] == "failed" and '{"allowMassCancel": 23}' in refused["message"]
    AllowanceStore(world.tables).give(23, by="ops@contoso.example", via="http",
                                      now=datetime.now(UTC) - timedelta(hours=25))
    expired = world.sync({}, services)
    assert expired["status"] == "failed" and "has expired" in expired["message"]
    assert fields(problem(world.call("sync_now", request("POST", "sync", {"allowMassCancel": 0})), 422)) \
        == {"allowMassCancel"}

    allowed = world.sync({"allowMassCancel": 23}, services)

    assert (allowed["status"], allowed["sent"]) == ("completed", 23)
    assert allowed["massCancelAllowance"]["givenBy"] == "admin@contoso.example with POST /api/sync"
    assert (allowed["massCancelAllowance"]["count"], allowed["massCancelAllowance"]["via"]) == (23, "http")
    recorded = payload(world.call("runs", request("GET", "runs?limit=1"), services))["value"][0]
    assert recorded["massCancelAllowance"]["used"] == 23
    assert AllowanceStore(world.tables).current() is None  # used up


# -- GET /api/openapi.json -------------------------------------------------------------------

def test_the_openapi_document_describes_every_admin_route(world: World) -> None:
    response = world.call("openapi", request("GET", "openapi.json"))

    assert response.status_code == 200
    document = payload(response)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/provider", "/provider/validate", "/offerings/{offeringId}/reconcile",
                                      "/sync", "/runs", "/runs/{runId}", "/queue", "/feed", "/feeds",
                                      "/openapi.json", "/audit", "/offerings",
                                      "/offerings/{offeringId}", "/jobs", "/jobs/{jobId}", "/allowance", "/me",
                                      "/rollout", "/templates", "/templates/{role}/{language}", "/templates/preview",
                                      "/templates/phrases/{language}",
                                      "/responses", "/responses/counts"}
    assert document["components"]["schemas"]["ProviderInput"]["properties"]["clientSecret"]


def test_a_method_the_route_does_not_serve_is_405(world: World) -> None:
    response = world.call("runs", request("DELETE", "runs"))

    assert problem(response, 405)
    assert response.headers["Allow"] == "GET"


def test_an_unknown_run_is_404_and_a_malformed_id_names_the_field(world: World) -> None:
    unknown = problem(world.call("run", request("GET", "runs/0123456789ab", route_params={"runId": "0123456789ab"})),
                      404)
    assert unknown["type"].endswith("unknown-run") and "GET /api/runs" in unknown["detail"]
    malformed = problem(world.call("run", request("GET", "runs/..%2F", route_params={"runId": "../x"})), 422)
    assert fields(malformed) == {"runId"}

"""Requested runs: coalescing under concurrent callers, the run worker, the timer and the CLI (Azurite + sandbox)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import conftest_admin
import pytest
from azure.functions.queue import QueueMessage as HostQueueMessage
from azure.functions.timer import TimerRequest
from click.testing import CliRunner, Result
from conftest_admin import OTHER_USER, SAMPLE_FEED, World, function, request

from shared.bootstrap import build
from shared.cli import cli
from shared.local.functions import local_functions
from shared.local.queue_host import HostOptions, QueueHost
from shared.runs.requests import PLANNER_LEASE
from shared.store.lease import Lease, LeaseStore
from shared.store.runs import RunStore
from shared.sync.service import SyncRequest

# fixtures shared by the admin, validate and secrets tests
running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world


@pytest.fixture
def environment(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world's settings as app settings, for the CLI and the timer (which read the environment)."""
    info = world.info
    for name, value in {
        "LEARNCAL_TENANT_ID": info["tenantId"], "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_ORGANIZER": info["organizer"], "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
        "LEARNCAL_CLIENT_SECRET_NAME": info["clientSecretName"],
        "LEARNCAL_GRAPH_URL": info["graphUrl"], "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "AzureWebJobsStorage": world.settings.storage_connection,
        "LEARNCAL_TABLE_PREFIX": world.tables.prefix, "LEARNCAL_FEED": SAMPLE_FEED,
    }.items():
        monkeypatch.setenv(name, value)
    return world


@pytest.fixture
def planning(world: World) -> Iterator[Lease]:
    """Another run holds the planner lease (as a run does while it plans) until the test releases it."""
    leases = LeaseStore(world.tables)
    lease = leases.acquire(PLANNER_LEASE, seconds=300)
    yield lease
    leases.release(lease)


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def ticket_of(world: World, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = world.call("sync_now", request("POST", "sync", body or {}), world.services(feed=SAMPLE_FEED))
    assert response.status_code == 202, response.get_body()
    return dict(json.loads(response.get_body()))


def test_concurrent_requests_while_a_run_plans_all_get_one_follow_up(world: World, planning: Lease) -> None:
    app = build(world.settings, tables=world.tables)

    def ask(i: int) -> Any:
        return app.request_run(SyncRequest(via="http"), started_by=f"caller-{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(ask, range(8)))

    assert len({t.run_id for t in tickets}) == 1
    assert sorted(t.coalesced for t in tickets) == [False] + [True] * 7
    run = RunStore(world.tables).get(tickets[0].run_id)
    assert run is not None and (run["state"], run["requests"]) == ("queued", 8)
    assert len(RunStore(world.tables).recent(20)) == 1  # the losers of the race left no record behind


def test_the_worker_waits_while_the_planner_lease_is_held_and_the_ending_run_starts_the_follow_up(
    world: World, planning: Lease,
) -> None:
    services = world.services(feed=SAMPLE_FEED)
    run_id = ticket_of(world)["runId"]

    assert world.drain_runs(services) == [run_id]  # delivered, but another run holds the lease

    assert world.follow(run_id, services)["state"] == "queued"
    queue = world.run_queue()
    assert queue.peek_messages() == []  # nothing visible: the message comes back later, no polling meanwhile
    assert queue.get_queue_properties().approximate_message_count == 1
    assert world.sandbox.calendar(OTHER_USER) == []

    LeaseStore(world.tables).release(planning)
    assert world.sandbox.calendar(OTHER_USER) == []
    services.app.requests.finished("the-run-that-held-the-lease")  # what the ending run does
    assert world.drain_runs(services) == [run_id]
    assert world.follow(run_id, services)["state"] == "completed"
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_a_message_that_names_no_run_is_dropped_without_a_run(world: World, caplog: pytest.LogCaptureFixture) -> None:
    worker = function("run_worker")
    with conftest_admin.using(world.services()):
        worker(HostQueueMessage(id="m1", body=b"not json", dequeue_count=1))
        worker(HostQueueMessage(id="m2", body=json.dumps({"runId": "0123456789ab"}).encode(), dequeue_count=1))

    messages = [r.getMessage() for r in caplog.records]
    assert any("is not {\"runId\"" in m and "m1" in m for m in messages), messages
    assert any("0123456789ab is not recorded" in m for m in messages), messages
    assert RunStore(world.tables).recent() == []


def test_the_timer_coalesces_while_a_run_is_in_progress_and_the_follow_up_runs_after(
    environment: World, planning: Lease, caplog: pytest.LogCaptureFixture,
) -> None:
    world = environment
    caplog.set_level("INFO", logger="learncal")
    timer = function("hourly_sync")

    timer(TimerRequest())  # does not raise: the invocation is not a failure
    timer(TimerRequest())

    app = build(tables=world.tables)
    [run] = app.runs.recent()
    assert (run["state"], run["via"], run["startedBy"], run["requests"]) == ("queued", "timer", "timer", 2)
    assert any(f"coalesced into run {run['runId']}" in r.getMessage() for r in caplog.records)
    assert world.sandbox.calendar(OTHER_USER) == []

    LeaseStore(world.tables).release(planning)
    world.drain_runs(world.services(feed=SAMPLE_FEED))
    assert app.runs.get(run["runId"])["state"] == "completed"  # type: ignore[index]
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_cli_async_prints_the_id_and_runs_shows_the_run_through_to_its_end(environment: World) -> None:
    world = environment
    asked = run_cli("sync", "--async", "--dry-run", "--quiet", "--feed", SAMPLE_FEED)  # the feed goes with the run
    assert asked.exit_code == 0, asked.output
    run_id = asked.stdout.strip()

    queued = run_cli("runs", run_id, "--json")
    assert queued.exit_code == 0, queued.output
    assert (json.loads(queued.stdout)["state"], json.loads(queued.stdout)["via"]) == ("queued", "cli")

    assert world.drain_runs(world.services()) == [run_id]
    shown = run_cli("runs", run_id)
    assert shown.exit_code == 0, shown.output
    assert f"Run {run_id}: completed (dry run)" in shown.stdout
    assert "Plan:" in shown.stdout and OTHER_USER in shown.stdout
    listing = json.loads(run_cli("runs", "--json").stdout)
    assert [r["runId"] for r in listing["value"]] == [run_id]
    assert listing["organizers"][0]["organizer"] == world.info["organizer"]

    unknown = run_cli("runs", "0123456789ab")
    assert unknown.exit_code == 1 and "No run with id 0123456789ab" in unknown.stderr


def test_cli_async_wait_follows_the_run_to_its_end_with_the_runs_exit_code(
    environment: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = environment
    monkeypatch.setattr("shared.runs.follow.POLL_SECONDS", 0.2)
    stop = threading.Event()

    def host() -> None:  # the Functions host's queue trigger, on its own thread
        while not stop.is_set():
            if not world.drain_runs(world.services(feed=SAMPLE_FEED)):
                time.sleep(0.2)

    thread = threading.Thread(target=host, daemon=True)
    thread.start()
    try:
        result = run_cli("sync", "--async", "--wait", "--json")
    finally:
        stop.set()
        thread.join(timeout=30)

    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert (run["state"], run["planned"], run["sent"], run["left"]) == ("completed", 15, 15, 0)
    assert "queued" in result.stderr and "completed" in result.stderr  # progress lines
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_a_synchronous_sync_meeting_a_run_coalesces_and_with_wait_performs_the_follow_up(
    environment: World, planning: Lease, monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = environment
    monkeypatch.setattr("shared.runs.follow.POLL_SECONDS", 0.2)

    joined = run_cli("sync", "--quiet")
    assert joined.exit_code == 0, joined.output
    follow_up = joined.stdout.strip()
    assert "is in progress" in joined.stderr and f"run {follow_up}, which starts when it ends" in joined.stderr
    assert world.sandbox.calendar(OTHER_USER) == []

    threading.Timer(1.0, LeaseStore(world.tables).release, args=(planning,)).start()  # the other run ends
    waited = run_cli("sync", "--wait", "--json")

    assert waited.exit_code == 0, waited.output
    assert "already waiting" in waited.stderr and follow_up in waited.stderr
    run = json.loads(waited.stdout.strip().splitlines()[-1])
    assert (run["runId"], run["state"], run["created"], run["requests"]) == (follow_up, "completed", 15, 2)
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_a_run_whose_process_stopped_while_planning_is_recorded_failed_by_the_next(
    world: World, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="learncal")
    app = build(world.settings, tables=world.tables)
    crashed = app.request_run(SyncRequest(via="http"), started_by="ops").run_id
    leases = LeaseStore(world.tables)
    lease = leases.acquire(PLANNER_LEASE, seconds=300)
    assert app.requests.claim(crashed) is not None  # planning ... and then the process is killed
    leases.release(lease)  # (the lease runs out; a killed local process's lease is taken over at once)

    services = world.services(feed=SAMPLE_FEED)
    next_run = ticket_of(world)["runId"]
    assert next_run != crashed
    world.drain_runs(services)

    stopped = world.follow(crashed, services)
    assert (stopped["state"], stopped["status"]) == ("failed", "failed")
    assert "stopped before the run ended" in stopped["message"] and next_run in stopped["message"]
    assert world.follow(next_run, services)["state"] == "completed"
    sending = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records
               if r.getMessage().startswith("learncal.sending ")]
    # after planning: the run's 15 writes wait on the send queue, expected to be sent within a minute
    assert [(s["organizer"], s["queued"], s["parked"]) for s in sending] == [(world.info["organizer"], 15, 0)]
    assert sending[0]["expectedEmptyAt"] is not None


def test_the_local_queue_host_drains_the_run_queue_as_the_functions_host_would(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED)
    functions = local_functions(services.settings, services=services)
    host = QueueHost(world.settings, functions, HostOptions(max_polling_interval=0.5))

    with host:
        run_id = ticket_of(world)["runId"]
        deadline = time.monotonic() + 60
        while world.follow(run_id, services)["state"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)

    run = world.follow(run_id, services)
    assert (run["state"], run["planned"], run["sent"]) == ("completed", 15, 15)
    assert host.invocations >= 2 and host.failures == 0
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_a_run_that_leaves_writes_queued_is_sending_until_the_drain_has_sent_them(world: World) -> None:
    services = world.services(feed=SAMPLE_FEED, run_seconds=0.001)  # no time to send within the run itself
    run_id = ticket_of(world)["runId"]
    world.drain_runs(services, send=False)  # the run only; its wake-up stays on the send queue

    planned = world.follow(run_id, services)
    assert (planned["state"], planned["planned"], planned["left"]) == ("sending", 15, 15), planned
    assert planned["sent"] == 0 and world.sandbox.calendar(OTHER_USER) == []

    drain = world.services(feed=SAMPLE_FEED)  # a send_worker invocation, with its own time to send
    drain.app.sync.send_queued(world.info["organizer"], run_id)  # what send_worker does for the wake-up

    sent = world.follow(run_id, services)
    assert (sent["state"], sent["sent"], sent["left"]) == ("completed", 15, 0), sent
    assert len(world.sandbox.calendar(OTHER_USER)) == 4


def test_a_waiting_run_whose_message_was_lost_is_performed_by_the_next_timer(
    environment: World, caplog: pytest.LogCaptureFixture,
) -> None:
    world = environment
    run_id = ticket_of(world)["runId"]
    world.run_queue().clear_messages()  # the message failed five times: the host set it aside as poison
    poison = conftest_admin.queue_client(world.settings, world.run_queue().queue_name + "-poison")
    poison.create_queue()
    poison.send_message(json.dumps({"runId": run_id}))
    listing = json.loads(world.call("runs", request("GET", "runs")).get_body())
    assert (listing["waiting"], listing["poisonedRequests"]) == (run_id, 1)

    function("hourly_sync")(TimerRequest())  # joins the waiting run, and performs it: no run is planning

    run = world.follow(run_id)
    assert (run["state"], run["requests"], run["created"]) == ("completed", 2, 15)
    assert len(world.sandbox.calendar(OTHER_USER)) == 4

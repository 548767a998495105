"""Event-driven sending through the work table and the learncal-send queue, against the sandbox and Azurite.

The product runs in this process on a clock `SCALE` times as fast as real time, and the
sandbox counts its sending limits on a clock scaled the same way, so a minute's budget
frees in a second and every ratio stays true. The queue trigger is the local queue host
(shared/local/queue_host.py) over Azurite's queue service. Every outcome is judged from what
people hold and received in the sandbox, with an oracle written from the feed's rules
(tests/support/history.py), never from the product's planner.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.bootstrap import build, send_queued
from shared.local.queue_host import HostOptions, QueueHost
from shared.queue.wakeup import WakeUps, queue_name
from shared.queue.work import WorkStore
from shared.settings import Settings
from shared.store.runs import RunStore
from shared.store.tables import Tables, table_service
from shared.sync.pacing import Timebase
from shared.sync.service import SyncRequest
from shared.sync.summary import RunSummary
from tests.support.dates import utc_of
from tests.support.feeds import ADA, BO, DEE, INES, PAT, SAM, base_feed, offering
from tests.support.history import judge
from tests.support.world import World

SCALE = 60.0  # a minute of budget frees in a second
PEOPLE = {INES, SAM, PAT, ADA, BO, DEE}
# Keeps every write of a plan queued: the run's time slice (1 s on the product's clock) has passed
# before the plan is written, so the plan sends nothing itself.
QUEUE_ONLY = {"LEARNCAL_RUN_SECONDS": "1"}


class Local:
    """The product in this process, pointed at the world's sandbox and tables, on one fast clock."""

    def __init__(self, world: World, scale: float = SCALE) -> None:
        self.world = world
        self.timebase = Timebase(scale)
        self.tables = Tables(table_service(self.settings()), prefix=world.env["LEARNCAL_TABLE_PREFIX"])
        self.queue = queue_name(world.env["LEARNCAL_TABLE_PREFIX"])

    def settings(self, **env: str) -> Settings:
        return Settings.from_env({**self.world.env, **env})

    def plan(self, feed: str, *, send_in_process: bool = True, **env: str) -> RunSummary:
        app = build(self.settings(**env), tables=self.tables, timebase=self.timebase)
        return app.sync.sync(SyncRequest(feed=feed, send_in_process=send_in_process))

    def worker(self, clock: Callable[[], datetime] | None = None, **env: str) -> Callable[[Any], None]:
        """send_worker's body with these settings (as function_app calls it)."""
        settings = self.settings(**env)
        options: dict[str, Any] = {"tables": self.tables, "timebase": self.timebase}
        if clock is not None:
            options["clock"] = clock

        def send(msg: Any) -> None:
            send_queued(msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count, settings=settings, **options)

        return send

    def host(self, clock: Callable[[], datetime] | None = None, *, batch: int = 1, **env: str) -> QueueHost:
        options = HostOptions(max_polling_interval=0.3, min_polling_interval=0.05, batch_size=batch,
                              new_batch_threshold=batch - 1)
        return QueueHost(self.settings(**env), {self.queue: self.worker(clock, **env)}, options)

    def wakeups(self) -> WakeUps:
        return WakeUps(self.settings(), self.tables)

    def messages(self) -> int:
        """Messages on the send queue, visible or not."""
        return int(self.wakeups().client().get_queue_properties().approximate_message_count or 0)

    def work(self) -> int:
        return sum(1 for _ in WorkStore(self.tables).rows(select=["RowKey"]))

    def cli(self, *args: str) -> tuple[int, str]:
        result = self.world.cli(*args)
        return result.code, result.stdout + result.stderr


@pytest.fixture
def local(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Local]:
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, world.env[name])
    yield Local(world)


def until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def nothing_received(world: World, people: set[str]) -> dict[str, int]:
    """People who received anything at all (should be empty)."""
    return {p: len(world.messages(p)) for p in people if world.messages(p)}


# -- deferred work drains without a new planning run ------------------------------------------------

def test_deferred_work_drains_at_the_budgets_pace_without_a_new_planning_run(world: World, local: Local) -> None:
    world.sandbox.configure(timeScale=SCALE, messagesPerMinute=6, sendLimitMode="reject")
    feed = base_feed()
    first = local.plan(world.feed_file(feed), LEARNCAL_SEND_PER_MINUTE="6", **QUEUE_ONLY)
    assert (first.created, first.deferred) == (0, 10)
    assert local.messages() == 1  # one wake-up for the one organizer with work

    # Each invocation sends for half a minute: six go out, the next slot is a minute after their
    # answers, so the drain stops and puts its wake-up on the queue for when the budget has room.
    with local.host(LEARNCAL_SEND_PER_MINUTE="6", LEARNCAL_SEND_SLICE_SECONDS="30") as host:
        until(lambda: world.stats()["messagesSent"] == 10, what="the deferred invitations")
        until(lambda: local.work() == 0 and local.messages() == 0, what="an empty queue")
    stats = world.stats()
    assert (stats["sendLimitExceeded"], stats["messagesRejected"]) == (0, 0)
    assert 2 <= host.invocations <= 4, "woken when the budget had room, not polling"
    assert judge(world.sandbox, feed, PEOPLE) == []
    runs = RunStore(local.tables).recent()
    assert len(runs) == 1, "no second planning run"
    assert (runs[0]["sent"], runs[0]["left"]) == (10, 0)


def test_a_plan_only_run_leaves_the_sending_to_the_send_worker(world: World, local: Local) -> None:
    feed = base_feed()
    planned = local.plan(world.feed_file(feed), send_in_process=False)

    assert (planned.created, planned.deferred, world.stats()["writes"]) == (0, 10, 0)
    with local.host():
        until(lambda: local.work() == 0 and local.messages() == 0, what="the queue to drain")
    assert judge(world.sandbox, feed, PEOPLE) == []
    assert RunStore(local.tables).recent()[0]["sent"] == 10


def test_nothing_pending_leaves_the_queue_empty_and_graph_unasked(world: World, local: Local) -> None:
    path = world.feed_file(base_feed())
    assert local.plan(path).created == 10
    assert (local.work(), local.messages()) == (0, 0)

    assert local.plan(path).created == 0  # nothing changed: nothing queued, no wake-up
    assert (local.work(), local.messages()) == (0, 0)
    before = world.stats()["requests"]
    local.wakeups().send(world.info["organizer"], None)  # a stray wake-up for an organizer with no work
    host = local.host()

    assert host.run_once(local.queue) == 1
    assert world.stats()["requests"] == before
    assert local.messages() == 0


# -- queued work is checked against the state just before it is sent --------------------------------

def _queued(world: World, local: Local, feed: dict[str, Any]) -> None:
    summary = local.plan(world.feed_file(feed), **QUEUE_ONLY)
    assert (summary.created, summary.deferred) == (0, 10)
    assert local.work() == 10


def test_nothing_queued_goes_out_once_the_provider_is_inactive(world: World, local: Local) -> None:
    _queued(world, local, base_feed())

    with local.host(LEARNCAL_STATUS="inactive"):
        until(lambda: local.work() == 0 and local.messages() == 0, what="the work to be dropped")

    assert world.stats()["writes"] == 0
    assert nothing_received(world, PEOPLE) == {}


def test_nothing_queued_goes_to_a_person_the_allowlist_no_longer_admits(world: World, local: Local) -> None:
    _queued(world, local, base_feed())

    with local.host(LEARNCAL_RECIPIENT_ALLOWLIST=INES):
        until(lambda: local.work() == 0 and local.messages() == 0, what="the queue to drain")

    assert nothing_received(world, PEOPLE - {INES}) == {}
    assert [m["type"] for m in world.messages(INES)] == ["meetingRequest"] * 2  # both workshops


def test_nothing_queued_goes_out_for_a_session_that_has_ended(world: World, local: Local) -> None:
    _queued(world, local, base_feed())
    later = lambda: datetime.now(UTC) + timedelta(days=60)  # noqa: E731  every session of the feed is over

    with local.host(clock=later):
        until(lambda: local.work() == 0 and local.messages() == 0, what="the work to be dropped")

    assert world.stats()["writes"] == 0
    assert nothing_received(world, PEOPLE) == {}


def test_a_newer_plan_that_withdraws_a_person_replaces_the_queued_invitation(world: World, local: Local) -> None:
    _queued(world, local, base_feed())
    feed = base_feed()
    for enrollment in offering(feed, "OFF-1001")["enrollments"]:
        if enrollment["learnerEmail"] == BO:
            enrollment["status"] = "withdrawn"
    newer = local.plan(world.feed_file(feed), **QUEUE_ONLY)
    assert newer.deferred == 8  # Bo's two invitations are no longer wanted

    with local.host():
        until(lambda: local.work() == 0 and local.messages() == 0, what="the queue to drain")

    assert world.messages(BO) == []
    assert judge(world.sandbox, feed, PEOPLE) == []


# -- two drains of one organizer at once -------------------------------------------------------------

def test_two_drains_of_one_organizer_never_exceed_its_budget_or_concurrency(world: World, local: Local) -> None:
    world.sandbox.configure(timeScale=SCALE, messagesPerMinute=30, sendLimitMode="reject")
    feed = base_feed()
    learners = [f"queue.learner{i:02d}@contoso.example" for i in range(40)]
    offering(feed, "OFF-1001")["enrollments"].extend({"learnerEmail": e, "status": "active"} for e in learners)
    budget = {"LEARNCAL_SEND_PER_MINUTE": "30", "LEARNCAL_RUN_SECONDS": "600"}
    summary = local.plan(world.feed_file(feed), **{**budget, **QUEUE_ONLY})
    assert summary.deferred == 90
    worker = local.worker(**budget)
    body = json.dumps({"organizer": world.info["organizer"], "runId": summary.run_id})

    class Message:
        dequeue_count = 1

        @staticmethod
        def get_body() -> bytes:
            return body.encode()

    errors: list[BaseException] = []

    def drain() -> None:
        try:
            while local.work():
                worker(Message())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    stats = world.stats()
    assert (stats["sendLimitExceeded"], stats["messagesRejected"], stats["throttled"]) == (0, 0, 0)
    assert stats["maxConcurrentPerMailbox"] <= 4
    assert stats["messagesSent"] == 90
    assert judge(world.sandbox, feed, PEOPLE | set(learners)) == []


# -- poison ------------------------------------------------------------------------------------------

def test_a_wake_up_that_fails_five_times_is_parked_in_the_poison_queue_and_reported(
    world: World, local: Local, caplog: pytest.LogCaptureFixture,
) -> None:
    _queued(world, local, base_feed())
    with local.host(LEARNCAL_CLIENT_SECRET="not-the-app-secret") as host:
        until(lambda: host.poisoned == 1, what="the poison queue")
    assert host.failures == 5
    assert "learncal.queue.poison" in caplog.text

    code, text = local.cli("queue", "show", "--json")
    report = json.loads(text.splitlines()[0])
    assert code == 1, text
    assert report["poison"]["count"] == 1
    assert report["poison"]["messages"][0]["organizer"] == world.info["organizer"]
    assert report["organizers"][0]["queued"] == 10  # the work itself is kept, not lost

    code, text = local.cli("queue", "requeue")
    assert code == 0 and text.startswith("1 wake-up"), text
    with local.host():
        until(lambda: local.work() == 0 and local.messages() == 0, what="the queue to drain")
    assert judge(world.sandbox, base_feed(), PEOPLE) == []


# -- learncal queue show|clear and /api/queue --------------------------------------------------------

def _invitations(feed: dict[str, Any], offering_id: str) -> int:
    """Invitations an offering's feed entry asks for: each session's instructors and active learners."""
    entry = offering(feed, offering_id)
    learners = {e["learnerEmail"].lower() for e in entry["enrollments"] if e["status"] == "active"}
    return sum(len(learners | {i["email"].lower() for i in a["instructors"]}) for a in entry["activities"])


def _http(local: Local, method: str, query: str = "") -> tuple[int, dict[str, Any]]:
    """/api/queue as a signed-in administrator reaches it (App Service Authentication's principal header)."""
    import base64

    import azure.functions as func

    import function_app
    from shared.admin.auth import ADMIN_ROLE
    from shared.admin.context import Services, using

    claims = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
              "claims": [{"typ": "name", "val": "admin@contoso.example"}, {"typ": "roles", "val": ADMIN_ROLE}]}
    headers = {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(claims).encode()).decode(),
               "X-MS-CLIENT-PRINCIPAL-NAME": "admin@contoso.example", "X-Learncal-Request": "1"}
    req = func.HttpRequest(method, "http://localhost:7071/api/queue" + query, body=b"", headers=headers)
    with using(Services.build(local.settings(), tables=local.tables)), \
            _signed_in_by_the_platform():
        response = function_app.queue.build().get_user_function()(req)
    return response.status_code, json.loads(response.get_body())


@contextmanager
def _signed_in_by_the_platform() -> Iterator[None]:
    """App Service Authentication on: the principal header is the platform's, so the code trusts it."""
    saved = os.environ.get("WEBSITE_AUTH_ENABLED")
    os.environ["WEBSITE_AUTH_ENABLED"] = "true"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("WEBSITE_AUTH_ENABLED", None)
        else:
            os.environ["WEBSITE_AUTH_ENABLED"] = saved


def test_queue_show_and_clear_through_the_cli_and_http(world: World, local: Local) -> None:
    feed = base_feed()
    _queued(world, local, feed)
    organizer = world.info["organizer"]
    session = offering(feed, "OFF-2002")["activities"][0]  # the soonest session of the feed
    soonest = utc_of(session["start"], session["timeZone"]).strftime("%Y-%m-%dT%H:%M:%SZ")

    code, text = local.cli("queue", "show", "--json")
    entry = json.loads(text.splitlines()[0])["organizers"][0]
    assert code == 0, text
    assert (entry["organizer"], entry["queued"], entry["parked"], entry["nextSessionStart"]) == (
        organizer, 10, 0, soonest)
    assert entry["expectedEmptyAt"] is not None
    code, text = local.cli("queue", "show")
    assert code == 0 and f"{organizer}: 10 queued, 0 parked" in text

    status, body = _http(local, "GET")
    assert status == 200 and (body["queued"], body["organizers"][0]["queued"]) == (10, 10)
    status, body = _http(local, "DELETE", "?poison=maybe")
    assert status == 422 and [e["field"] for e in body["errors"]] == ["poison"]
    status, body = _http(local, "DELETE", "?offering=OFF-2002")
    assert status == 200 and (body["removed"], body["offerings"]) == (_invitations(feed, "OFF-2002"), ["OFF-2002"])

    code, text = local.cli("queue", "clear", "--yes")
    assert code == 0 and f"Removed {10 - _invitations(feed, 'OFF-2002')} queued writes" in text
    code, text = local.cli("queue", "show")
    assert code == 0 and "Nothing is queued." in text
    with local.host():
        until(lambda: local.messages() == 0, what="the wake-up to be consumed")
    assert world.stats()["writes"] == 0
    assert nothing_received(world, PEOPLE) == {}


# -- a plan made while a drain sends -----------------------------------------------------------------

def test_a_plan_made_while_a_drain_sends_leaves_those_offerings_for_the_next_plan(world: World, local: Local) -> None:
    from shared.store.lease import LeaseStore
    from shared.store.offerings import OfferingStore

    feed = base_feed()
    path = world.feed_file(feed)
    _queued(world, local, feed)
    leases = LeaseStore(local.tables)
    drain = leases.acquire(world.info["organizer"], seconds=120)  # a drain on another instance is sending

    newer = local.plan(path, **QUEUE_ONLY)

    assert newer.deferred == 10  # its own sending found the organizer busy
    states = OfferingStore(local.tables).all()
    assert {s.offering_id for s in states.values() if s.redecide and not s.settled} == {"OFF-1001", "OFF-2002"}
    leases.release(drain)
    with local.host():  # (the busy plan's own wake-up waits out the lease it saw: up to a minute)
        until(lambda: local.work() == 0, what="the queue to drain")
    assert not any(s.settled for s in OfferingStore(local.tables).all().values())

    looked_again = local.plan(path)  # the plan that knows what was sent settles them
    assert (looked_again.offerings_examined, looked_again.created) == (2, 0)
    assert local.plan(path).offerings_examined == 0
    assert judge(world.sandbox, feed, PEOPLE) == []

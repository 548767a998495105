"""Response collection end to end: the real sync command, the real Graph SDK client, the sandbox
over HTTPS and Azurite. People answer their meetings through the sandbox (as Outlook would);
the product reads the answers from the organizer's calendar into the responses table."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.responses.graph import COLLECTION_REQUESTS, parse_time
from shared.responses.notifications import CLOCK, RECEIVED
from shared.responses.reading import INDEXES
from shared.responses.runner import Task, handle_task, run_upkeep
from shared.settings import Settings
from shared.store.responses import ResponseStore
from shared.store.tables import Tables, table_service
from tests.support.feeds import ADA, BO, DEE, INES, base_feed
from tests.support.world import World

DATA_PRIVACY = "Data Privacy Basics"
WORKSHOP_1 = "Leading Hybrid Teams: Workshop 1: Foundations"


@pytest.fixture
def collecting(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The world with collection switched on through LEARNCAL_REQUEST_RESPONSES, its environment in this process."""
    world.env["LEARNCAL_REQUEST_RESPONSES"] = "true"
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, world.env[name])
    INDEXES.clear()
    yield world
    INDEXES.clear()


def settings_of(world: World) -> Settings:
    return Settings.from_env(world.env)


def tables_of(world: World) -> Tables:
    settings = settings_of(world)
    return Tables(table_service(settings), prefix=settings.table_prefix)


def table(world: World) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(email, subject-less key) -> (response, respondedAt) as the responses table holds them."""
    page = ResponseStore(tables_of(world)).query(limit=1000)
    return {(r.email, f"{r.offering_id}/{r.activity_id}"): (r.response, r.responded_at.isoformat()
                                                             if r.responded_at else None) for r in page.items}


def catch_up(world: World) -> Any:
    """The delta read a `missed` lifecycle notification (or the upkeep timer) starts, for the organizer."""
    from datetime import UTC, datetime

    return handle_task(Task(world.info["organizer"], "catchup", datetime.now(UTC)).text(), settings_of(world))


def event_of(world: World, address: str, subject: str) -> dict[str, Any]:
    [found] = [m for m in world.calendar(address) if m["subject"] == subject]
    return found


def test_collection_on_asks_for_responses_and_the_delta_alone_collects_them(collecting: World) -> None:
    world = collecting
    assert world.sync(base_feed()).code == 0
    assert event_of(world, ADA, DATA_PRIVACY)["responseRequested"] is True

    first = catch_up(world)  # the first full read: every invitation, nobody has answered
    assert first.full_read and first.recorded == 10
    assert {v[0] for v in table(world).values()} == {"none"}

    answers = {ADA: ("declined", DATA_PRIVACY), BO: ("accepted", WORKSHOP_1), INES: ("tentativelyAccepted",
                                                                                      WORKSHOP_1)}
    said = {who: world.sandbox.respond(who, response, subject=subject) for who, (response, subject) in answers.items()}
    before = COLLECTION_REQUESTS.total("delta")
    second = catch_up(world)
    assert not second.full_read
    assert COLLECTION_REQUESTS.total("delta") - before == 1  # one page covers what changed
    assert len(second.changed) == 3

    rows = table(world)
    assert rows[(ADA, "OFF-2002/ACT-9")][0] == "declined"
    assert rows[(BO, "OFF-1001/ACT-1")][0] == "accepted"
    assert rows[(INES, "OFF-1001/ACT-1")][0] == "tentativelyAccepted"
    assert rows[(DEE, next(k for e, k in rows if e == DEE))][0] == "none"
    assert rows[(ADA, "OFF-2002/ACT-9")][1] is not None
    assert said[ADA]["respondedAt"][:19] == rows[(ADA, "OFF-2002/ACT-9")][1][:19]

    quiet = catch_up(world)  # nothing changed since: one page, nothing recorded
    assert quiet.changed == [] and quiet.pages == 1


def test_a_response_changed_twice_keeps_the_latest(collecting: World) -> None:
    world = collecting
    assert world.sync(base_feed()).code == 0
    catch_up(world)
    world.sandbox.respond(ADA, "accepted", subject=DATA_PRIVACY)
    catch_up(world)
    world.sandbox.respond(ADA, "declined", subject=DATA_PRIVACY)
    catch_up(world)
    assert table(world)[(ADA, "OFF-2002/ACT-9")][0] == "declined"


def test_a_declined_answer_changes_nothing_the_sync_sends(collecting: World) -> None:
    world = collecting
    feed = world.feed_file(base_feed())
    assert world.sync(feed).code == 0
    world.sandbox.respond(INES, "declined", subject=WORKSHOP_1)
    world.sandbox.respond(ADA, "declined", subject=DATA_PRIVACY)
    catch_up(world)
    assert table(world)[(INES, "OFF-1001/ACT-1")][0] == "declined"
    before = world.stats()
    received = {who: world.received(who) for who in (ADA, INES)}
    again = world.sync(feed)
    assert again.code == 0
    summary = again.summary
    assert (summary["created"], summary["updated"], summary["cancelled"]) == (0, 0, 0)
    assert world.stats()["writes"] == before["writes"]  # nothing written to any calendar
    assert {who: world.received(who) for who in (ADA, INES)} == received  # no message to either
    assert DATA_PRIVACY in {m["subject"] for m in world.calendar(ADA)}


def test_collection_off_asks_for_nothing_and_contacts_graph_not_at_all(world: World,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.responses.runner import run_upkeep
    from shared.responses.state import CollectionState

    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, world.env[name])
    assert world.sync(base_feed()).code == 0
    event = event_of(world, ADA, DATA_PRIVACY)
    assert event["responseRequested"] is False
    assert "no response is needed" in event["body"]["content"].lower()

    before, requests = world.stats()["requests"], COLLECTION_REQUESTS.total()
    report = run_upkeep(settings_of(world), graph_factory=lambda: pytest.fail("Graph was contacted"))
    assert not report.on
    assert CollectionState(tables_of(world)).subscriptions() == []
    assert (world.stats()["requests"], COLLECTION_REQUESTS.total()) == (before, requests)
    assert ResponseStore(tables_of(world)).query().items == []


def put_env(world: World, monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    """The world's settings as the function app's environment (the HTTP and queue functions read it)."""
    for name, value in {**world.env, **values}.items():
        monkeypatch.setenv(name, value)
    world.env.update(values)
    return settings_of(world)


def server_chain(world: World) -> Path:
    """The sandbox's server certificate for 127.0.0.1 (issued by the CA the sandbox trusts)."""
    return Path(world.info["dataDir"]) / "server.pem"


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def test_the_endpoint_answers_the_handshake_and_refuses_a_wrong_client_state(
        collecting: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.local.notifications_host import notifications_host
    from shared.responses.state import CollectionState, SubscriptionRow

    world = collecting
    settings = put_env(world, monkeypatch)
    assert world.sync(base_feed()).code == 0
    catch_up(world)
    organizer = world.info["organizer"]
    now = datetime.now(UTC)
    CollectionState(tables_of(world)).put_subscription(
        SubscriptionRow(organizer, "sub-1", "the-right-state", now + timedelta(days=6), now))
    world.sandbox.respond(ADA, "declined", subject=DATA_PRIVACY)
    item = {"subscriptionId": "sub-1", "changeType": "updated", "resource": f"Users/{organizer}/Events/x",
            "resourceData": {"id": "x"}, "tenantId": world.info["tenantId"]}

    with notifications_host(server_chain(world), settings=settings) as host, \
            httpx.Client(verify=ssl.create_default_context(cafile=world.info["caFile"])) as http:
        shake = http.post(f"{host.url}/api/notifications", params={"validationToken": "Validation: a b&c"})
        assert (shake.status_code, shake.text) == (200, "Validation: a b&c")
        assert shake.headers["content-type"].startswith("text/plain")

        wrong = http.post(f"{host.url}/api/notifications", json={"value": [{**item, "clientState": "guess"}]})
        assert wrong.status_code == 403
        assert "the-right-state" not in wrong.text
        assert "refused a notification for subscription sub-1" in caplog.text
        assert "guess" not in caplog.text and "the-right-state" not in caplog.text
        time.sleep(3)  # longer than the coalescing delay: a task would have been read by now
        assert table(world)[(ADA, "OFF-2002/ACT-9")][0] == "none"  # refused: nothing was read

        right = http.post(f"{host.url}/api/notifications", json={"value": [{**item, "clientState": "the-right-state"}]})
        assert right.status_code == 202
        wait_for(lambda: table(world)[(ADA, "OFF-2002/ACT-9")][0] == "declined")


# What the attendees answer in the tests below, and the table that must result (the oracle).
ANSWERS = ((ADA, "declined", DATA_PRIVACY), (BO, "accepted", WORKSHOP_1), (INES, "tentativelyAccepted", WORKSHOP_1))
EXPECTED = {(ADA, "OFF-2002/ACT-9"): "declined", (BO, "OFF-1001/ACT-1"): "accepted",
            (INES, "OFF-1001/ACT-1"): "tentativelyAccepted"}


def answered(world: World) -> dict[tuple[str, str], str]:
    """The rows of the table with an answer other than none."""
    return {key: value[0] for key, value in table(world).items() if value[0] != "none"}


def sandbox_clock(world: World, scale: float) -> Callable[[], datetime]:
    """The product's clock running with the sandbox's scaled clock (anchored on the sandbox's own `now`)."""
    world.sandbox.configure(timeScale=scale)
    anchor, started = parse_time(world.stats()["now"]), time.monotonic()
    assert anchor is not None
    return lambda: anchor + timedelta(seconds=(time.monotonic() - started) * scale)


@dataclass
class Online:
    settings: Settings
    clock: Callable[[], datetime]  # the sandbox's clock: earlier time-scaled tests may have moved it ahead

    def upkeep(self) -> Any:
        from shared.responses.runner import run_upkeep

        return run_upkeep(self.settings, clock=self.clock)


@contextmanager
def function_app_online(world: World, monkeypatch: pytest.MonkeyPatch, tmp: Path,
                        scale: float = 1.0) -> Iterator[Online]:
    """The function app's HTTP routes over HTTPS (a certificate the sandbox trusts) and its responses
    queue function, with LEARNCAL_PUBLIC_URL naming them; the product's clock runs with the sandbox's."""
    from shared.local.notifications_host import notifications_host
    from shared.sandbox.certs import issue_certificate

    chain = issue_certificate(Path(world.info["dataDir"]), ["127.0.0.1"], tmp / "function-app.pem")
    settings = put_env(world, monkeypatch)
    clock = sandbox_clock(world, scale)
    monkeypatch.setitem(CLOCK, "now", clock)  # notifications are timed on the clock the workers read with

    def worker(message: Any) -> None:  # function_app.responses_worker, on the sandbox's clock
        handle_task(message.get_body().decode("utf-8"), clock=clock)

    with notifications_host(chain, settings=settings, polling=0.2, worker=worker) as host:
        yield Online(put_env(world, monkeypatch, LEARNCAL_PUBLIC_URL=host.url), clock)


@pytest.mark.parametrize("delivery", ["notifications", "delta alone"])
def test_responses_arrive_by_notification_or_by_the_delta_alone_with_the_same_table(
        collecting: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, delivery: str) -> None:
    from shared.responses.state import CollectionState

    world = collecting
    with function_app_online(world, monkeypatch, tmp_path) as online:
        settings = online.settings
        assert world.sync(base_feed()).code == 0
        report = online.upkeep()  # the timer: subscribes (Graph's handshake to our endpoint), reads in full
        assert report.created == [world.info["organizer"]] and not report.problems
        [subscription] = world.sandbox.subscriptions()
        assert subscription["resource"].lower() == f"users/{world.info['organizer']}/events"
        assert subscription["notificationUrl"] == settings.public_url + "/api/notifications"
        assert CollectionState(tables_of(world)).subscription(world.info["organizer"]) is not None
        if delivery != "notifications":
            world.sandbox.configure(missedNotifications=1)  # every change notification is lost
        before = world.stats()

        for who, response, subject in ANSWERS:
            world.sandbox.respond(who, response, subject=subject)

        if delivery == "notifications":
            wait_for(lambda: answered(world) == EXPECTED)
            assert world.stats()["notificationsDelivered"] - before["notificationsDelivered"] >= len(ANSWERS)
        else:
            time.sleep(3)  # longer than a notification's way through the queue would take
            assert answered(world) == {}
            assert world.stats()["notificationsDropped"] - before["notificationsDropped"] >= len(ANSWERS)
            online.upkeep()  # the next timer's delta read
        assert answered(world) == EXPECTED
        assert {v[0] for k, v in table(world).items() if k not in EXPECTED} == {"none"}  # 7 did not answer


def test_the_subscription_is_renewed_before_it_expires_across_a_simulated_week(
        collecting: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = collecting
    with function_app_online(world, monkeypatch, tmp_path, scale=30240.0) as online:  # 3 weeks a minute
        assert world.sync(base_feed()).code == 0
        clock = online.clock
        first = online.upkeep()
        [created] = world.sandbox.subscriptions()
        assert first.created and created["expirationDateTime"] > (clock() + timedelta(days=6)).isoformat()
        renewed = 0
        end = clock() + timedelta(days=8)
        while clock() < end:  # the upkeep timer, as often as it can run (at least every 30 simulated minutes)
            report = online.upkeep()
            assert report.created == [] and not report.problems, report  # never lost, never created again
            renewed += len(report.renewed)
            [alive] = world.sandbox.subscriptions()
            assert alive["id"] == created["id"]
        assert renewed >= 1
        assert world.stats()["subscriptionsExpired"] == 0
        delivered = world.stats()["notificationsDelivered"]
        accepted = RECEIVED["notifications"] - RECEIVED["refused"]
        world.sandbox.respond(ADA, "declined", subject=DATA_PRIVACY)  # still delivered after the week, and trusted
        wait_for(lambda: world.stats()["notificationsDelivered"] > delivered)
        assert RECEIVED["notifications"] - RECEIVED["refused"] > accepted


def test_lifecycle_notifications_recreate_a_removed_subscription_and_catch_up_missed_changes(
        collecting: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = collecting
    with function_app_online(world, monkeypatch, tmp_path) as online:
        assert world.sync(base_feed()).code == 0
        online.upkeep()
        [first] = world.sandbox.subscriptions()

        world.sandbox.remove_subscription(first["id"])  # the service removed it: subscriptionRemoved
        wait_for(lambda: [s["id"] for s in world.sandbox.subscriptions()] not in ([], [first["id"]]))
        [second] = world.sandbox.subscriptions()

        renewed = world.stats()["subscriptionsRenewed"]
        world.sandbox.lifecycle_event(second["id"], "reauthorizationRequired")  # answered by a renewal (PATCH)
        wait_for(lambda: world.stats()["subscriptionsRenewed"] > renewed)
        assert [s["id"] for s in world.sandbox.subscriptions()] == [second["id"]]

        world.sandbox.configure(missedNotifications=1)
        world.sandbox.respond(BO, "accepted", subject=WORKSHOP_1)
        time.sleep(2)
        assert answered(world) == {}
        world.sandbox.lifecycle_event(second["id"], "missed")  # Graph says notifications were missed
        wait_for(lambda: answered(world) == {(BO, "OFF-1001/ACT-1"): "accepted"})


def collection_check(world: World) -> dict[str, Any]:
    result = world.cli("validate", "--json")
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "response-collection"]
    return dict(check)


def test_validate_checks_the_subscriptions_while_collection_is_on(
        collecting: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = collecting
    missing = collection_check(world)
    assert missing["status"] == "fail" and "LEARNCAL_PUBLIC_URL" in missing["fix"]
    with function_app_online(world, monkeypatch, tmp_path) as online:
        assert world.sync(base_feed()).code == 0
        none_yet = collection_check(world)
        assert none_yet["status"] == "fail" and "has no subscription yet" in none_yet["detail"]
        assert "responses_upkeep" in none_yet["fix"]
        online.upkeep()
        alive = collection_check(world)
        assert alive["status"] == "pass", alive
        [subscription] = world.sandbox.subscriptions()
        assert world.graph("DELETE", f"/subscriptions/{subscription['id']}") == 204  # deleted behind the app's back
        gone = collection_check(world)
        assert gone["status"] == "fail" and "no longer exists" in gone["detail"]
        online.upkeep()  # the next upkeep's renewal finds it gone and creates it again
        assert collection_check(world)["status"] == "pass"
    world.env["LEARNCAL_REQUEST_RESPONSES"] = "false"
    assert "response-collection" not in {c["name"] for c in json.loads(world.cli("validate", "--json").stdout)[
        "checks"]}


def test_switching_collection_off_deletes_the_subscriptions_and_reads_nothing(
        collecting: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shared.responses.state import CollectionState

    world = collecting
    with function_app_online(world, monkeypatch, tmp_path) as online:
        assert world.sync(base_feed()).code == 0
        online.upkeep()
        assert len(world.sandbox.subscriptions()) == 1
        off = replace(online.settings, request_responses=False)  # LEARNCAL_REQUEST_RESPONSES=false
        report = run_upkeep(off, clock=online.clock)
        assert not report.on and report.deleted == [world.info["organizer"]]
        assert world.sandbox.subscriptions() == []
        state = CollectionState(tables_of(world))
        assert state.subscriptions() == [] and state.deltas() == []
        before = world.stats()["requests"]
        world.sandbox.respond(ADA, "declined", subject=DATA_PRIVACY)
        assert run_upkeep(off, clock=online.clock).deleted == []
        assert world.stats()["requests"] == before  # nothing is read any more
        assert table(world)[(ADA, "OFF-2002/ACT-9")][0] == "none"

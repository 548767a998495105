"""Feeds dropped into Blob Storage (Azurite) start runs against the sandbox; PUT /api/feed checks before it stores.

Blob-created events reach `feed_arrived` through the local stand-in (Azurite has no Event
Grid); the runs they request are performed by `run_worker`, fed from the run queue as the
host would. Calendars are judged by `wanted`, an oracle written from the feed alone.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import conftest_admin
import pytest
from azure.storage.blob import BlobServiceClient
from conftest_admin import ADMIN_HEADERS, World, function, payload, request

from shared.admin.context import Services, using
from shared.local.blob_events import BlobEvents
from shared.store.allowance import AllowanceStore
from tests.support.csv_twins import csv_text
from tests.support.feeds import ADA, BO, CY, DEE, INES, PAT, SAM, base_feed, offering

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

PEOPLE = (ADA, BO, CY, DEE, INES, PAT, SAM)


def wanted(feed: dict[str, Any]) -> dict[str, list[str]]:
    """Each person's meetings (UTC starts) as the feed states them: instructors of an activity, active learners
    of an offering; nothing of a cancelled offering or activity."""
    found: dict[str, list[str]] = {person: [] for person in PEOPLE}
    for item in feed["offerings"]:
        if item.get("status", "active") != "active":
            continue
        learners = {e["learnerEmail"].lower() for e in item.get("enrollments", []) if e.get("status") == "active"}
        for act in item.get("activities", []):
            if act.get("status", "active") != "active":
                continue
            start = datetime.fromisoformat(act["start"]).replace(tzinfo=ZoneInfo(act["timeZone"]))
            utc = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for person in learners | {i["email"].lower() for i in act.get("instructors", [])}:
                found.setdefault(person, []).append(utc)
    return {person: sorted(starts) for person, starts in found.items()}


def calendars(world: World) -> dict[str, list[str]]:
    return {person: sorted(m["startUtc"] for m in world.sandbox.calendar(person)) for person in PEOPLE}


class Drop:
    """One installation whose LEARNCAL_FEED is a container of its own, with blob events delivered to feed_arrived."""

    def __init__(self, world: World, **settings: Any) -> None:
        self.world = world
        self.container = "feeds-" + uuid.uuid4().hex[:10]
        self.services: Services = world.services(feed=f"blob:{self.container}", **settings)
        self.client = BlobServiceClient.from_connection_string(world.settings.storage_connection)\
            .get_container_client(self.container)
        self.client.create_container()
        self.arrivals: list[dict[str, Any]] = []
        self.events = BlobEvents(self.services.settings, self._arrived, container=self.container)

    def _arrived(self, blob: Any) -> None:
        with using(self.services):
            function("feed_arrived")(blob)

    def put(self, body: bytes, *, query: str = "", content_type: str = "application/json") -> Any:
        return self.world.call("feed", request("PUT", "feed" + query, raw=body,
                                               headers={**ADMIN_HEADERS, "Content-Type": content_type}), self.services)

    def deliver(self) -> list[str]:
        """Blob events for the new blobs, then the runs they asked for; the run ids performed."""
        self.events.poll()
        assert self.events.errors == []
        return self.world.drain_runs(self.services)

    def blobs(self) -> list[str]:
        return sorted(b.name for b in self.client.list_blobs())

    def runs(self) -> list[dict[str, Any]]:
        return list(self.services.app.runs.recent(20))

    def feeds(self) -> dict[str, Any]:
        response = self.world.call("feeds", request("GET", "feeds"), self.services)
        assert response.status_code == 200, response.get_body()
        return dict(payload(response))


def _json(feed: dict[str, Any]) -> bytes:
    return json.dumps(feed).encode()


def changed(feed: dict[str, Any]) -> dict[str, Any]:
    """A newer export: Ada withdrew from OFF-2002 and the second workshop moved a day later."""
    newer = copy.deepcopy(feed)
    for enrollment in offering(newer, "OFF-2002")["enrollments"]:
        if enrollment["learnerEmail"].lower() == ADA:
            enrollment["status"] = "withdrawn"
    act = offering(newer, "OFF-1001")["activities"][1]
    for key in ("start", "end"):
        act[key] = (datetime.fromisoformat(act[key]) + timedelta(days=1)).isoformat()
    return newer


def test_two_quick_uploads_start_at_most_two_runs_and_the_newer_feed_is_in_force(world: World) -> None:
    drop = Drop(world)
    first, second = base_feed(), changed(base_feed())
    assert wanted(first) != wanted(second)

    one = drop.put(_json(first))
    two = drop.put(csv_text(second).encode(), content_type="text/csv")  # the newer one, and another format
    assert (one.status_code, two.status_code) == (201, 201), (one.get_body(), two.get_body())
    assert payload(one)["preview"]["created"] == 10
    assert drop.blobs() == sorted([payload(one)["blob"], payload(two)["blob"]])

    performed = drop.deliver()

    feed_runs = [r for r in drop.runs() if r.get("via") == "feed"]
    assert 1 <= len(feed_runs) <= 2 and len(set(performed)) == len(feed_runs)
    assert {r["startedBy"] for r in feed_runs} <= {f"feed:{payload(one)['blob']}", f"feed:{payload(two)['blob']}"}
    assert calendars(world) == wanted(second)  # the newer feed is in force, nothing lost
    last = feed_runs[0]
    assert (last["feed"]["name"], last["feed"]["format"]) == (payload(two)["blob"], "csv")
    assert last["feed"]["sha256"] == payload(two)["sha256"]
    history = drop.feeds()
    assert history["inForce"]["name"] == payload(two)["blob"]
    assert {row["name"]: row["status"] for row in history["value"]}[payload(two)["blob"]] == "used"


def test_a_cut_or_broken_upload_leaves_the_last_good_feed_in_force_and_is_reported(world: World) -> None:
    drop = Drop(world)
    good = base_feed()
    drop.client.upload_blob("2030-good.json", _json(good))
    drop.deliver()
    assert calendars(world) == wanted(good)

    cut = csv_text(changed(good)).split("\r\n")
    drop.client.upload_blob("2031-cut.csv", "\r\n".join(cut[:4]).encode())  # no trailer: cut short
    drop.client.upload_blob("2032-broken.json", _json(changed(good))[:-10])
    performed = drop.deliver()

    assert performed  # the bad uploads still woke the service up
    run = drop.runs()[0]
    assert run["status"] == "completed" and run["feed"]["name"] == "2030-good.json"
    skipped = {s["name"]: s["reason"] for s in run["feed"]["skipped"]}
    assert set(skipped) == {"2031-cut.csv", "2032-broken.json"}
    assert calendars(world) == wanted(good)
    rows = {row["name"]: row for row in drop.feeds()["value"]}
    assert rows["2031-cut.csv"]["status"] == "skipped" and "trailer" in rows["2031-cut.csv"]["reason"]
    assert rows["2032-broken.json"]["status"] == "skipped" and "JSON" in rows["2032-broken.json"]["reason"]
    assert drop.feeds()["inForce"]["name"] == "2030-good.json"


def test_an_unreadable_or_all_rejected_feed_is_refused_and_nothing_is_stored(world: World) -> None:
    drop = Drop(world)

    broken = drop.put(b'{"schemaVersion": 1, "offerings": [')
    assert broken.status_code == 422
    assert payload(broken)["type"].endswith("feed-unreadable") and "not valid JSON" in payload(broken)["detail"]

    nothing_usable = {"schemaVersion": 1, "offerings": [{"id": "OFF-9", "status": "active"}]}  # no title
    refused = drop.put(_json(nothing_usable))
    body = payload(refused)
    assert refused.status_code == 422 and body["type"].endswith("feed-all-rejected")
    assert body["errors"] and all(e["field"].startswith("offerings[0]") for e in body["errors"])
    assert body["forcible"] is True
    assert drop.blobs() == []
    rows = {r["name"]: r for r in drop.feeds()["value"]}  # every feed received is in the history
    assert set(rows) == {payload(broken)["blob"], body["blob"]}
    assert {r["status"] for r in rows.values()} == {"rejected"}
    assert "Every item" in rows[body["blob"]]["reason"]

    too_big = drop.put(b" " * (32 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and payload(too_big)["type"].endswith("feed-too-large")
    assert drop.blobs() == []


def test_a_feed_that_trips_the_guard_is_refused_unless_forced_and_then_cancels_exactly_those(world: World) -> None:
    drop = Drop(world, mass_cancel_min=3)
    first = base_feed()
    assert drop.put(_json(first)).status_code == 201
    drop.deliver()
    assert calendars(world) == wanted(first)

    cancelled = copy.deepcopy(first)
    offering(cancelled, "OFF-1001")["status"] = "cancelled"
    shown = sum(len(v) for v in wanted(first).values()) - sum(len(v) for v in wanted(cancelled).values())
    assert shown == 7

    refused = drop.put(_json(cancelled))
    body = payload(refused)
    assert refused.status_code == 409 and body["type"].endswith("mass-cancellation")
    assert body["cancellations"] == shown and body["preview"]["cancelled"] == shown
    assert len(drop.blobs()) == 1 and AllowanceStore(world.tables).current() is None

    forced = drop.put(_json(cancelled), query="?force=true")
    stored = payload(forced)
    assert forced.status_code == 201 and stored["forced"] is True
    assert stored["allowance"]["count"] == shown
    assert AllowanceStore(world.tables).current().count == shown  # type: ignore[union-attr]

    drop.deliver()
    run = drop.runs()[0]
    assert (run["status"], run["sent"]) == ("completed", shown), run.get("message")
    assert run["massCancelAllowance"]["used"] == shown
    assert calendars(world) == wanted(cancelled)
    assert AllowanceStore(world.tables).current() is None  # used up


def test_a_dry_run_upload_answers_the_preview_and_stores_nothing(world: World) -> None:
    drop = Drop(world)
    response = drop.put(_json(base_feed()), query="?dryRun=true")
    body = payload(response)
    assert response.status_code == 200 and body["stored"] is False and body["refusal"] is None
    assert (body["preview"]["created"], body["preview"]["cancelled"]) == (10, 0)
    assert drop.blobs() == []
    assert world.sandbox.calendar(ADA) == []


@pytest.mark.parametrize("query", ["?force=maybe", "?dryRun=2"])
def test_a_bad_flag_is_named(world: World, query: str) -> None:
    response = Drop(world).put(_json(base_feed()), query=query)
    assert response.status_code == 422
    assert payload(response)["errors"][0]["field"] == query[1:].split("=")[0]


def test_an_upload_while_a_run_plans_gets_one_follow_up_that_reads_the_newer_feed(world: World) -> None:
    drop = Drop(world)
    first, second = base_feed(), changed(base_feed())
    drop.client.upload_blob("a-first.json", _json(first))
    drop.events.poll()  # feed_arrived: run 1 is queued
    arrivals: list[str] = []

    def second_upload_while_planning(message: str) -> None:
        if message.startswith("Planned") and not arrivals:  # run 1 holds the planner lease, with the first feed
            drop.client.upload_blob("b-second.csv", csv_text(second).encode())
            arrivals.extend(drop.events.poll())

    planning = Services.build(drop.services.settings, tables=world.tables, progress=second_upload_while_planning)
    [first_run] = world.drain_runs(planning, limit=1)
    assert arrivals == ["b-second.csv"]
    follow_ups = world.drain_runs(drop.services)

    runs = {r["runId"]: r for r in drop.runs()}
    assert len(runs) == 2 and set(follow_ups) == set(runs) - {first_run}  # two uploads, two runs
    [follow_up] = set(follow_ups)  # its own message and the one the ending run sent: performed once
    assert runs[follow_up]["state"] == "completed"
    assert runs[first_run]["feed"]["name"] == "a-first.json"
    assert (runs[follow_up]["feed"]["name"], runs[follow_up]["startedBy"]) == ("b-second.csv", "feed:b-second.csv")
    assert runs[follow_up]["followUpOf"] == first_run
    assert calendars(world) == wanted(second)


def test_an_upload_starts_a_run_with_the_local_hosts_running_on_their_own(world: World) -> None:
    """Both stand-ins on their threads, as `learncal serve` runs them: PUT the feed, then only wait."""
    from shared.local.blob_events import for_app
    from shared.local.functions import local_functions
    from shared.local.queue_host import HostOptions, QueueHost

    drop = Drop(world)
    feed = base_feed()
    events = for_app(drop.services.app, interval=0.2).start()
    functions = local_functions(drop.services.settings, services=drop.services)
    host = QueueHost(world.settings, functions, HostOptions(max_polling_interval=0.5))
    try:
        with host:
            assert drop.put(_json(feed)).status_code == 201
            deadline = time.monotonic() + 60
            while calendars(world) != wanted(feed) and time.monotonic() < deadline:
                time.sleep(0.3)
    finally:
        events.stop()

    assert calendars(world) == wanted(feed)
    assert events.errors == [] and host.failures == 0
    [run] = drop.runs()
    assert (run["via"], run["status"], run["feed"]["name"]) == ("feed", "completed", drop.blobs()[0])


def test_a_late_event_never_undoes_what_a_run_recorded_about_the_feed(world: World) -> None:
    from shared.sync.service import SyncRequest

    drop = Drop(world)
    drop.client.upload_blob("early.json", _json(base_feed()))
    ticket = drop.services.app.request_run(SyncRequest(via="timer"), started_by="timer")  # the timer came first
    world.drain_runs(drop.services)
    assert {r["name"]: r["status"] for r in drop.feeds()["value"]} == {"early.json": "used"}

    assert drop.events.poll() == ["early.json"]  # the blob's event arrives after the run read it

    rows = {r["name"]: r for r in drop.feeds()["value"]}
    assert rows["early.json"]["status"] == "used" and rows["early.json"]["runId"] == ticket.run_id
    [again] = set(world.drain_runs(drop.services))  # the event's own run finds nothing new to send
    assert next(r for r in drop.runs() if r["runId"] == again)["created"] == 0
    assert calendars(world) == wanted(base_feed())

"""Responses end to end, as the learning system and the administrator meet them: attendees answer through
the sandbox (as Outlook would), the product collects the answers, and `learncal responses --json`,
`--csv` and GET /api/responses report exactly what was answered; each answer reaches the webhook
signed, and only the declining instructor raises the alert record."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest

import function_app
from shared.admin.context import Services, using
from shared.local.queue_host import QueueHost
from shared.queue.wakeup import queue_name
from shared.responses.reading import INDEXES
from shared.responses.runner import Task, handle_task
from shared.responses.webhook import QUEUE, deliver
from shared.settings import Settings
from shared.store.services import queue_client
from shared.store.tables import Tables, table_service
from tests.support.feeds import ADA, BO, INES, base_feed
from tests.support.world import World

DATA_PRIVACY = "Data Privacy Basics"
WORKSHOP_1 = "Leading Hybrid Teams: Workshop 1: Foundations"
KEY = "whsec-" + uuid.uuid4().hex
# what the attendees answer, and the (offering, session) each subject belongs to in base_feed()
ANSWERS = ((ADA, "declined", DATA_PRIVACY, ("OFF-2002", "ACT-9")),
           (BO, "accepted", WORKSHOP_1, ("OFF-1001", "ACT-1")),
           (INES, "declined", WORKSHOP_1, ("OFF-1001", "ACT-1")))


class Receiver:
    """The learning system's endpoint on 127.0.0.1; `delay` makes it hang before answering."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        posts = self.posts
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                posts.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                time.sleep(receiver.delay)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/learning-system/responses"
        Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
def collecting(world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    world.env.update({"LEARNCAL_REQUEST_RESPONSES": "true", "LEARNCAL_RESPONSE_WEBHOOK_URL": receiver.url,
                      "LEARNCAL_RESPONSE_WEBHOOK_SECRET": KEY})
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, world.env[name])
    monkeypatch.setenv("LEARNCAL_LOCAL_SIGN_IN", "true")
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)
    INDEXES.clear()
    yield world
    INDEXES.clear()


def catch_up(world: World) -> Any:
    """The organizer's calendar read as the upkeep timer (or a missed-notification lifecycle event) starts it."""
    return handle_task(Task(world.info["organizer"], "catchup", datetime.now(UTC)).text(), Settings.from_env(world.env))


def api(world: World, query: dict[str, str]) -> tuple[int, Any]:
    """GET /api/responses as the Functions host calls it, for a signed-in Reader."""
    claims = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
              "claims": [{"typ": "name", "val": "lms@contoso.example"},
                         {"typ": "roles", "val": "LearningCalendar.Reader"}]}
    headers = {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(claims).encode()).decode()}
    request = func.HttpRequest("GET", "http://localhost:7071/api/responses?" + urlencode(query), body=b"",
                               headers=headers)
    settings = Settings.from_env(world.env)
    with using(Services.build(settings, tables=Tables(table_service(settings), prefix=settings.table_prefix))):
        response = function_app.responses.build().get_user_function()(request)
    return response.status_code, json.loads(response.get_body())


def test_what_attendees_answer_is_what_the_cli_the_api_and_the_webhook_report(
        collecting: World, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    world = collecting
    assert world.sync(base_feed()).code == 0
    catch_up(world)  # the first full read: everyone "none", nothing posted, no alert
    settings = Settings.from_env(world.env)
    webhooks = queue_name(settings.table_prefix, QUEUE)

    said = {who: world.sandbox.respond(who, response, subject=subject) for who, response, subject, _ in ANSWERS}
    caplog.set_level(logging.WARNING, logger="learncal.monitoring")
    catch_up(world)

    oracle = {(who, *where): (response, said[who]["respondedAt"][:19]) for who, response, _, where in ANSWERS}
    shown = world.cli("responses", "--json")
    assert shown.code == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["next"] is None
    answered = {(i["email"], i["offeringId"], i["activityId"]): (i["response"], (i["respondedAt"] or "")[:19])
                for i in body["items"] if i["response"] != "none"}
    assert answered == oracle
    assert {i["response"] for i in body["items"] if (i["email"], i["offeringId"], i["activityId"]) not in oracle} \
        == {"none"}  # everyone else has not answered
    assert len(body["items"]) == 10  # one per invitation of the feed

    status, page = api(world, {})
    assert status == 200 and sorted(page["items"], key=json.dumps) == sorted(body["items"], key=json.dumps)
    status, declined = api(world, {"response": "declined", "offeringId": "OFF-1001"})
    assert [(i["email"], i["role"]) for i in declined["items"]] == [(INES, "instructor")]

    table = world.cli("responses", "--csv", "--response", "declined")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert sorted((r["email"], r["activityId"]) for r in rows) == [(ADA, "ACT-9"), (INES, "ACT-1")]

    alerts = [r.getMessage() for r in caplog.records
              if r.getMessage().startswith("learncal.response.instructor.declined")]
    assert len(alerts) == 1 and f"email={INES}" in alerts[0] and "activity_id=ACT-1" in alerts[0]

    host = QueueHost(settings, {webhooks: lambda m: deliver(settings, m.get_body().decode(), wait_initial=0.05)})
    while host.run_once(webhooks):
        pass
    posted = {}
    for headers, raw in receiver.posts:
        stamp = headers["X-Learncal-Timestamp"]
        assert headers["X-Learncal-Signature"] == "sha256=" + hmac.new(
            KEY.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        data = json.loads(raw)["data"]
        posted[(data["email"], data["offeringId"], data["activityId"])] = (data["response"], data["respondedAt"][:19])
    assert posted == oracle  # each answer once; the first read's "none" rows were not posted


def test_a_hanging_receiver_never_holds_up_the_collection_or_a_run(collecting: World, receiver: Receiver) -> None:
    world = collecting
    receiver.delay = 30.0  # the learning system's endpoint stops answering
    assert world.sync(base_feed()).code == 0
    catch_up(world)
    for who, response, subject, _ in ANSWERS:
        world.sandbox.respond(who, response, subject=subject)

    started = time.monotonic()
    read = catch_up(world)
    assert time.monotonic() - started < 10.0  # well below one post's wait, let alone three
    assert len(read.changed) == len(ANSWERS) and receiver.posts == []  # queued, not posted by the collector

    started = time.monotonic()
    again = world.sync(base_feed())
    assert again.code == 0 and time.monotonic() - started < 25.0
    settings = Settings.from_env(world.env)
    waiting = queue_client(settings, queue_name(settings.table_prefix, QUEUE)).peek_messages(max_messages=10)
    assert len(waiting) == len(ANSWERS)  # each change waits for the webhook worker


def test_a_report_reads_the_answers_given_since_without_a_timer_or_a_notification(collecting: World) -> None:
    """On this machine no notification reaches the app and no timer runs: `learncal responses` and the
    first page of GET /api/responses read the organizer's calendar themselves; `--recorded` does not."""
    world = collecting
    assert world.sync(base_feed()).code == 0
    said = {who: world.sandbox.respond(who, response, subject=subject) for who, response, subject, _ in ANSWERS}

    shown = world.cli("responses", "--json")
    assert shown.code == 0, shown.stderr
    answered = {(i["email"], i["offeringId"], i["activityId"]): i["response"]
                for i in json.loads(shown.stdout)["items"] if i["response"] != "none"}
    assert answered == {(who, *where): response for who, response, _, where in ANSWERS}
    assert "Read 1 organizer mailbox(es)" in shown.stderr
    assert said[BO]["respondedAt"]

    world.sandbox.respond(BO, "tentativelyAccepted", subject=WORKSHOP_1)  # Bo changes his mind
    recorded = world.cli("responses", "--json", "--recorded", "--person", BO, "--session", "ACT-1")
    assert [i["response"] for i in json.loads(recorded.stdout)["items"]] == ["accepted"]  # nothing read
    status, page = api(world, {"email": BO, "activityId": "ACT-1"})
    assert status == 200 and [i["response"] for i in page["items"]] == ["tentativelyAccepted"]

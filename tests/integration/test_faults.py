"""Faults injected by the sandbox (and a resetting TCP proxy): every run still converges.

Each scenario syncs a feed under the fault plan, then a changed feed (cancellations,
updates, new invitations), running `learncal sync` again while the previous run reports
work it could not finish, as the hourly schedule would. Convergence is judged only from
what people see: calendars, received messages, the organizer's calendar.
"""

from __future__ import annotations

import copy
import random
import select
import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.convergence import problems
from tests.support.dates import moved
from tests.support.feeds import BO, base_feed, enrollment, offering
from tests.support.world import CliResult, World

EXTRA = [f"learner{i:02d}@contoso.example" for i in range(12)]


def first_feed() -> dict[str, Any]:
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"].extend({"learnerEmail": e, "status": "active"} for e in EXTRA)
    return feed


def second_feed(feed: dict[str, Any]) -> dict[str, Any]:
    """Cancellations (withdrawals), updates (a moved session) and invitations (new learners)."""
    feed = copy.deepcopy(feed)
    enrollment(feed, "OFF-1001", BO)["status"] = "withdrawn"
    for email in EXTRA[:3]:
        enrollment(feed, "OFF-1001", email)["status"] = "withdrawn"
    act1 = offering(feed, "OFF-1001")["activities"][0]
    act1["start"] = moved(act1["start"], clock="10:00")
    offering(feed, "OFF-1001")["enrollments"].extend(
        {"learnerEmail": f"late{i}@contoso.example", "status": "active"} for i in range(2))
    return feed


def sync_until_done(world: World, feed: dict[str, Any], runs: int = 4) -> list[dict[str, Any]]:
    """Run as the schedule would until a run finishes everything (what a run could not do, the next does)."""
    path = world.feed_file(feed)
    summaries = []
    for _ in range(runs):
        result: CliResult = world.sync(path)
        summary = result.summary
        summaries.append(summary)
        print(f"run: created {summary['created']} updated {summary['updated']} cancelled {summary['cancelled']} "
              f"deferred {summary['deferred']} errors {len(summary['errors'])}")
        assert summary["status"] == "completed", result.stderr
        if not summary["errors"] and not summary["deferred"]:
            return summaries
    raise AssertionError(f"not done after {runs} runs: {summaries[-1]}")


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "throttled inside batches, fractional Retry-After": [
        {"status": 429, "code": "ApplicationThrottled", "method": "*", "path": "/users/*/events*",
         "probability": 0.35, "retryAfter": 0.35},
    ],
    "503 and 504": [
        {"status": 503, "code": "ServiceUnavailable", "method": "*", "path": "/users/*/events*", "probability": 0.12},
        {"status": 504, "code": "GatewayTimeout", "method": "*", "path": "/users/*/events*", "probability": 0.1,
         "retryAfter": 0.25},
    ],
    "write committed, answer lost": [
        {"status": 504, "code": "GatewayTimeout", "method": "*", "path": "/users/*/events*", "probability": 0.2,
         "applied": True, "retryAfter": 0.2},
    ],
    "slow responses": [
        {"status": None, "method": "*", "path": "/users/*/events*", "probability": 0.5, "latency": 0.12},
    ],
    # learn.microsoft.com/graph/json-batching: the envelope may fail as a whole, or be served and its answer lost.
    "batch envelopes refused or lost": [
        {"status": 503, "code": "ServiceUnavailable", "method": "POST", "path": "/$batch", "probability": 0.3,
         "retryAfter": 0.1},
        {"status": 504, "code": "GatewayTimeout", "method": "POST", "path": "/$batch", "probability": 0.3,
         "applied": True, "retryAfter": 0.1},
    ],
    # learn.microsoft.com/graph/json-batching: 424 Failed Dependency, a sub-request Graph did not run.
    "424 failed dependency": [
        {"status": 424, "method": "*", "path": "/users/*/events*", "probability": 0.3},
    ],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_converges_under_faults(world: World, scenario: str) -> None:
    world.sandbox.configure(**{"faultSeed": 7, "faults": SCENARIOS[scenario]})
    first = first_feed()
    sync_until_done(world, first)
    second = second_feed(first)
    sync_until_done(world, second)
    stats = world.stats()
    assert stats["faultsInjected"] > 5
    assert stats["maxConcurrentPerMailbox"] <= 4
    assert problems(world, second) == []
    if scenario.startswith("throttled"):
        assert stats["throttled"] > 5
    else:
        assert stats["throttled"] == 0  # never more requests at the mailbox than it takes


def test_lost_cancel_answers_never_give_anyone_two_cancellations(world: World) -> None:
    """A tenant may answer a repeated cancel with 202 and a second message (`repeatCancel: accepted`)."""
    world.env["LEARNCAL_MASS_CANCEL_MIN"] = "1000"  # seven withdrawals cancel a third; the guard has its own tests
    first = first_feed()
    sync_until_done(world, first)
    second = copy.deepcopy(first)
    withdrawn = [BO, *EXTRA[:6]]
    for email in withdrawn:
        enrollment(second, "OFF-1001", email)["status"] = "withdrawn"
    world.sandbox.configure(repeatCancel="accepted", faultSeed=3, faults=[
        {"status": 504, "code": "GatewayTimeout", "method": "POST", "path": "/users/*/events/*/cancel",
         "probability": 0.6, "applied": True, "retryAfter": 0.1},
    ])
    sync_until_done(world, second)
    assert world.stats()["faultsInjected"] >= 3
    for person in withdrawn:
        cancellations = Counter(m["eventId"] for m in world.messages(person) if m["type"] == "meetingCancellation")
        assert cancellations and set(cancellations.values()) == {1}, (person, cancellations)
    assert problems(world, second) == []


# -- connection resets ---------------------------------------------------------------------


class ResettingProxy(socketserver.ThreadingTCPServer):
    """A TCP proxy in front of the sandbox that resets connections at random (seeded).

    `before` resets a connection when a request arrives (it never reaches Graph); `after`
    lets the request through and resets the connection instead of passing the answer on,
    as when a connection drops after the mailbox committed a write. TLS passes through
    untouched, so the product's client sees a plain connection reset.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int], *, before: float, after: float, seed: int) -> None:
        self.upstream = upstream
        self.before = before
        self.after = after
        self.resets = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Pipe)

    def draw(self, chance: float) -> bool:
        with self._lock:
            hit = self._rng.random() < chance
            self.resets += hit
            return hit


class _Pipe(socketserver.BaseRequestHandler):
    server: ResettingProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        upstream = socket.create_connection(self.server.upstream)
        waiting_for_answer = False
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if not waiting_for_answer and self.server.draw(self.server.before):
                            _reset(client)
                            return
                        waiting_for_answer = True
                        upstream.sendall(data)
                    else:
                        if waiting_for_answer and self.server.draw(self.server.after):
                            _reset(client)
                            return
                        waiting_for_answer = False
                        client.sendall(data)
        finally:
            upstream.close()

    def finish(self) -> None:
        self.request.close()


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
    sock.close()


@pytest.fixture
def proxy(sandbox_process: dict[str, Any]) -> Iterator[ResettingProxy]:
    parts = urlsplit(sandbox_process["graphUrl"])
    server = ResettingProxy((parts.hostname or "127.0.0.1", parts.port or 443), before=0.05, after=0.1, seed=11)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_converges_through_connection_resets(world: World, proxy: ResettingProxy) -> None:
    parts = urlsplit(world.info["graphUrl"])
    world.env["LEARNCAL_GRAPH_URL"] = urlunsplit(parts._replace(netloc=f"127.0.0.1:{proxy.server_address[1]}"))
    first = first_feed()
    sync_until_done(world, first)
    second = second_feed(first)
    sync_until_done(world, second)
    assert proxy.resets > 3
    assert problems(world, second) == []

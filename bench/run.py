"""`make bench`: the scale benchmark against the sandbox with Graph's and Exchange's limits.

Phases (method and figures: docs/performance.md):
1. start-up: `import function_app`, and warm `learncal sync` runs of a ten-invitation feed;
2. send rate: a slice of the catalog sent through a 30-a-minute budget, time-scaled (sandbox
   and sync share the scale): requests per message (R) and achieved rate over budget (S);
3. pipeline: the same slice with the message budget out of the way and Graph's latency
   emulated, ours against a naive sequential client doing the same work (B);
4. full catalog: 2,000 offerings / 10,000 sessions / 100,000 enrollments seeded by the fast
   path, then a no-change `learncal sync` (N seconds, M MB peak), then runs with some
   offerings changed, to show the cost follows the changes, not the catalog;
5. first rollout: `learncal sync --dry-run` of the full catalog against empty tables, as its own
   process: the peak RSS of planning 510,000 invitations (Q, from the kernel's ru_maxrss);
6. burst: 1,800 invitations through one mailbox at 30 a minute, time-scaled: simulated minutes
   from the run's start to the last delivery (U);
7. pool: a first rollout of 3,600 invitations in 40 offerings through 4 organizer mailboxes and
   through 1, time-scaled: the ratio of the two times to the last delivery (P);
8. responses: collection on, the function app's notification endpoint served over HTTPS, one
   subscription and the first full read; then attendees answer: Graph requests spent collecting
   (notifications received, look-ups, delta pages) per changed response (X, goal at most 1.1).

Every phase also counts the 429s the sync caused at the sandbox (T, goal 0: the sync keeps to
four requests in flight per mailbox; the naive baseline's 429s are not the sync's and are not
counted). The last line printed is the one-line result.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.catalog import Shape, build_feed, write_feed
from bench.measure import ROOT, figure_line, import_seconds, minutes_to_last_delivery, run_cli, send_rate_ratio
from shared.local.azurite import start_azurite
from shared.local.demo import sandbox_environment
from shared.local.sandbox_process import sandbox_process
from shared.sandbox.client import SandboxClient

GRAPH_WRITE_LATENCY = 0.25  # seconds Graph takes for one event write (an assumption; see docs/performance.md)
PER_MINUTE = 30  # Exchange's messages a minute for one mailbox
BURST = Shape(offerings=6, activities_per_offering=5, enrollments_per_offering=59)  # 6 x 5 x (59 + 1) = 1,800
POOL = Shape(offerings=40, activities_per_offering=3, enrollments_per_offering=29)  # 40 x 3 x (29 + 1) = 3,600
POOL_SIZE = 4
RUN_SECONDS = 540  # the product's default run budget (LEARNCAL_RUN_SECONDS)
HOST_POLLING_SECONDS = 10.0  # host.json queues.maxPollingInterval
QUEUED = (ROOT / "shared" / "queue" / "drain.py").exists()  # sending continues on the send queue
_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", flush=True)


class Bench:
    def __init__(self, info: dict[str, Any], storage: str, work: Path, scale: float) -> None:
        self.info = info
        self.admin = SandboxClient(info)
        self.base_env = {**os.environ, **sandbox_environment(info, storage)}
        self.work = work
        self.scale = scale
        self.results: dict[str, Any] = {}
        self.throttled = 0  # 429s the sync caused, all phases

    def tally_throttled(self, stats: dict[str, Any] | None = None) -> None:
        """Add the 429s counted since the sandbox's last reset (call only when the sync alone ran since)."""
        self.throttled += int((stats or self.admin.stats())["throttled"])

    def env(self, **values: str) -> dict[str, str]:
        return {**self.base_env, "LEARNCAL_TABLE_PREFIX": "B" + uuid.uuid4().hex[:10], **values}

    def feed_file(self, feed: dict[str, Any], name: str) -> str:
        return str(write_feed(feed, self.work / name))

    # -- 1. start-up ----------------------------------------------------------------------

    def startup(self) -> None:
        say("start-up: import function_app, warm learncal sync of a ten-invitation feed")
        self.results["import_function_app_seconds"] = round(import_seconds("function_app"), 3)
        feed = self.feed_file(build_feed(Shape(offerings=2, activities_per_offering=1, enrollments_per_offering=4)),
                              "ten.json")
        run_cli(["sync", "--feed", feed, "--json", "--quiet"], self.env())  # warms the file cache
        sending, unchanged = [], []
        for _ in range(3):
            self.tally_throttled()
            self.admin.reset()
            env = self.env()
            first = run_cli(["sync", "--feed", feed, "--json", "--quiet"], env)
            assert first.code == 0 and first.summary["created"] == 10, first.stderr
            sending.append(first.seconds)
            again = run_cli(["sync", "--feed", feed, "--json", "--quiet"], env)
            assert again.code == 0 and again.summary["unchanged"] == 10, again.stderr
            unchanged.append(again.seconds)
        self.tally_throttled()
        self.results["warm_sync_ten_invitations_seconds"] = round(statistics.median(sending), 2)
        self.results["warm_sync_no_change_seconds"] = round(statistics.median(unchanged), 2)
        say(f"  import function_app {self.results['import_function_app_seconds']} s; warm sync sending 10: "
            f"{self.results['warm_sync_ten_invitations_seconds']} s, no change: "
            f"{self.results['warm_sync_no_change_seconds']} s")

    # -- 2. send rate ---------------------------------------------------------------------

    def send_rate(self, shape: Shape) -> None:
        per_minute = 30
        say(f"send rate: {shape.invitations} invitations through {per_minute}/min, time x{self.scale:g}")
        self.admin.reset()
        self.admin.configure(timeScale=self.scale, messagesPerMinute=per_minute, recipientsPerDay=10_000,
                             requestsPer10Minutes=10_000, concurrentRequestsPerMailbox=4, sendLimitMode="record")
        feed = build_feed(shape)
        path = self.feed_file(feed, "slice.json")
        started = time.monotonic()
        summary = self.in_process(path, LEARNCAL_SEND_PER_MINUTE=str(per_minute), LEARNCAL_SEND_PER_DAY="10000")
        seconds = time.monotonic() - started
        stats = self.admin.stats()
        self.tally_throttled(stats)
        received = [m["receivedUtc"] for person in recipients(feed) for m in self.admin.messages(person)
                    if m["type"] == "meetingRequest"]
        assert summary["created"] == shape.invitations and len(received) == shape.invitations, summary
        self.results["send_rate"] = {
            "invitations": shape.invitations, "scale": self.scale, "wall_seconds": round(seconds, 1),
            "messages": stats["messagesSent"], "graph_writes": stats["writes"], "graph_requests": stats["requests"],
            "batches": stats["batches"], "send_limit_exceeded": stats["sendLimitExceeded"],
            "throttled": stats["throttled"],
            "requests_per_message": round(stats["writes"] / stats["messagesSent"], 3),
            "send_rate_ratio": round(send_rate_ratio(received, per_minute), 3),
        }
        say(f"  {self.results['send_rate']}")

    # -- 3. pipeline against the naive baseline --------------------------------------------

    def pipeline(self, shape: Shape) -> None:
        latency = GRAPH_WRITE_LATENCY / self.scale
        say(f"pipeline vs naive baseline: {shape.invitations} invitations, Graph write latency "
            f"{GRAPH_WRITE_LATENCY}s, time x{self.scale:g}, message budget out of the way")
        feed = build_feed(shape)
        path = self.feed_file(feed, "pipeline.json")
        lifted = {"LEARNCAL_SEND_PER_MINUTE": "1000000", "LEARNCAL_SEND_PER_DAY": "10000000"}

        self.configure_pipeline(latency)
        started = time.monotonic()
        summary = self.in_process(path, **lifted)
        ours = time.monotonic() - started
        ours_stats = self.admin.stats()
        self.tally_throttled(ours_stats)
        assert summary["created"] == shape.invitations, summary

        self.configure_pipeline(latency)
        count, naive = self.baseline(path)
        naive_stats = self.admin.stats()
        assert count == shape.invitations and naive_stats["messagesSent"] == shape.invitations
        self.results["pipeline"] = {
            "invitations": shape.invitations, "ours_seconds": round(ours, 2), "baseline_seconds": round(naive, 2),
            "baseline_speedup": round(naive / ours, 2), "ours_envelopes": ours_stats["batches"],
            "baseline_requests": naive_stats["requests"], "max_concurrent": ours_stats["maxConcurrentPerMailbox"],
            "ours_throttled": ours_stats["throttled"],
        }
        say(f"  {self.results['pipeline']}")

    def configure_pipeline(self, latency: float) -> None:
        self.admin.reset()
        self.admin.configure(timeScale=self.scale, messagesPerMinute=1_000_000, recipientsPerDay=10_000_000,
                             faults=[{"status": None, "method": "*", "path": "/users/*/events*", "latency": latency}])

    def baseline(self, path: str) -> tuple[int, float]:
        from bench.baseline import run_baseline
        from shared.bootstrap import client_secret
        from shared.feed.reader import read_feed
        from shared.identity import build_credential
        from shared.settings import Settings
        from shared.store.mapping import TableMappingStore
        from shared.store.tables import Tables, table_service

        settings = Settings.from_env(self.env())
        credential = build_credential(settings, client_secret(settings))
        mapping = TableMappingStore(Tables(table_service(settings), prefix=settings.table_prefix))
        return run_baseline(settings, credential, read_feed(path), mapping, now=datetime.now(UTC), progress=say)

    def in_process(self, path: str, **values: str) -> dict[str, Any]:
        return self.in_process_at(self.scale, path, **values)

    def in_process_at(self, scale: float, path: str, **values: str) -> dict[str, Any]:
        """One sync in this process on a clock running as fast as the sandbox's (ratios stay true)."""
        from shared.bootstrap import build
        from shared.settings import Settings
        from shared.sync.pacing import Timebase
        from shared.sync.service import SyncRequest

        env = self.env(LEARNCAL_RUN_SECONDS="86400", **values)
        app = build(Settings.from_env(env), timebase=Timebase(scale), progress=lambda m: say("  " + m))
        summary = app.sync.sync(SyncRequest(feed=path))
        assert summary.status == "completed" and not summary.errors, summary.to_json()
        return summary.to_json()

    # -- 4. the full catalog --------------------------------------------------------------

    def full_catalog(self, shape: Shape, changed: tuple[int, ...]) -> None:
        from bench.seed import seed
        from shared.feed.reader import read_feed
        from shared.settings import Settings
        from shared.store.tables import Tables, table_service
        from shared.sync.service import ProviderView

        say(f"full catalog: {shape.offerings} offerings, {shape.sessions} sessions, {shape.enrollments} "
            f"enrollments, {shape.invitations} invitations")
        self.admin.reset()
        path = self.feed_file(build_feed(shape), "catalog.json")
        env = self.env()
        settings = Settings.from_env(env)
        started = time.monotonic()
        rows = seed(Tables(table_service(settings), prefix=settings.table_prefix), read_feed(path),
                    ProviderView("active", settings.organizer, ()), now=datetime.now(UTC), progress=say)
        say(f"  seeded {rows} mapping rows in {time.monotonic() - started:.0f} s")

        before = self.admin.stats()
        runs = [run_cli(["sync", "--feed", path, "--json", "--quiet"], env) for _ in range(3)]
        after = self.admin.stats()
        for run in runs:
            assert run.code == 0, run.stderr
            assert (run.summary["unchanged"], run.summary["offeringsExamined"]) == (rows, 0), run.summary
        assert after["requests"] == before["requests"], "a no-change run called Graph"
        self.results["no_change"] = {
            "offerings": shape.offerings, "invitations": rows,
            "seconds": [round(r.seconds, 2) for r in runs], "peak_rss_mb": [round(r.peak_rss_mb, 1) for r in runs],
            "graph_requests": after["requests"] - before["requests"],
        }
        say(f"  no-change runs: {self.results['no_change']}")

        scaling = []
        renamed = 0
        for count in changed:
            renamed += count  # earlier renames stay, so exactly `count` offerings differ from the last run
            feed = self.feed_file(build_feed(shape, retitled=frozenset(range(renamed))), f"catalog-{count}.json")
            run = run_cli(["sync", "--feed", feed, "--json", "--quiet"], env)
            assert run.code == 0, run.stderr
            scaling.append({"changed_offerings": run.summary["offeringsExamined"], "seconds": round(run.seconds, 2),
                            "peak_rss_mb": round(run.peak_rss_mb, 1),
                            "waiting_for_reconcile": run.summary["waitingForReconcile"]})
            say(f"  {scaling[-1]}")
        self.results["changed_offerings"] = scaling
        self.tally_throttled()
        self.results["nochange_seconds"] = round(min(r.seconds for r in runs), 2)
        self.results["peak_rss_mb"] = round(max(r.peak_rss_mb for r in runs), 1)

    # -- 5. first rollout of the full catalog ----------------------------------------------

    def rollout(self, shape: Shape) -> None:
        """`learncal sync --dry-run` of the whole catalog against empty tables, as its own process: it plans
        every invitation of the first rollout (and lists the most urgent); its peak RSS is the kernel's
        ru_maxrss. A real first rollout also writes every planned write to the work table, chunk by chunk
        (measured separately: docs/performance.md), which takes Azurite longer than this benchmark's budget."""
        say(f"first rollout: {shape.invitations} invitations planned against empty tables, as its own process")
        self.admin.reset()
        path = self.work / "catalog.json"
        if not path.exists():
            self.feed_file(build_feed(shape), path.name)
        run = run_cli(["sync", "--dry-run", "--feed", str(path), "--json", "--quiet"], self.env())
        assert run.code == 0, run.stderr
        summary = run.summary
        assert summary["created"] == shape.invitations, summary
        self.tally_throttled()
        self.results["rollout"] = {
            "invitations": shape.invitations, "seconds": round(run.seconds, 1),
            "peak_rss_mb": round(run.peak_rss_mb, 1), "planned": summary["created"],
            "listed": len(summary.get("plan") or []),
        }
        self.results["rollout_peak_rss_mb"] = round(run.peak_rss_mb, 1)
        say(f"  {self.results['rollout']}")

    # -- 6. burst through one mailbox ------------------------------------------------------

    def configure_sending(self, scale: float) -> str:
        """A clean sandbox enforcing one mailbox's sending limits at `scale`; returns its clock's now."""
        self.admin.reset()
        self.admin.configure(timeScale=scale, messagesPerMinute=PER_MINUTE, recipientsPerDay=10_000,
                             requestsPer10Minutes=10_000, concurrentRequestsPerMailbox=4, sendLimitMode="record")
        return str(self.admin.reset_stats()["since"])

    def burst(self, shape: Shape, scale: float) -> None:
        feed = build_feed(shape)
        path = self.feed_file(feed, "burst.json")
        mode = "send queue" if QUEUED else "hourly runs"
        say(f"burst: {shape.invitations} invitations through one mailbox at {PER_MINUTE}/min, time x{scale:g}, "
            f"a run of {RUN_SECONDS} s, then the {mode}")
        started = self.configure_sending(scale)
        if QUEUED:
            runs = 1
            self.queued(path, shape.invitations, scale, organizers=1)
        else:
            runs = self.hourly(path, shape.invitations, scale)
        stats = self.admin.stats()
        self.tally_throttled(stats)
        received = self.deliveries(feed)
        assert len(received) == shape.invitations and stats["sendLimitExceeded"] == 0, stats
        minutes = minutes_to_last_delivery(received, started)
        self.results["burst"] = {
            "invitations": shape.invitations, "scale": scale, "mode": mode, "runs": runs,
            "minutes_to_last_delivery": round(minutes, 1), "throttled": stats["throttled"],
            "send_limit_exceeded": stats["sendLimitExceeded"],
        }
        self.results["burst_minutes"] = round(minutes, 1)
        say(f"  {self.results['burst']}")

    def hourly(self, path: str, invitations: int, scale: float) -> int:
        """Today's sending: a run of RUN_SECONDS at the top of every (simulated) hour until all is sent."""
        from shared.bootstrap import build
        from shared.settings import Settings
        from shared.sync.pacing import Timebase
        from shared.sync.service import SyncRequest

        timebase = Timebase(scale)
        env = self.env(LEARNCAL_RUN_SECONDS=str(RUN_SECONDS), LEARNCAL_SEND_PER_MINUTE=str(PER_MINUTE),
                       LEARNCAL_SEND_PER_DAY="10000")
        app = build(Settings.from_env(env), timebase=timebase, progress=lambda m: None)
        first = timebase.now()
        created = runs = 0
        while created < invitations:
            assert runs < 24, f"{created} of {invitations} sent after {runs} hourly runs"
            wait = timebase.real(first + 3600 * runs - timebase.now())
            if wait > 0:
                time.sleep(wait)
            summary = app.sync.sync(SyncRequest(feed=path, via="environment"))
            assert summary.status == "completed" and not summary.errors, summary.to_json()
            created += summary.created
            runs += 1
            say(f"  hourly run {runs}: {summary.created} sent, {summary.deferred} deferred")
        return runs

    def queued(self, path: str, invitations: int, scale: float, *, organizers: int, **values: str) -> dict[str, Any]:
        """One planning run (sending for its time slice), then the send queue until everything is delivered.

        The send worker runs under the local queue host, one host per organizer mailbox (each mailbox's
        work may run on its own instance, as in Azure), with the host's polling interval and the product's
        clock scaled like the sandbox's.
        """
        from shared.bootstrap import build, send_queued
        from shared.local.queue_host import HostOptions, QueueHost
        from shared.queue.wakeup import queue_name
        from shared.settings import Settings
        from shared.sync.pacing import Timebase
        from shared.sync.service import SyncRequest

        timebase = Timebase(scale)
        env = self.env(LEARNCAL_RUN_SECONDS=str(RUN_SECONDS), LEARNCAL_SEND_PER_MINUTE=str(PER_MINUTE),
                       LEARNCAL_SEND_PER_DAY="10000", **values)
        settings = Settings.from_env(env)

        def send_worker(message: Any) -> None:  # function_app.send_worker, with the bench's clock
            send_queued(message.get_body().decode("utf-8"), dequeue_count=message.dequeue_count or 1,
                        settings=settings, timebase=timebase)

        options = HostOptions(max_polling_interval=HOST_POLLING_SECONDS / scale)
        send_queue = queue_name(settings.table_prefix)  # learncal-send, named after the tables' prefix
        hosts = [QueueHost(settings, {send_queue: send_worker}, options) for _ in range(organizers)]
        for host in hosts:
            host.start()
        try:
            app = build(settings, timebase=timebase, progress=lambda m: None)
            summary = app.sync.sync(SyncRequest(feed=path, via="environment"))
            assert summary.status == "completed", summary.to_json()
            say(f"  the run sent {summary.created} and left {summary.deferred} queued"
                + (f"; {len(summary.errors)} errors: {summary.errors[:3]}" if summary.errors else ""))
            limit = time.monotonic() + 3 * invitations / PER_MINUTE * 60 / organizers / scale + 120
            sent = reported = 0
            while sent < invitations:
                assert time.monotonic() < limit, f"{sent} of {invitations} delivered when the bench gave up"
                time.sleep(1.0)
                sent = int(self.admin.stats()["messagesSent"])
                if sent >= reported + invitations // 6:
                    reported = sent
                    say(f"  {sent} delivered")
            failures = sum(host.failures for host in hosts)
            assert failures == 0 and sum(host.poisoned for host in hosts) == 0, "a send worker failed"
        finally:
            for host in hosts:
                host.stop()
        return summary.to_json()

    def deliveries(self, feed: dict[str, Any], mailbox: str | None = None) -> list[str]:
        """Delivery times of the invitations of `feed` (from `mailbox` only, when given)."""
        return [m["receivedUtc"] for person in recipients(feed) for m in self.admin.messages(person)
                if m["type"] == "meetingRequest"
                and (mailbox is None or str(m.get("from", "")).lower() == mailbox.lower())]

    # -- 7. organizer pool -----------------------------------------------------------------

    def pool(self, shape: Shape, scale: float) -> None:
        from shared.settings import Settings

        if "organizers" not in getattr(Settings, "__dataclass_fields__", {}):
            say("pool: this build has no organizer pool (LEARNCAL_ORGANIZERS); P not measured")
            self.results["pool_speedup"] = None
            return
        feed = build_feed(shape)
        path = self.feed_file(feed, "pool.json")
        mailboxes = [self.info["organizer"], *(f"learning-desk-{n}@{self.info['organizer'].partition('@')[2]}"
                                               for n in range(2, POOL_SIZE + 1))]
        times: dict[int, float] = {}
        for size in (POOL_SIZE, 1):
            say(f"pool: {shape.invitations} invitations in {shape.offerings} offerings through {size} mailbox(es) "
                f"at {PER_MINUTE}/min each, time x{scale:g}")
            started = self.configure_sending(scale)
            for address in mailboxes[1:]:
                self.admin.put_user(address, displayName="Learning Desk", hasMailbox=True)
            if QUEUED:
                self.queued(path, shape.invitations, scale, organizers=size,
                            LEARNCAL_ORGANIZERS=",".join(mailboxes[:size]))
            else:
                self.in_process_at(scale, path, LEARNCAL_ORGANIZERS=",".join(mailboxes[:size]),
                                   LEARNCAL_SEND_PER_MINUTE=str(PER_MINUTE), LEARNCAL_SEND_PER_DAY="10000")
            stats = self.admin.stats()
            self.tally_throttled(stats)
            received = self.deliveries(feed)
            assert len(received) == shape.invitations, len(received)
            per_mailbox = {m: len(self.deliveries(feed, m)) for m in mailboxes[:size]}
            assert sum(per_mailbox.values()) == shape.invitations, per_mailbox
            assert stats["sendLimitExceeded"] == 0, stats
            times[size] = minutes_to_last_delivery(received, started)
            say(f"  {size} mailbox(es): last delivery after {times[size]:.1f} simulated minutes, "
                f"{stats['throttled']} throttled, per mailbox {per_mailbox}")
        self.results["pool"] = {"invitations": shape.invitations, "offerings": shape.offerings, "scale": scale,
                                "mode": "send queue" if QUEUED else "one run with a long budget",
                                "minutes": {str(k): round(v, 1) for k, v in times.items()}}
        self.results["pool_speedup"] = round(times[1] / times[POOL_SIZE], 2)


    # -- 8. responses -----------------------------------------------------------------------

    def responses(self, shape: Shape, answers: int) -> None:
        """Requests spent collecting per changed response, after the first full read.

        The function app's HTTP routes run over HTTPS with a certificate the sandbox trusts and its
        responses queue function under the local queue host; the sandbox delivers a notification per
        answer. Counted: notifications delivered (the sandbox's count, checked against the endpoint's)
        and every Graph request the sandbox served while only collection ran (look-ups, delta pages,
        subscription upkeep), against the product's own count of its collection requests.
        """
        from shared.bootstrap import build
        from shared.local.notifications_host import notifications_host
        from shared.responses.graph import COLLECTION_REQUESTS, parse_time
        from shared.responses.notifications import CLOCK, RECEIVED
        from shared.responses.runner import handle_task, run_upkeep
        from shared.sandbox.certs import issue_certificate
        from shared.settings import Settings
        from shared.store.responses import ResponseStore
        from shared.sync.service import SyncRequest

        say(f"responses: {shape.invitations} invitations asking for a response, {answers} answers")
        self.admin.reset()
        self.admin.configure(messagesPerMinute=1_000_000, recipientsPerDay=10_000_000)
        feed = build_feed(shape)
        path = self.feed_file(feed, "responses.json")
        env = self.env(LEARNCAL_REQUEST_RESPONSES="true", LEARNCAL_SEND_PER_MINUTE="1000000",
                       LEARNCAL_SEND_PER_DAY="10000000", LEARNCAL_RUN_SECONDS="600")
        anchor, started = parse_time(self.admin.stats()["now"]), time.monotonic()
        assert anchor is not None

        def clock() -> datetime:  # the sandbox's clock (earlier phases scaled it ahead of the wall clock)
            return anchor + timedelta(seconds=time.monotonic() - started)

        def worker(message: Any) -> None:  # function_app.responses_worker, on the sandbox's clock
            handle_task(message.get_body().decode("utf-8"), Settings.from_env(env), clock=clock)

        chain = issue_certificate(Path(self.info["dataDir"]), ["127.0.0.1"], self.work / "function-app.pem")
        saved = dict(os.environ)
        CLOCK["now"] = clock  # notifications are timed on the clock the worker reads with
        with notifications_host(chain, settings=Settings.from_env(env), worker=worker, polling=0.2) as host:
            env["LEARNCAL_PUBLIC_URL"] = host.url
            os.environ.update(env)  # the HTTP functions read the app settings from the environment, as on the host
            try:
                settings = Settings.from_env(env)
                summary = build(settings, progress=lambda m: None).sync.sync(SyncRequest(feed=path))
                assert summary.status == "completed" and summary.created == shape.invitations, summary.to_json()
                first = run_upkeep(settings, clock=clock)  # subscribes, and the first full read
                assert first.created and not first.problems, first.describe()
                self._quiet()
                people = sorted(e["learnerEmail"] for o in feed["offerings"] for e in o["enrollments"])
                choices = ("accepted", "declined", "tentativelyAccepted")
                plan = [(person, event["id"], choices[n % 3]) for n, (person, event) in enumerate(
                    (p, e) for p in people for e in self.admin.calendar(p))][:answers]
                assert len(plan) == answers, len(plan)
                before, requests, received = self.admin.stats(), COLLECTION_REQUESTS.total(), dict(RECEIVED)
                began = time.monotonic()
                for person, event_id, response in plan:
                    self.admin.respond(person, response, event_id=event_id)
                store = ResponseStore(build(settings).tables)

                def collected() -> int:
                    return sum(1 for r in store.query(limit=1000).items if r.response != "none")

                while collected() < answers:
                    assert time.monotonic() - began < 60, f"{collected()} of {answers} answers collected"
                    time.sleep(0.2)
                seconds = time.monotonic() - began
                self._quiet()
                after = self.admin.stats()
            finally:
                os.environ.clear()
                os.environ.update(saved)
        notifications = (after["notificationsDelivered"] - before["notificationsDelivered"]
                         + after["lifecycleDelivered"] - before["lifecycleDelivered"])
        graph = after["requests"] - before["requests"]
        ours = COLLECTION_REQUESTS.total() - requests
        endpoint = RECEIVED["notifications"] - received["notifications"]
        assert graph == ours and endpoint == notifications, (graph, ours, endpoint, notifications)
        self.results["responses"] = {
            "invitations": shape.invitations, "answers": answers, "notifications": notifications,
            "graph_requests": graph, "seconds_to_last": round(seconds, 1), "throttled": after["throttled"],
            "requests_per_response": round((notifications + graph) / answers, 3),
        }
        self.tally_throttled(after)
        say(f"  {self.results['responses']}")

    def _quiet(self) -> None:
        """Until the sandbox has no notification left to deliver and the reads they started are done."""
        deadline = time.monotonic() + 30
        while self.admin.pending_notifications() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)  # the responses queue's coalescing delay, and the read it starts


def recipients(feed: dict[str, Any]) -> set[str]:
    people: set[str] = set()
    for offering in feed["offerings"]:
        people.update(e["learnerEmail"] for e in offering["enrollments"])
        for activity in offering["activities"]:
            people.update(i["email"] for i in activity["instructors"])
    return people


PHASES = {"startup", "send_rate", "pipeline", "catalog", "rollout", "burst", "pool", "responses"}
RESPONSES = Shape(offerings=2, activities_per_offering=2, enrollments_per_offering=39)  # 2 x 2 x (39 + 1) = 160


def figures(results: dict[str, Any]) -> dict[str, Any]:
    """The figure line's values from the results (None where a phase did not run)."""
    return {
        "requests_per_message": results.get("send_rate", {}).get("requests_per_message"),
        "send_rate_ratio": results.get("send_rate", {}).get("send_rate_ratio"),
        "nochange_seconds": results.get("nochange_seconds"),
        "peak_rss_mb": results.get("peak_rss_mb"),
        "baseline_speedup": results.get("pipeline", {}).get("baseline_speedup"),
        "burst_minutes": results.get("burst_minutes"),
        "pool_speedup": results.get("pool_speedup"),
        "rollout_peak_rss_mb": results.get("rollout_peak_rss_mb"),
        "throttled": results.get("throttled"),
        "requests_per_response": results.get("responses", {}).get("requests_per_response"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small catalog, for trying the benchmark out")
    parser.add_argument("--scale", type=float, default=20.0, help="time scale of the send-rate phase (default 20)")
    parser.add_argument("--burst-scale", type=float, default=None,
                        help="time scale of the burst phase (default 20; 60 when sending waits for hourly runs)")
    parser.add_argument("--pool-scale", type=float, default=None, help="time scale of the pool phase (default 20)")
    parser.add_argument("--only", default="", help="comma-separated phases to run: startup, send_rate, pipeline, "
                        "catalog, rollout, burst, pool, responses (default all)")
    args = parser.parse_args(argv)
    burst_scale = args.burst_scale or (20.0 if QUEUED else 60.0)
    pool_scale = args.pool_scale or 20.0
    phases = set(filter(None, args.only.split(","))) or PHASES

    full = Shape(offerings=200) if args.quick else Shape()
    slice_ = Shape(offerings=1, enrollments_per_offering=20) if args.quick else Shape(offerings=2)
    changed = (5, 50) if args.quick else (20, 200)
    os.environ.setdefault("NODE_OPTIONS", "--max-old-space-size=8192")  # Azurite keeps every row in memory
    log_file = ROOT / ".learncal" / "bench.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, filename=log_file, filemode="w",
                        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="learncal-bench-") as tmp, start_azurite() as azurite, \
            sandbox_process(Path(tmp) / "sandbox") as info:
        os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = info["caFile"]
        bench = Bench(info, azurite.connection_string, Path(tmp), args.scale)
        if "startup" in phases:
            bench.startup()
        if "send_rate" in phases:
            bench.send_rate(slice_)
        if "pipeline" in phases:
            bench.pipeline(slice_)
        if "catalog" in phases:
            bench.full_catalog(full, changed)
        if "rollout" in phases:
            bench.rollout(full)
        if "burst" in phases:
            bench.burst(BURST, burst_scale)
        if "pool" in phases:
            bench.pool(POOL if not args.quick else replace(POOL, activities_per_offering=1, enrollments_per_offering=8),
                       pool_scale)
        if "responses" in phases:
            bench.responses(RESPONSES, answers=40 if args.quick else 120)
        results = bench.results
        results["throttled"] = bench.throttled

    out = ROOT / ".learncal" / "bench-results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    say(f"results written to {out.relative_to(ROOT)}")
    print(figure_line(figures(results)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

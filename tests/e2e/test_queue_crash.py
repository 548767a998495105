"""SIGKILL the send worker's drain at random moments over a churning feed: nothing is lost or sent twice.

Between interruptions the feed changes (tests/support/churn.py) and is planned anew, so the
work table holds rows of older plans that newer ones replaced, intents recorded by a killed
drain (`pending` creates, `cancelling` cancellations), and rows whose write went out but was
never marked done. A latency on every Graph write stretches the sending so kills land before,
during and after batches. Afterwards one run and the drains that follow it must leave every
person exactly what the final feed wants, and each person's message history must alternate
per session (request, updates, cancellation, request, ...): the oracle (tests/support/history.py)
knows only the feed's rules.

LEARNCAL_QUEUE_CRASH_KILLS (default 6) and LEARNCAL_CRASH_SEED make a longer run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from tests.support.churn import everyone, sequence
from tests.support.history import judge
from tests.support.world import ROOT, World

SEED = int(os.environ.get("LEARNCAL_CRASH_SEED", "20261130"))
KILLS = int(os.environ.get("LEARNCAL_QUEUE_CRASH_KILLS", "6"))
KILLS_PER_FEED = 2


def started_sending(world: World, process: subprocess.Popen[bytes], before: int) -> None:
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline and world.stats()["requests"] <= before:
        time.sleep(0.05)


def queued(world: World) -> int:
    result = world.cli("queue", "show", "--json")
    return int(json.loads(result.stdout.strip().splitlines()[-1])["queued"])


def test_sigkill_while_draining_over_a_churning_feed_loses_and_duplicates_nothing(world: World) -> None:
    rng = random.Random(SEED)
    world.env["LEARNCAL_MASS_CANCEL_MIN"] = "1000000"  # the churn's cancellations are intended
    world.sandbox.configure(faults=[{"status": None, "method": "*", "path": "/users/*/events*", "latency": 0.08}])
    feeds = sequence(SEED, max(2, -(-KILLS // KILLS_PER_FEED)))
    paths = [world.feed_file(feed) for feed in feeds]
    organizer = world.info["organizer"]
    mid_send = 0
    for kill in range(KILLS):
        if kill % KILLS_PER_FEED == 0:  # a new plan of the changed feed; it sends one message at most itself
            planned = world.sync(paths[kill // KILLS_PER_FEED], LEARNCAL_RUN_SECONDS="1", LEARNCAL_SEND_PER_MINUTE="1")
            assert planned.code in (0, 1) and planned.summary["status"] == "completed", planned.stderr
        before = world.stats()["requests"]
        process = subprocess.Popen([sys.executable, "-m", "shared.cli", "queue", "drain", "--organizer", organizer],
                                   cwd=ROOT, env=world.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.2, 1.0))
        else:
            started_sending(world, process, before)
            time.sleep(rng.uniform(0.0, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL and world.stats()["requests"] > before:
            mid_send += 1

    final = paths[(KILLS - 1) // KILLS_PER_FEED]
    result = world.sync(final)
    assert result.code == 0, result.stdout + result.stderr
    for _ in range(5):  # whatever the run's time slice left queued
        if not queued(world):
            break
        assert world.cli("queue", "drain").code == 0
    assert queued(world) == 0
    assert mid_send >= min(2, KILLS // 3), "too few kills landed while a drain was sending"
    assert judge(world.sandbox, feeds[(KILLS - 1) // KILLS_PER_FEED], everyone()) == []
    again = world.sync(final).summary  # converged: nothing is left for a later run
    assert (again["created"], again["updated"], again["cancelled"], again["offeringsExamined"]) == (0, 0, 0, 0)

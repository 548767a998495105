"""SIGKILL `learncal sync` at random moments over a churning feed; one clean run afterwards converges.

Between kills the feed changes as a learning system's does (tests/support/churn.py): learners
withdraw and come back, often before the cancellation of their meeting was confirmed;
instructors are added, removed and swapped as primary; sessions move. The kill moments and
the churn come from one seed; most kills land a random moment after the run reached Graph,
some before. A latency on every Graph write stretches the sending phase so
that kills land before, during and after batches. Between kills the run's lease is made to
expire, as its time-to-live would after a real crash.

The oracle (tests/support/history.py) knows only the feed's rules: after the clean run, every
person holds exactly the meetings the final feed wants, at the right times, and each
person's messages per session alternate (request, updates, cancellation, request, ...).

`make test` runs a modest number of kills; set LEARNCAL_CRASH_KILLS (for example 60) and
LEARNCAL_CRASH_SEED for a longer run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from shared.store.tables import key_part
from tests.support.churn import everyone, sequence
from tests.support.history import judge
from tests.support.world import ROOT, World

SEED = int(os.environ.get("LEARNCAL_CRASH_SEED", "20261128"))
KILLS = int(os.environ.get("LEARNCAL_CRASH_KILLS", "12"))
KILLS_PER_FEED = 2  # the feed changes after every second interruption


def expire_lease(world: World) -> None:
    """What the lease's time-to-live does after a crash, without waiting for it."""
    from azure.data.tables import TableServiceClient, UpdateMode

    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    table = service.create_table_if_not_exists(world.env["LEARNCAL_TABLE_PREFIX"] + "Leases")
    table.upsert_entity({"PartitionKey": "lease", "RowKey": key_part(world.info["organizer"]), "Holder": "",
                         "ExpiresAt": datetime.now(UTC) - timedelta(seconds=1)}, mode=UpdateMode.REPLACE)


def started_sending(world: World, process: subprocess.Popen[bytes], before: int) -> None:
    """Wait until the run reaches Graph (its start-up time varies with the machine's load)."""
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline and world.stats()["requests"] <= before:
        time.sleep(0.05)


def test_sigkill_at_random_moments_over_a_churning_feed_then_one_clean_run_converges(world: World) -> None:
    rng = random.Random(SEED)
    # Many interrupted runs over a churning feed pile up cancellations no run got to finish;
    # the mass-cancellation guard is tested on its own, here it would only stop the churn.
    world.env["LEARNCAL_MASS_CANCEL_MIN"] = "1000000"
    world.sandbox.configure(faults=[{"status": None, "method": "*", "path": "/users/*/events*", "latency": 0.08}])
    feeds = sequence(SEED, max(2, -(-KILLS // KILLS_PER_FEED)))
    paths = [world.feed_file(feed) for feed in feeds]
    mid_send = 0
    for kill in range(KILLS):
        before = world.stats()["requests"]
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "sync", "--feed", paths[kill // KILLS_PER_FEED], "--json",
             "--quiet"], cwd=ROOT, env=world.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.2, 1.0))  # now and then before Graph is even reached
        else:
            started_sending(world, process, before)
            time.sleep(rng.uniform(0.0, 1.6))
        process.send_signal(signal.SIGKILL)  # nothing if it already ended by itself
        process.wait()
        if process.returncode == -signal.SIGKILL and world.stats()["requests"] > before:
            mid_send += 1
        expire_lease(world)

    final = paths[(KILLS - 1) // KILLS_PER_FEED]
    result = world.sync(final)
    assert result.code == 0, result.stdout + result.stderr
    summary = result.summary
    assert summary["status"] == "completed" and summary["deferred"] == 0 and summary["errors"] == []
    assert mid_send >= min(3, KILLS // 4), "too few kills landed while the run was sending"
    assert judge(world.sandbox, feeds[(KILLS - 1) // KILLS_PER_FEED], everyone()) == []
    again = world.sync(final).summary  # converged means nothing is left for a later run
    assert (again["created"], again["updated"], again["cancelled"], again["offeringsExamined"]) == (0, 0, 0, 0)

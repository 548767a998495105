"""SIGKILL `learncal sync` at random moments, many times; one clean run afterwards converges.

The kill moments are drawn from a fixed seed. A latency on every Graph write stretches the
sending phase so that kills land before, during and after batches. Between kills the run's
lease is made to expire, as its time-to-live would after a real crash (otherwise the next
run rightly refuses to start for up to two minutes).
"""

from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store.tables import key_part
from tests.support.convergence import problems
from tests.support.dates import moved
from tests.support.feeds import BO, DEE, base_feed, enrollment, offering
from tests.support.world import ROOT, World

SEED = 20261128
KILLS = 12


def feeds() -> list[dict[str, Any]]:
    """Three feeds in turn, each change bringing invitations, updates and cancellations to send."""
    first = base_feed()
    offering(first, "OFF-1001")["enrollments"].extend(
        {"learnerEmail": f"learner{i:02d}@contoso.example", "status": "active"} for i in range(16))
    second = copy.deepcopy(first)
    enrollment(second, "OFF-1001", BO)["status"] = "withdrawn"
    enrollment(second, "OFF-2002", DEE)["status"] = "withdrawn"
    for i in range(4):
        enrollment(second, "OFF-1001", f"learner{i:02d}@contoso.example")["status"] = "withdrawn"
    act2 = offering(second, "OFF-1001")["activities"][1]
    act2["start"] = moved(act2["start"], clock="10:00")
    offering(second, "OFF-1001")["enrollments"].append({"learnerEmail": "late@contoso.example", "status": "active"})
    third = copy.deepcopy(second)
    act1 = offering(third, "OFF-1001")["activities"][0]
    act1["start"] = moved(act1["start"], clock="08:00")
    for i in range(4, 7):
        enrollment(third, "OFF-1001", f"learner{i:02d}@contoso.example")["status"] = "withdrawn"
    offering(third, "OFF-1001")["enrollments"].extend(
        {"learnerEmail": f"later{i}@contoso.example", "status": "active"} for i in range(3))
    return [first, second, third]


def expire_lease(world: World) -> None:
    """What the lease's time-to-live does after a crash, without waiting for it."""
    from azure.data.tables import TableServiceClient, UpdateMode

    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    table = service.create_table_if_not_exists(world.env["LEARNCAL_TABLE_PREFIX"] + "Leases")
    table.upsert_entity({"PartitionKey": "lease", "RowKey": key_part(world.info["organizer"]), "Holder": "",
                         "ExpiresAt": datetime.now(UTC) - timedelta(seconds=1)}, mode=UpdateMode.REPLACE)


def test_sigkill_at_random_moments_then_one_clean_run_converges(world: World) -> None:
    rng = random.Random(SEED)
    world.env["LEARNCAL_MASS_CANCEL_MIN"] = "1000"  # the churn cancels a quarter at once; the guard has its own tests
    # Graph runs four sub-requests of a batch at once (the sandbox too), so a batch of 20 takes five
    # latencies: enough of them that the kills below land while the run is sending.
    world.sandbox.configure(**{"faults": [
        {"status": None, "method": "*", "path": "/users/*/events*", "latency": 0.3}]})
    wanted = feeds()
    paths = [world.feed_file(feed) for feed in wanted]
    mid_send = 0
    for kill in range(KILLS):
        path = paths[kill * len(paths) // KILLS]
        before = world.stats()["requests"]
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "sync", "--feed", path, "--json", "--quiet"], cwd=ROOT,
            env=world.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.6))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL and world.stats()["requests"] > before:
            mid_send += 1
        expire_lease(world)

    result = world.sync(paths[-1])
    assert result.code == 0, result.stderr
    summary = result.summary
    assert summary["status"] == "completed" and summary["deferred"] == 0 and summary["errors"] == []
    assert mid_send >= 3, "too few kills landed while the run was sending"
    assert problems(world, wanted[-1]) == []

"""The Table Storage side against Azurite: mapping rows, ETags, offering state, runs, the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import InvitationKey
from shared.errors import RunInProgress, UnknownOffering
from shared.planning.sent import SentRecord
from shared.store.lease import LeaseStore, process_start_ticks
from shared.store.mapping import ConcurrentChange, TableMappingStore
from shared.store.offerings import OfferingState, OfferingStore
from shared.store.runs import RunStore
from shared.store.tables import Tables

KEY = InvitationKey("OFF/1#?", "ACT\\9", "ada.learner@contoso.example")


def record(**changes: object) -> SentRecord:
    base = SentRecord(
        key=KEY, organizer="coordinator@contoso.example", role="learner", state="pending", key_fp="k1",
        hashes={"subject": "s1"}, start_utc=datetime(2025, 3, 2, 8, tzinfo=UTC),
        end_utc=datetime(2025, 3, 2, 11, tzinfo=UTC),
    )
    return base.but(**changes)


def test_mapping_round_trips_ids_with_characters_tables_forbid(tables: Tables) -> None:
    store = TableMappingStore(tables)
    saved = store.put(record())
    assert saved.etag
    loaded = store.load(["OFF/1#?"])
    assert list(loaded) == [KEY]
    got = loaded[KEY]
    assert (got.state, got.hashes, got.start_utc, got.organizer) == ("pending", {"subject": "s1"},
                                                                      record().start_utc, "coordinator@contoso.example")
    assert store.load(["other"]) == {}


def test_stale_etag_is_refused(tables: Tables) -> None:
    store = TableMappingStore(tables)
    first = store.put(record())
    store.put(first.but(state="live", event_id="e1"))
    with pytest.raises(ConcurrentChange):
        store.put(first.but(state="cancelling"))  # written from an out-of-date read
    with pytest.raises(ConcurrentChange):
        store.put(record())  # a second "new" row for the same invitation
    assert store.load_all()[KEY].event_id == "e1"


def test_reconcile_needs_a_known_offering(tables: Tables) -> None:
    store = OfferingStore(tables)
    with pytest.raises(UnknownOffering, match="OFF-404"):
        store.request_reconcile("OFF-404")
    assert store.all() == {}
    store.save(OfferingState("OFF-1", title="Known", digest="d", settled=True, live=3))
    marked = store.request_reconcile("OFF-1")
    assert marked.reconcile_requested_at is not None
    assert store.get("OFF-1") == marked.but(last_seen=None)


def test_lease_admits_one_run_and_expires(tables: Tables) -> None:
    leases = LeaseStore(tables)
    now = datetime.now(UTC)
    lease = leases.acquire("coordinator@contoso.example", seconds=60, now=now)
    with pytest.raises(RunInProgress, match="already in progress"):
        leases.acquire("coordinator@contoso.example", seconds=60, now=now)
    assert leases.acquire("other@contoso.example", seconds=60, now=now).holder  # other organizers are independent
    later = now + timedelta(seconds=61)
    taken_over = leases.acquire("coordinator@contoso.example", seconds=60, now=later)
    leases.release(lease)  # the old holder's release must not free the new holder's lease
    with pytest.raises(RunInProgress):
        leases.acquire("coordinator@contoso.example", seconds=60, now=later)
    leases.release(taken_over)
    assert leases.acquire("coordinator@contoso.example", seconds=60, now=later).holder != taken_over.holder


def test_runs_are_listed_newest_first(tables: Tables) -> None:
    runs = RunStore(tables)
    for minute in (1, 3, 2):
        started = datetime(2025, 1, 1, 12, minute, tzinfo=UTC)
        runs.record({"runId": f"r{minute}", "startedAt": started.isoformat(), "status": "completed"})
    assert [r["runId"] for r in runs.recent(2)] == ["r3", "r2"]


def test_a_lease_left_by_a_killed_process_on_this_machine_is_taken_over_at_once(tables: Tables) -> None:
    """A SIGKILLed `learncal sync` cannot release its lease; waiting out its expiry would only delay the next run."""
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lease = LeaseStore(tables).acquire("Org@Contoso.example", seconds=600)
        row = tables["leases"].get_entity("lease", "org@contoso.example")  # names compare in lower case
        tables["leases"].upsert_entity({**row, "Pid": holder.pid, "ProcessStart": process_start_ticks(holder.pid)})
        with pytest.raises(RunInProgress):
            LeaseStore(tables).acquire("org@contoso.example", seconds=60)  # its holder still runs
    finally:
        holder.kill()
        holder.wait()
    taken = LeaseStore(tables).acquire("ORG@contoso.example", seconds=60)  # killed: taken over before expiry
    assert taken.holder != lease.holder


def test_a_lease_held_on_another_machine_waits_for_its_expiry(tables: Tables) -> None:
    LeaseStore(tables).acquire("org@contoso.example", seconds=600)
    row = tables["leases"].get_entity("lease", "org@contoso.example")
    tables["leases"].upsert_entity({**row, "Host": "another-instance", "Pid": 1, "ProcessStart": "1"})
    with pytest.raises(RunInProgress):
        LeaseStore(tables).acquire("org@contoso.example", seconds=60)

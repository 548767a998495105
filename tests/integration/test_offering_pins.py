"""An offering's pin (its organizer-pool mailbox) in Table Storage, against Azurite.

The pin is written before a run sends anything and must survive the run's own end (which
rewrites the row under its ETag) and a reconcile asked for in between.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.store.offerings import OfferingState, OfferingStore
from shared.store.tables import Tables

ONE = "pool.one@contoso.example"
TWO = "pool.two@contoso.example"


def test_pins_create_rows_and_touch_nothing_else(tables: Tables) -> None:
    store = OfferingStore(tables)
    store.save(OfferingState("OFF/1", title="Course", digest="d1", settled=True, live=4))
    marked = store.request_reconcile("OFF/1", now=datetime(2025, 1, 1, tzinfo=UTC))

    store.pin({"OFF/1": ONE, "OFF-2": TWO})

    first = store.get("OFF/1")
    assert first is not None
    assert (first.organizer, first.digest, first.live, first.title) == (ONE, "d1", 4, "Course")
    assert first.reconcile_requested_at == marked.reconcile_requested_at  # the mark stays
    second = store.get("OFF-2")
    assert second is not None and (second.organizer, second.digest, second.settled) == (TWO, None, False)


def test_a_runs_end_keeps_the_pin_unless_it_brings_a_new_one(tables: Tables) -> None:
    store = OfferingStore(tables)
    store.pin({"OFF-1": ONE})

    kept = store.settle(OfferingState("OFF-1", digest="d2", settled=True, live=3), applied=None)
    assert kept.organizer == ONE and store.get("OFF-1") == kept

    moved = store.settle(OfferingState("OFF-1", digest="d3", settled=True, live=3, organizer=TWO), applied=None)
    assert moved.organizer == TWO
    again = store.get("OFF-1")
    assert again is not None and again.organizer == TWO


def test_more_pins_than_one_transaction_holds_are_all_recorded(tables: Tables) -> None:
    store = OfferingStore(tables)
    pins = {f"OFF-{n:03}": (ONE if n % 2 else TWO) for n in range(150)}

    store.pin(pins)

    assert {o: s.organizer for o, s in store.all().items()} == pins

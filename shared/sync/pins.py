"""A run's pins: which pool mailbox each examined offering's new invitations come from.

The rule itself is pure (shared/planning/pinning.py); this module gathers what it needs from
the run (what the plan is about to create, what is live per mailbox, the recorded pins) and
words the warning for an offering whose mailbox left the pool.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.planning.desired import DesiredState
from shared.planning.pinning import pin_offerings
from shared.store.offerings import OfferingState

log = logging.getLogger("learncal.sync")

REPINNED = "organizer-repinned"


@dataclass(frozen=True)
class RunPins:
    pins: dict[str, str]  # offering id -> organizer for its new invitations (every examined offering with one)
    changed: dict[str, str]  # the pins to record before anything is sent (new or moved)
    warnings: list[dict[str, str]] = field(default_factory=list)


def pin_run(
    desired: DesiredState, sent: Mapping[Any, Any], states: Mapping[str, OfferingState], pool: Sequence[str],
) -> RunPins:
    needing = offering_needs(desired, sent)
    recorded = pins_in_force(states, sent)
    for offering_id in recorded:
        if offering_id in desired.offerings:
            needing.setdefault(offering_id, 0)  # a pin on a mailbox that left the pool moves when seen
    load = Counter[str]()
    for state in states.values():  # offerings not looked at this run: their last known live count
        if state.organizer and state.offering_id not in needing:
            load[state.organizer] += state.live
    load.update(r.organizer.lower() for r in sent.values() if r.live)
    pinning = pin_offerings(needing, recorded, pool, load)
    warnings = []
    for offering_id, old, new in pinning.repinned:
        known = states.get(offering_id)
        title = f" ({known.title})" if known is not None and known.title else ""
        message = (f"Offering {offering_id}{title} was pinned to {old}, which is no longer in the organizer pool: its "
                   f"new invitations come from {new}; invitations {old} already sent keep {old} as organizer for "
                   "their updates and cancellations.")
        log.warning("%s", message)
        warnings.append({"kind": REPINNED, "offeringId": offering_id, "from": old, "to": new, "message": message})
    changed = {o: m for o, m in pinning.pins.items() if (states[o].organizer if o in states else None) != m}
    return RunPins(pinning.pins, changed, warnings)


def offering_needs(desired: DesiredState, sent: Mapping[Any, Any]) -> Counter[str]:
    """New invitations each offering is about to get: wanted, may be created, and nothing live recorded."""
    needs = Counter[str]()
    for key, invitation in desired.wanted.items():
        record = sent.get(key)
        if invitation.may_create and (record is None or record.state in ("cancelled", "cancelling")):
            needs[key.offering_id] += 1
    return needs


def pins_in_force(states: Mapping[str, OfferingState], sent: Mapping[Any, Any]) -> dict[str, str]:
    """Recorded pins; an offering sent to before pins existed is pinned where its live invitations are."""
    pins = {o: s.organizer for o, s in states.items() if s.organizer}
    earlier: dict[str, Counter[str]] = {}
    for key, record in sent.items():
        if key.offering_id not in pins and record.live and record.organizer:
            earlier.setdefault(key.offering_id, Counter())[record.organizer.lower()] += 1
    for offering_id, counts in earlier.items():
        pins[offering_id] = max(sorted(counts), key=lambda m: counts[m])
    return pins

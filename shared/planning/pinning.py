"""Which organizer mailbox sends an offering's invitations. Pure, no I/O.

Exchange limits each mailbox (about 30 messages a minute), so a pool of K mailboxes sends K
times as fast only when the work is spread over them. The unit is the offering: all its
invitations come from one mailbox, so a learner's meetings for one course share an organizer
and a mailbox's outage touches whole offerings, never half of one.

An offering is pinned when its first invitation is planned, to the mailbox with the least
load (live invitations plus those about to be created, largest offerings placed first so
equal offerings split evenly), and keeps that mailbox. Only when the mailbox has left the
pool is the offering pinned anew, and the move is returned so the run can report it:
invitations already sent keep their own organizer for updates and cancellations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pinning:
    pins: dict[str, str] = field(default_factory=dict)  # offering id -> organizer, for every offering looked at
    # (offering id, old organizer, new organizer) for each offering moved off a mailbox that left the pool
    repinned: list[tuple[str, str, str]] = field(default_factory=list)


def pin_offerings(
    needing: Mapping[str, int],
    pins: Mapping[str, str],
    pool: Sequence[str],
    load: Mapping[str, int],
) -> Pinning:
    """Pin every offering in `needing` (offering id -> new invitations planned) to a pool mailbox.

    `pins` are the recorded pins, `load` the live invitations per organizer. An offering that
    needs no new invitation and has no pin stays unpinned; one whose pin left the pool is
    pinned anew even when it needs nothing now, so the move is reported once, when seen.
    """
    if not pool:
        raise ValueError("the organizer pool is empty")
    members = [m.lower() for m in pool]
    order = {m: i for i, m in enumerate(members)}
    weight = {m: int(load.get(m, 0)) for m in members}
    result: dict[str, str] = {}
    homeless: list[str] = []
    for offering_id, count in needing.items():
        pinned = (pins.get(offering_id) or "").lower()
        if pinned in order:
            result[offering_id] = pinned
            weight[pinned] += max(count, 0)
        elif pinned or count > 0:
            homeless.append(offering_id)
    repinned: list[tuple[str, str, str]] = []
    # Largest first, then by id: the same inputs always give the same pins.
    for offering_id in sorted(homeless, key=lambda o: (-max(needing[o], 0), o)):
        target = min(members, key=lambda m: (weight[m], order[m]))
        result[offering_id] = target
        weight[target] += max(needing[offering_id], 0)
        old = (pins.get(offering_id) or "").lower()
        if old:
            repinned.append((offering_id, old, target))
    repinned.sort()
    return Pinning(result, repinned)

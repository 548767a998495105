"""Check which organizers the open invitations came from (a pool change strands nothing silently)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.provider.invitations import open_invitations
from shared.store.tables import Tables
from shared.validate.model import ORGANIZER_HISTORY, Check, passed, warned


def check_organizer_history(tables: Tables, organizers: str | Sequence[str] | None) -> Check:
    pool = (organizers,) if isinstance(organizers, str) else tuple(organizers or ())
    found = open_invitations(tables)
    elsewhere = found.other_than(*pool)
    named = ", ".join(pool) if pool else "the organizer"
    if not elsewhere:
        if not found.total:
            return passed(ORGANIZER_HISTORY, "No open invitations yet.")
        return passed(ORGANIZER_HISTORY, f"All {found.total} open invitations were sent by {named}.")
    senders = ", ".join(sorted(elsewhere))
    kind = "the organizer pool" if len(pool) > 1 else "the organizer"
    return warned(
        ORGANIZER_HISTORY,
        f"Open invitations were sent by a mailbox outside {kind} ({found.describe(elsewhere)}). Their updates and "
        f"cancellations go through {senders}, not {named}; changing the organizer can strand them.",
        f"Keep {senders} reachable by the app (inside its Exchange scope) until those activities are over, "
        "and avoid changing the organizer again.",
    )

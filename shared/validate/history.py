"""Check which organizers the open invitations came from (an organizer change strands nothing silently)."""

from __future__ import annotations

from shared.provider.invitations import open_invitations
from shared.store.tables import Tables
from shared.validate.model import ORGANIZER_HISTORY, Check, passed, warned


def check_organizer_history(tables: Tables, organizer: str | None) -> Check:
    found = open_invitations(tables)
    elsewhere = found.other_than(organizer)
    if not elsewhere:
        if not found.total:
            return passed(ORGANIZER_HISTORY, "No open invitations yet.")
        return passed(ORGANIZER_HISTORY, f"All {found.total} open invitations were sent by {organizer}.")
    senders = ", ".join(sorted(elsewhere))
    return warned(
        ORGANIZER_HISTORY,
        f"Open invitations were sent by another organizer ({found.describe(elsewhere)}). Their updates and "
        f"cancellations go through {senders}, not {organizer}; changing the organizer can strand them.",
        f"Keep {senders} reachable by the app (inside its Exchange scope) until those activities are over, "
        "and avoid changing the organizer again.",
    )

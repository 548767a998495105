"""What was last sent for one invitation: the mapping row, as the planner sees it.

Only fingerprints are kept, never the content itself, so a row stays small whatever the feed
holds, and "changed" never depends on how Graph echoes content back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from shared.domain import InvitationKey, Role

# pending: a create was recorded before it was sent; its outcome is not yet known.
# live: the event exists and the person has it.
# cancelling: a cancellation was recorded before it was sent.
# cancelled: the person was sent a cancellation; kept so a later re-invite gets a fresh event.
SentState = Literal["pending", "live", "cancelling", "cancelled"]


@dataclass(frozen=True)
class SentRecord:
    key: InvitationKey
    organizer: str
    role: Role
    state: SentState
    key_fp: str
    hashes: dict[str, str] = field(default_factory=dict)
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    event_id: str | None = None
    generation: int = 0  # bumped on each new event for the same key; part of the transactionId
    comment: str | None = None  # cancellation reason, for cancelling rows resumed after a crash
    etag: str | None = None

    @property
    def live(self) -> bool:
        return self.state in ("pending", "live")

    def but(self, **changes: object) -> SentRecord:
        return replace(self, **changes)  # type: ignore[arg-type]
